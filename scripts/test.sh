#!/usr/bin/env bash
# Set up (if needed) and run every check: lint, doctests, unit, integration, app and browser tests.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/python -m pytest --doctest-modules --durations=15 core tests "$@"

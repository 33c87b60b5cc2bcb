#!/usr/bin/env bash
# First command of the README: set everything up from nothing (Python's venv module where it is missing,
# uv and the project's environment) and run the main job on the bundled real data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system.sh python3-venv
bash scripts/env.sh
exec .venv/bin/outscaled demo "$@"

#!/usr/bin/env bash
# First command of the README: set everything up and run the main job on the bundled real data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/env.sh
exec .venv/bin/outscaled demo "$@"

#!/usr/bin/env bash
# Second command of the README (and what CI runs): set up if needed, start the services the tests
# need, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/env.sh
# `bentoml build` (tested) looks for uv on PATH: the one env.sh installed, not one installed by hand.
export PATH="$PWD/.tools/bin:$PATH"
exec .venv/bin/python -m pytest tests "$@"

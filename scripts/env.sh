#!/usr/bin/env bash
# Create or update the project's virtual environment from the committed uv.lock (Python 3.11 only).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .tools/bin/uv ]; then
  "$PYTHON" -m venv .tools
  .tools/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
fi
# --compile-bytecode: every command and test starts Python processes that import dagster, dbt, pyiceberg...;
# without .pyc files (uv does not write them, and PYTHONDONTWRITEBYTECODE stops Python from caching its own) each
# one compiled them again: ~8 s of a 10x ingest's 77 s. ~20 s once per environment, nothing on a later sync.
.tools/bin/uv sync --frozen --extra dev --python "$PYTHON" --quiet --compile-bytecode

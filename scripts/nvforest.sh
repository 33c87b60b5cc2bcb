#!/usr/bin/env bash
# Install NVIDIA's forest inference library (nvForest 26.10) into the project's .venv (after scripts/env.sh).
#   cpu  its CPU mode only: nvForest and the RAPIDS libraries it loads, without their CUDA toolkit wheels
#        (~300 MB instead of ~3 GB; what CI uses for the CPU side of the GPU parity test)
#   gpu  everything, CUDA 12 runtime libraries included: pyproject's `gpu` extra from uv.lock (what the GPU
#        bento installs; needs an NVIDIA driver)
# The CPU set's versions are uv.lock's; treelite stays at the 4.7 nvForest was built with.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-cpu}"
uv=.tools/bin/uv
[ -x "$uv" ] || { echo "run scripts/env.sh first" >&2; exit 2; }
case "$mode" in
  cpu)
    "$uv" pip install --python .venv/bin/python --quiet --no-deps \
      nvforest-cu12==26.10.0 libnvforest-cu12==26.10.0 pylibraft-cu12==26.10.0 libraft-cu12==26.10.0 \
      rmm-cu12==26.10.0 librmm-cu12==26.10.0 rapids-logger==0.3.0 cuda-bindings==12.9.10 \
      cuda-pathfinder==1.9.1 treelite==4.7.0 ;;
  gpu)
    "$uv" sync --frozen --extra dev --extra gpu --quiet ;;
  *) echo "usage: bash scripts/nvforest.sh cpu|gpu" >&2; exit 2 ;;
esac
.venv/bin/python -c 'import nvforest; print("nvForest", nvforest.__version__, "installed")'

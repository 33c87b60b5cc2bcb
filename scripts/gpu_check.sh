#!/usr/bin/env bash
# The GPU run, as one command, on a machine with an NVIDIA GPU (driver for CUDA 12) and access to PyPI:
# the README's demo home (champion models, a snapshot), nvForest with its CUDA libraries, the CPU/GPU
# benchmark on that home, then the parity test on the GPU (engine "fil" resolves to "fil-gpu" there).
# Never needed in CI: there the parity test runs nvForest's CPU mode (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/demo.sh
bash scripts/nvforest.sh gpu
.venv/bin/python -c '
import sys
from outscaled.models.forest import cuda_devices
devices = cuda_devices()
print(f"CUDA devices: {devices}")
sys.exit(0 if devices else "no CUDA device answers: this is not a GPU machine (or its driver is missing)")'
OUTSCALED_HOME=.outscaled .venv/bin/python benchmarks/gpu_inference.py
OUTSCALED_NVFOREST=gpu bash scripts/test.sh tests/outscaled/models/test_forest.py tests/bentos/test_bento_build.py

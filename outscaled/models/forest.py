"""Which code evaluates the trees: LightGBM's own predict, or NVIDIA's forest inference library (nvForest, FIL).

A bundle's boosters are LightGBM models. `OUTSCALED_INFERENCE` picks what evaluates them in the service:
  auto      nvForest on the GPU when nvForest is installed and a CUDA device answers; LightGBM otherwise (default)
  lightgbm  LightGBM's predict on the CPU (what training and the backtest use)
  fil       nvForest: on the GPU when a CUDA device answers, in nvForest's CPU mode otherwise
  gpu       nvForest on the GPU, or the service refuses to start (a GPU node that lost its GPU says so)
nvForest loads the same booster (through Treelite) in double precision, so its answers equal LightGBM's to
rounding (tests/outscaled/models/test_forest.py; the CPU mode runs in CI, the GPU one on a GPU machine).
nvForest is optional: `bash scripts/nvforest.sh cpu` installs its CPU mode (no CUDA libraries), `gpu` all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np

if TYPE_CHECKING:
    from outscaled.models.backtest import Bundle

ENGINES = ("auto", "lightgbm", "fil", "gpu")


@lru_cache(maxsize=1)
def nvforest_available() -> bool:
    try:
        import nvforest  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def cuda_devices() -> int:
    """CUDA devices the runtime can use: 0 without a driver, without a GPU, or without nvForest's CUDA bindings."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        return 0
    error, count = runtime.cudaGetDeviceCount()
    return int(count) if error == runtime.cudaError_t.cudaSuccess else 0


def resolve_engine(requested: str) -> str:
    """The engine a process uses for `requested` (one of ENGINES): "lightgbm", "fil-cpu" or "fil-gpu"."""
    if requested not in ENGINES:
        raise ValueError(f"OUTSCALED_INFERENCE must be one of {', '.join(ENGINES)}, not {requested!r}")
    if requested == "lightgbm" or (requested == "auto" and not (nvforest_available() and cuda_devices())):
        return "lightgbm"
    if not nvforest_available():
        raise RuntimeError(f"OUTSCALED_INFERENCE={requested} needs nvForest: bash scripts/nvforest.sh "
                           f"{'gpu' if requested == 'gpu' else 'cpu'} (or pip install nvforest-cu12)")
    if cuda_devices():
        return "fil-gpu"
    if requested == "gpu":
        raise RuntimeError("OUTSCALED_INFERENCE=gpu but no CUDA device answers (driver, GPU or "
                           "nvidia.com/gpu limit missing)")
    return "fil-cpu"


@dataclass
class CompiledForest:
    """A LightGBM booster loaded into nvForest; `predict` answers what `booster.predict` answers (the mean for
    a Poisson model, P(positive) for a binary one)."""

    engine: str  # "fil-cpu" or "fil-gpu"
    model: Any  # nvforest's ForestInference
    classifier: bool

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        out = self.model.predict_proba(matrix) if self.classifier else self.model.predict(matrix)
        out = out.get() if hasattr(out, "get") else out  # a GPU model may answer with a device array
        out = np.asarray(out, dtype=np.float64)
        return out[:, -1] if out.ndim == 2 else out


def compile_booster(booster: lgb.Booster, engine: str) -> CompiledForest:
    """`booster` loaded into nvForest for `engine` ("fil-cpu" or "fil-gpu"), in double precision."""
    import nvforest
    import treelite

    if engine not in ("fil-cpu", "fil-gpu"):
        raise ValueError(f"not an nvForest engine: {engine!r}")
    model = nvforest.load_from_treelite_model(treelite.frontend.from_lightgbm(booster),
                                              device="gpu" if engine == "fil-gpu" else "cpu", precision="double")
    return CompiledForest(engine, model, bool(getattr(model, "is_classifier", False)))


def compile_bundle(bundle: "Bundle", requested: str) -> str:
    """Load every booster of `bundle` (the stat models and the win model) into the engine `requested`
    resolves to, in place; returns that engine. With "lightgbm" nothing changes."""
    engine = resolve_engine(requested)
    models = [*bundle.stats.values(), bundle.win]
    for model in models:
        model.compiled = None if engine == "lightgbm" else compile_booster(model.booster, engine)
    return engine

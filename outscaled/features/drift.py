"""Population stability index (PSI) of features between a reference window and the newest data.

PSI = sum over bins of (current% - reference%) * ln(current% / reference%), with bins at the reference
window's deciles. Common reading: < 0.1 stable, 0.1-0.2 moderate shift, > 0.2 drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

DRIFT_THRESHOLD = 0.2
# Stationary features only: career counts and Elo levels grow with time by construction.
MAIN_FEATURES = [
    "kills_avg_10", "deaths_avg_10", "assists_avg_10", "cs_avg_10", "kill_participation_avg_10",
    "damage_share_avg_10", "gold_share_avg_10", "kills_ewm", "assists_ewm", "opponent_conceded_kills_avg_10",
]
_EPSILON = 1e-4


def population_stability_index(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    reference = reference[~np.isnan(reference)]
    current = current[~np.isnan(current)]
    if reference.size == 0 or current.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    if edges.size < 2:
        return 0.0 if np.all(current == edges[0]) else float("inf")
    edges[0], edges[-1] = -np.inf, np.inf
    reference_share = np.histogram(reference, edges)[0] / reference.size
    current_share = np.histogram(current, edges)[0] / current.size
    reference_share = np.clip(reference_share, _EPSILON, None)
    current_share = np.clip(current_share, _EPSILON, None)
    return float(np.sum((current_share - reference_share) * np.log(current_share / reference_share)))


@dataclass(frozen=True)
class DriftWindow:
    reference_end: datetime  # reference = games before this
    current_start: datetime  # current = games from this on


def newest_window(game_starts: pl.Series, current_days: int = 30) -> DriftWindow:
    newest = game_starts.max()
    start = newest - timedelta(days=current_days)
    return DriftWindow(reference_end=start, current_start=start)


def feature_drift(features: pl.DataFrame, window: DriftWindow, columns: list[str] = MAIN_FEATURES,
                  threshold: float = DRIFT_THRESHOLD) -> pl.DataFrame:
    reference = features.filter(pl.col("game_start") < window.reference_end)
    current = features.filter(pl.col("game_start") >= window.current_start)
    rows = []
    for column in columns:
        psi = population_stability_index(reference[column].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                                         current[column].cast(pl.Float64).fill_null(np.nan).to_numpy())
        rows.append({"feature": column, "psi": psi, "drifted": bool(psi > threshold) if np.isfinite(psi) else False,
                     "threshold": threshold, "reference_rows": reference.height, "current_rows": current.height,
                     "reference_end": window.reference_end, "current_start": window.current_start})
    return pl.DataFrame(rows)

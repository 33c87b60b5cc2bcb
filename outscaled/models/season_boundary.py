"""Does calibration survive a new season? Models, layers and range calibration fitted on everything before
a season boundary (out-of-fold rows of the walk-forward before it), then frozen, score the next half
season's map ranges exactly as the service would have served them."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
from scipy import stats as st

from outscaled.features.schema import STATS
from outscaled.models.backtest import Bundle, fit_bundle
from outscaled.models.layers import with_served_layers
from outscaled.models.ranges import range_metrics, range_rows, raw_p_over
from outscaled.models.scoring import score_stat


def served_ranges(bundle: Bundle, test: pl.DataFrame, test_average: pl.DataFrame,
                  history: pl.DataFrame) -> pl.DataFrame:
    """`test` rows' map ranges priced by `bundle` as the service prices them (its models, the layers' evidence
    as of its training end, its range calibration), with `p_over_<mode>_<opponent>` and the rolling-Poisson
    baseline at the same lines."""
    scored = []
    for stat in STATS:
        rows = score_stat(bundle.stats[stat], test, float(history[f"target_{stat}"].mean() or 0.0), test_average)
        if rows.is_empty():
            continue
        if bundle.layers is not None:
            rows = with_served_layers(bundle.layers, rows)
        scored.append(rows.with_columns(pl.col("series_start").dt.strftime("%Y-%m").alias("month")))
    if not scored:
        return pl.DataFrame()
    ranges = range_rows(pl.concat(scored, how="diagonal_relaxed"))
    stat, maps = ranges["stat"].to_numpy(), ranges["maps"].to_numpy()
    columns = []
    for column in [c for c in ranges.columns if c.startswith("means_")]:
        key = column.removeprefix("means_")
        mode, opponent = key.rsplit("_", 1)
        raw = raw_p_over(ranges, column)
        calibrated = raw.copy()
        for s in np.unique(stat):
            for k in np.unique(maps):
                cell = (stat == s) & (maps == k)
                calibrated[cell] = bundle.calibrate(str(s), mode, int(k), raw[cell], opponent)
        columns.append(pl.Series(f"p_over_{key}", calibrated))
    poisson = 1 - st.poisson.cdf(np.floor(ranges["line"].to_numpy()),
                                 np.clip(ranges["poisson_mean"].to_numpy(), 1e-6, None))
    return ranges.with_columns(*columns, pl.Series("p_over_rolling_poisson", poisson))


def season_boundary(players: pl.DataFrame, teams: pl.DataFrame, average: pl.DataFrame, oof: pl.DataFrame,
                    boundary: datetime, until: datetime, calibration_window: int | None = None) -> pl.DataFrame:
    """Range metrics (outscaled.models.ranges.range_metrics) of series starting in [boundary, until) for a
    bundle trained on games before `boundary`, its layers and calibration from out-of-fold rows before it."""
    bundle = fit_bundle(players, teams, boundary, oof.filter(pl.col("series_start") < boundary),
                        calibration_window=calibration_window)
    window = (players["series_start"] >= boundary) & (players["series_start"] < until)
    history = players.filter(pl.col("game_start") < boundary)
    return range_metrics(served_ranges(bundle, players.filter(window), average.filter(window), history))

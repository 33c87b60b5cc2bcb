"""Map ranges priced by a trained bundle exactly as the prediction service prices them: its models, the
layers' evidence as of its training end, its range calibration. The season-boundary backtest and the
calibration monitoring score these."""

from __future__ import annotations

import polars as pl

from outscaled.features.schema import STATS
from outscaled.models.backtest import Bundle
from outscaled.models.layers import with_served_layers
from outscaled.models.ranges import calibrate_cells, range_rows, raw_p_over, with_poisson_baseline
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
    columns = []
    for column in [c for c in ranges.columns if c.startswith("means_")]:
        mode, opponent = column.removeprefix("means_").rsplit("_", 1)
        calibrated = calibrate_cells(ranges, raw_p_over(ranges, column),
                                     lambda s, k, p: bundle.calibrate(s, mode, k, p, opponent))
        columns.append(pl.Series(column.replace("means_", "p_over_", 1), calibrated))
    return with_poisson_baseline(ranges.with_columns(*columns))


"""An experiment the service does not serve (benchmarks/RESULTS.md, 7 Dec 2026): the season-boundary models'
level recalibrated each week on the games settled since the boundary. Measured on 2025 H1 it did not bring
every cell under the season-boundary target; `train_all.py` prints it after the frozen table."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from outscaled.features.schema import STATS
from outscaled.models.backtest import Bundle
from outscaled.models.ranges import calibrate_cells, raw_p_over

# A stat's settled level is used once this many player-maps have settled since the training end.
MIN_SETTLED_MAPS = 500
_WEEK = pl.col("series_start").dt.truncate("1w").alias("week")  # weeks start on Monday


def settled_level(ranges: pl.DataFrame) -> pl.DataFrame:
    """Per (stat, week): actual over expected total of the single maps (ranges "1".."5", `model` mode, named
    opponent) of every series that started at least a day before the week (settled) and after the training end
    (every row of `ranges`); 1.0 while fewer than MIN_SETTLED_MAPS have settled."""
    ranges = ranges.with_columns(_WEEK)
    maps = ranges.filter(pl.col("range").is_in(["1", "2", "3", "4", "5"]))
    weeks = ranges["week"].unique().sort().to_list()
    records = []
    for stat in STATS:
        mine = maps.filter(pl.col("stat") == stat).with_columns(pl.col("means_model_named").list.sum().alias("_mean"))
        for week in weeks:
            settled = mine.filter(pl.col("series_start") < week - timedelta(days=1))
            ratio = (float(settled["target"].sum()) / float(settled["_mean"].sum())
                     if settled.height >= MIN_SETTLED_MAPS else 1.0)
            records.append({"stat": stat, "week": week, "level": ratio})
    return pl.DataFrame(records, schema_overrides={"week": ranges["week"].dtype})


def recalibrated(bundle: Bundle, ranges: pl.DataFrame) -> pl.DataFrame:
    """`ranges` (outscaled.models.season_boundary.season_boundary_ranges) re-priced with every mean multiplied by
    its stat's settled level for the week (`settled_level`), then the bundle's own range calibration."""
    levels = settled_level(ranges)
    rows = ranges.with_columns(_WEEK).join(levels, on=["stat", "week"], how="left").with_columns(
        pl.col("level").fill_null(1.0))
    columns = []
    for column in [c for c in rows.columns if c.startswith("means_")]:
        mode, opponent = column.removeprefix("means_").rsplit("_", 1)
        scaled = rows.select(pl.col(column) * pl.col("level"), "nb_size", "maps", "line")
        calibrated = calibrate_cells(rows, raw_p_over(scaled, column),
                                     lambda s, k, p: bundle.calibrate(s, mode, k, p, opponent))
        columns.append(pl.Series(column.replace("means_", "p_over_", 1), calibrated))
    return rows.with_columns(*columns).drop("level", "week")

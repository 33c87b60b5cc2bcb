"""Calibration of what the champions serve, on games settled since their training ended.

The prediction service prices map ranges with a calibration fitted on out-of-fold games up to the training
end; a new season can move it (the assists calibration did, between 2025's backtest and later games). This
scores the champions' served answers on every settled range of games after their training end and flags
drift, which the calibration drift sensor turns into a retraining run (new models, new calibration from
the recent window)."""

from __future__ import annotations

import polars as pl

from outscaled.models.backtest import Bundle
from outscaled.models.ranges import range_metrics
from outscaled.models.served import served_ranges

ECE_LIMIT = 0.03  # a served mode above this on enough settled ranges is drift
MIN_RANGES = 300


def settled_calibration(bundles: dict[str, Bundle], serving: dict[str, str], players: pl.DataFrame,
                        average: pl.DataFrame) -> pl.DataFrame:
    """Per champion stat model, range and served pre-draft mode: metrics on series that started after the
    model's training end, with `drifted` (ECE above ECE_LIMIT on at least MIN_RANGES ranges)."""
    tables = []
    for stat, version in serving.items():
        if stat == "win":
            continue
        bundle = bundles[version]
        after = players["series_start"] >= bundle.train_end
        if not after.any():
            continue
        ranges = served_ranges(bundle, players.filter(after), average.filter(after),
                               players.filter(pl.col("game_start") < bundle.train_end))
        if ranges.is_empty():
            continue
        metrics = range_metrics(ranges.filter(pl.col("stat") == stat))
        tables.append(metrics.with_columns(pl.lit(version).alias("version")))
    if not tables:
        return pl.DataFrame(schema={"stat": pl.String, "range": pl.String, "mode": pl.String, "opponent": pl.String,
                                    "n": pl.Int64, "ece": pl.Float64, "drifted": pl.Boolean})
    served = pl.concat(tables).filter(pl.col("mode") != "post_draft")
    return served.with_columns(((pl.col("ece") > ECE_LIMIT) & (pl.col("n") >= MIN_RANGES)).alias("drifted"))

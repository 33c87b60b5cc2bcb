"""Does calibration survive a new season? Models, layers and range calibration fitted on everything before
a season boundary (out-of-fold rows of the walk-forward before it), then frozen, score the next half
season's map ranges exactly as the service would have served them."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from outscaled.models.backtest import Bundle, fit_bundle
from outscaled.models.ranges import range_metrics
from outscaled.models.served import served_ranges


def season_boundary_ranges(players: pl.DataFrame, teams: pl.DataFrame, average: pl.DataFrame, oof: pl.DataFrame,
                           boundary: datetime, until: datetime, calibration_window: int | None = None
                           ) -> tuple[Bundle, pl.DataFrame]:
    """The bundle trained on games before `boundary` (its layers and calibration from out-of-fold rows before
    it) and the map ranges of series starting in [boundary, until) as it serves them (served_ranges)."""
    bundle = fit_bundle(players, teams, boundary, oof.filter(pl.col("series_start") < boundary),
                        calibration_window=calibration_window)
    window = (players["series_start"] >= boundary) & (players["series_start"] < until)
    history = players.filter(pl.col("game_start") < boundary)
    return bundle, served_ranges(bundle, players.filter(window), average.filter(window), history)


def season_boundary(players: pl.DataFrame, teams: pl.DataFrame, average: pl.DataFrame, oof: pl.DataFrame,
                    boundary: datetime, until: datetime, calibration_window: int | None = None) -> pl.DataFrame:
    """Range metrics (outscaled.models.ranges.range_metrics) of `season_boundary_ranges`."""
    _, ranges = season_boundary_ranges(players, teams, average, oof, boundary, until, calibration_window)
    return range_metrics(ranges)

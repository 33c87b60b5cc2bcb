"""Calibration drift on settled games: a bundle trained before a cut is scored, as served, on the ranges of
games after it, and the season-boundary backtest freezes everything at its boundary."""

from datetime import datetime

import polars as pl

from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
from outscaled.models.backtest import fit_bundle, walk_forward
from outscaled.models.monitoring import settled_calibration
from outscaled.models.pipeline import average_opponent_frame, load_frames
from outscaled.models.season_boundary import season_boundary
from tests.conftest import environment

CUT = datetime(2025, 10, 1)


def test_settled_answers_are_scored_after_the_training_end_only(built_home):
    with environment(OUTSCALED_HOME=str(built_home)):
        catalog = open_catalog(load_settings())
        players, teams = load_frames(catalog)
        average = average_opponent_frame(catalog, players)
    oof = walk_forward(players, teams, datetime(2025, 7, 1), average=average).player_predictions
    bundle = fit_bundle(players, teams, CUT, oof.filter(pl.col("series_start") < CUT))
    assert bundle.ranges is not None and bundle.layers is not None
    table = settled_calibration({"v": bundle}, {"kills": "v", "win": "v"}, players, average)
    assert set(table["stat"]) == {"kills"} and set(table["mode"]) == {"model", "meta"}
    assert set(table["opponent"]) == {"named", "average"} and {"1", "1-2"} <= set(table["range"])
    settled = players.filter((pl.col("series_start") >= CUT) & (pl.col("map_number") == 1)
                             & pl.col("target_kills").is_not_null() & pl.col("line_kills").is_not_nan())
    single = table.filter((pl.col("range") == "1") & (pl.col("mode") == "meta") & (pl.col("opponent") == "named"))
    assert single["n"][0] == settled.height  # every settled first map, nothing before the cut
    assert table["drifted"].dtype == pl.Boolean
    boundary = season_boundary(players, teams, average, oof, CUT, datetime(2026, 1, 1))
    assert boundary.filter((pl.col("stat") == "kills") & (pl.col("range") == "1") & (pl.col("mode") == "meta")
                           & (pl.col("opponent") == "named"))["n"][0] == settled.height

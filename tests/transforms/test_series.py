"""Series reconstruction on known real series."""

import polars as pl

from tests.transforms.helpers import table


def test_worlds_2022_final_is_drx_over_t1_in_five(built_catalog):
    series = table(built_catalog, "silver.series")
    final = series.filter((pl.col("league") == "WCS") & (pl.col("team_1") == "drx") & (pl.col("team_2") == "t1")
                          & (pl.col("series_start").dt.year() == 2022) & (pl.col("series_start").dt.month() == 11))
    assert final.height == 1
    row = final.row(0, named=True)
    assert (row["best_of"], row["maps_played"], row["team_1_wins"], row["team_2_wins"], row["winner"]) == (5, 5, 3, 2, "drx")


def test_every_game_is_in_exactly_one_consistent_series(built_catalog):
    series = table(built_catalog, "silver.series")
    assert series["series_id"].n_unique() == series.height
    assert ((series["team_1_wins"] + series["team_2_wins"]) <= series["maps_played"]).all()
    assert (series["maps_played"] <= series["best_of"]).all()
    features = table(built_catalog, "gold.team_features")
    assert features.group_by("game_id").agg(pl.col("series_id").n_unique())["series_id"].max() == 1
    maps = features.group_by("series_id").agg(pl.col("map_number").max().alias("maps"))
    joined = maps.join(series.select("series_id", "maps_played"), on="series_id")
    assert (joined["maps"] == joined["maps_played"]).all()

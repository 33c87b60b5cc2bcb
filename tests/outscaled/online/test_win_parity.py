"""Serve what was measured, for the win model: for sampled gold.team_features rows of map 1, the match request a
user would have made before that series (both teams, the format, team a's side, league, patch, stage), built by
the service against a snapshot published as of the series' start, is exactly the offline model row (every
column, roster Elo included), and the service's map probability is the offline model's on that row."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from outscaled.features.rows import team_matrix
from outscaled.features.schema import TEAM_FEATURES
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.tables import read_table
from outscaled.models.registry import champions, read_registry
from outscaled.online.predictor import Predictor
from outscaled.online.redis_server import connect
from outscaled.online.snapshot import publish
from bentos.service import load_models

SERIES = 120


def _sample(features: pl.DataFrame) -> pl.DataFrame:
    """Map-1 rows of series whose two teams had played before (the service answers only known teams), drawn
    evenly across league x year: SERIES series, both teams' rows of each."""
    first_maps = features.filter((pl.col("map_number") == 1) & (pl.col("games_played") > 0)
                                 & (pl.col("opponent_games_played") > 0))
    series = (first_maps.select("series_id", "league", year=pl.col("series_start").dt.year()).unique()
              .sort("series_id")
              .with_columns(pl.int_range(pl.len()).shuffle(seed=5).over(["league", "year"]).alias("draw"))
              .sort(["draw", "series_id"]).head(SERIES))
    return first_maps.filter(pl.col("series_id").is_in(series["series_id"].to_list())).sort(
        ["series_start", "game_id", "team_key"])


def test_served_win_rows_and_probabilities_equal_the_offline_ones(served_settings):
    models, _ = load_models()
    catalog = open_catalog(served_settings)
    sample = _sample(read_table(catalog.load_table("gold.team_features")))
    assert sample.height >= 2 * SERIES - 10 and sample["league"].n_unique() >= 3
    assert sample["roster_elo"].is_not_null().sum() > sample.height / 4  # roster Elo is compared where known
    offline = team_matrix(sample)
    client = connect(served_settings)
    serving = champions(read_registry(catalog))
    win = models.bundles[models.serving["win"]].win
    compared = differences = 0
    for (series_start,), games in sample.with_row_index("i").group_by(["series_start"], maintain_order=True):
        publish(client, catalog, serving, as_of=series_start)
        predictor = Predictor(client, models)
        snapshot = predictor.store.snapshot_id()
        keys = [("t", k) for k in {*games["team_key"].to_list(), *games["opponent_key"].to_list()}]
        values = predictor.store.read_values(snapshot, keys)
        rows = games.to_dicts()
        online = predictor.win_rows(
            [values[("t", r["team_key"])] for r in rows], [values[("t", r["opponent_key"])] for r in rows],
            [r["best_of"] for r in rows], [r["patch"] for r in rows], [bool(r["playoffs"]) for r in rows],
            [1.0 if r["side"] == "Blue" else 0.0 if r["side"] == "Red" else np.nan for r in rows],
            datetime(2100, 1, 1))
        expected = offline[games["i"].to_numpy()]
        for got, want, row in zip(online, expected, rows):
            same = np.isclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)
            compared += 1
            if not same.all():
                differences += 1
                if differences <= 5:
                    print(row["game_id"], row["team_key"], [(TEAM_FEATURES[j], got[j], want[j])
                                                            for j in np.flatnonzero(~same)][:4])
        if np.isclose(online, expected, rtol=1e-9, atol=1e-12, equal_nan=True).all():
            assert win.predict(online) == pytest.approx(win.predict(expected), abs=1e-12)
    assert compared == sample.height
    assert differences == 0, f"{differences} of {compared} served win rows differ from the offline rows"

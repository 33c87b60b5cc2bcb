"""Serve what was measured: for sampled gold.player_features rows, the request a user would have made
before that series, answered by the service against a snapshot published as of the series' start, builds
exactly the offline model row (every column, nothing dropped or substituted) and answers with the offline
model's own numbers."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from outscaled.features.rows import player_matrix
from outscaled.features.schema import PLAYER_FEATURES
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.tables import read_table
from outscaled.models.distributions import map_range_summaries
from outscaled.models.registry import champions, read_registry
from outscaled.online.predictor import Predictor
from outscaled.online.redis_server import connect
from outscaled.online.requests import SingleRequest
from outscaled.online.snapshot import publish
from bentos.service import load_models

ROWS = 2000


def _sample(features: pl.DataFrame) -> pl.DataFrame:
    """Whole series (every player row of their games), drawn evenly across league x year, >= ROWS rows."""
    series = (features.select("series_id", "league", year=pl.col("series_start").dt.year()).unique()
              .sort("series_id"))
    per_cell = series.with_columns(pl.int_range(pl.len()).shuffle(seed=11).over(["league", "year"]).alias("draw"))
    chosen, rows = [], 0
    for draw in range(int(per_cell["draw"].max()) + 1):
        for series_id in per_cell.filter(pl.col("draw") == draw).sort("series_id")["series_id"].to_list():
            chosen.append(series_id)
            rows += features.filter(pl.col("series_id") == series_id).height
        if rows >= ROWS:
            break
    return features.filter(pl.col("series_id").is_in(chosen)).sort(["series_start", "game_id", "player_key"])


def _request(row: dict, stat: str) -> SingleRequest:
    """What a user knows before the series: the player, the two teams, format, map, league, patch, stage."""
    return SingleRequest(player=row["player_key"], stat=stat, line=2.5,
                         map_start=row["map_number"], map_end=row["map_number"], opponent=row["opponent_key"],
                         best_of=row["best_of"], league=row["league"], team=row["team_key"], patch=row["patch"],
                         playoffs=bool(row["playoffs"]), position=row["position"])


def test_served_rows_and_answers_equal_the_offline_ones(served_settings):
    settings = served_settings
    models, _ = load_models()
    catalog = open_catalog(settings)
    features = read_table(catalog.load_table("gold.player_features"))
    sample = _sample(features)
    assert sample.height >= ROWS and sample["league"].n_unique() >= 5
    assert sample["series_start"].dt.year().n_unique() >= 3
    offline = player_matrix(sample)
    client = connect(settings)
    serving = champions(read_registry(catalog))
    bundle = models.bundles[models.serving["kills"]]
    compared = differences = 0
    for (series_start,), games in sample.with_row_index("i").group_by(["series_start"], maintain_order=True):
        publish(client, catalog, serving, as_of=series_start)  # the state a user could have had then
        predictor = Predictor(client, models)  # a new reader: no pointer cached from the previous snapshot
        requests = [_request(row, "kills") for row in games.iter_rows(named=True)]
        for index, request in zip(games["i"].to_list(), requests):
            online = predictor.feature_rows(request)[0]
            same = np.isclose(online, offline[index], rtol=1e-9, atol=1e-12, equal_nan=True)
            compared += 1
            if not same.all():
                differences += 1
                if differences <= 5:
                    wrong = [(PLAYER_FEATURES[j], online[j], offline[index][j]) for j in np.flatnonzero(~same)][:4]
                    print("row", index, request.player, series_start, wrong)
        # the answers are the offline model's numbers on the offline rows (pre-draft: the patch layer)
        answers = predictor.many(requests)
        rows = offline[games["i"].to_numpy()]
        factor = bundle.layers.factors("patch", "kills", [(r["patch"], r["position"]) for r in games.iter_rows(named=True)])[0]
        means = bundle.stats["kills"].predict_mean(rows) * factor
        summary = map_range_summaries(means[:, None], bundle.stats["kills"].nb_size, np.full(len(rows), 2.5))
        p_over = bundle.calibrate("kills", "meta", 1, summary.p_over, "named")
        assert [a["expected"] for a in answers] == pytest.approx(np.round(summary.expected, 3).tolist(), abs=1e-9)
        assert [a["p_over"] for a in answers] == pytest.approx(np.round(p_over, 4).tolist(), abs=1e-9)
        assert all(a["assumptions"]["defaults"] == [] for a in answers)  # nothing was assumed
    assert compared == sample.height >= ROWS
    assert differences == 0, f"{differences} of {compared} served rows differ from the offline rows"

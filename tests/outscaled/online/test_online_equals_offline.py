"""What the service reads from Redis is exactly the feature code's as-of-now vector, and the predictor
gives the champion model's own numbers."""

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from outscaled.features.as_of_now import player_vector
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.tables import read_table
from outscaled.models.distributions import map_range_distribution
from outscaled.models.features import PLAYER_NUMERIC, player_matrix
from outscaled.online.predictor import Predictor, NotFound
from outscaled.online.requests import SingleRequest
from outscaled.online.redis_server import connect
from outscaled.online.snapshot import build_payloads
from bentos.service import load_models

NOW = datetime(2026, 1, 1)


@pytest.fixture(scope="module")
def predictor(served_home):
    import os

    os.environ["OUTSCALED_HOME"] = str(served_home)
    from outscaled.config import load_settings

    settings = load_settings()
    models, _ = load_models()
    yield Predictor(connect(settings), models, clock=lambda: NOW), settings
    os.environ.pop("OUTSCALED_HOME", None)


def _offline_vector(catalog, player_key: str, opponent_key: str, map_number: int, best_of: int) -> dict:
    """The as-of-now vector straight from the gold tables (no Redis)."""
    payloads = build_payloads(catalog)
    player = payloads["players"][player_key]
    return player_vector(player, payloads["teams"].get(player["team_key"]), payloads["teams"][opponent_key],
                         payloads["baselines"][player["league"]][player["position"]], NOW, map_number, best_of, 0,
                         payloads["patch_first_seen"])


def test_redis_vector_equals_the_feature_code(predictor, served_settings):
    service, settings = predictor
    catalog = open_catalog(settings)
    state = read_table(catalog.load_table("gold.player_current_state"))
    busiest = state.sort(["games_played", "player_key"], descending=[True, False]).row(0, named=True)
    opponent = read_table(catalog.load_table("gold.team_current_state")).filter(
        pl.col("team_key") != busiest["team_key"]).sort("team_key")["team_key"][0]
    request = SingleRequest(busiest["player_name"], "kills", 4.5, 1, 2, opponent=opponent)
    online = service.vectors(request, service.player_payloads(request.player, request.opponent))
    for map_number, row in zip((1, 2), online):
        offline = _offline_vector(catalog, busiest["player_key"], opponent, map_number, 3)
        for column in PLAYER_NUMERIC:
            assert row[column] == pytest.approx(offline[column], nan_ok=True) or (row[column] is None and offline[column] is None), column
    # the state columns are the gold table's values, untouched by the trip through Redis
    assert online[0]["kills_ewm"] == pytest.approx(busiest["kills_ewm"])
    assert online[0]["games_played"] == busiest["games_played"]


def test_prediction_equals_the_model_called_directly(predictor):
    service, _ = predictor
    name = service.search_players("")[0]["name"]
    request = SingleRequest(name, "assists", 6.5, 1, 3)
    answer = service.single(request)
    model = service.models.bundles[answer["model_version"]].stats["assists"]
    vectors = service.vectors(request, service.player_payloads(name, None))
    means = model.predict_mean(player_matrix(pl.DataFrame(vectors, infer_schema_length=None)))
    direct = map_range_distribution(list(map(float, means)), model.nb_size, 6.5)
    assert answer["expected"] == pytest.approx(direct.expected, abs=1e-3)
    assert answer["p_over"] == pytest.approx(float(model.calibrate(np.array([direct.p_over]))[0]), abs=1e-4)
    assert answer["interval"] == list(direct.interval_80)
    assert answer["p_over"] + answer["p_under"] == pytest.approx(1.0)


def test_same_input_same_output_and_unknown_players(predictor):
    service, _ = predictor
    name = service.search_players("")[1]["name"]
    request = SingleRequest(name, "kills", 3.5, 1, 1)
    assert service.single(request) == service.single(request)
    with pytest.raises(NotFound) as error:
        service.single(SingleRequest(name + "xx", "kills", 3.5, 1, 1))
    assert name in error.value.suggestions


def test_every_player_who_played_gets_an_answer(predictor, served_settings):
    service, settings = predictor
    state = read_table(open_catalog(settings).load_table("gold.player_current_state"))
    newcomer = state.filter(~pl.col("player_key").str.starts_with("unknown")).sort(["games_played", "player_key"]).row(0, named=True)
    answer = service.single(SingleRequest(newcomer["player_name"], "deaths", 2.5, 1, 1))
    assert answer["sample_size"] == newcomer["games_played"]
    if newcomer["games_played"] < 10:
        assert any("short history" in line for line in answer["reasoning"])


def test_online_matrix_equals_the_offline_matrix(served_settings):
    """The request path builds the model matrix from dicts; it must equal the DataFrame path on gold rows."""
    from outscaled.models.features import player_matrix_from_rows

    features = read_table(open_catalog(served_settings).load_table("gold.player_features")).head(300)
    np.testing.assert_array_equal(player_matrix(features), player_matrix_from_rows(features.to_dicts()))

"""The predictor gives the champion model's own numbers, with the layers, calibration and map-range sums
the backtest scores (the rows themselves: test_serving_parity.py)."""

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from outscaled.features.as_of import latest_rows
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.tables import read_table
from outscaled.models.distributions import map_range_distribution
from outscaled.online.predictor import Predictor, NotFound
from outscaled.online.requests import RequestError, SingleRequest
from outscaled.online.redis_server import connect, embedded_running, stop_embedded
from outscaled.online.snapshot import publish
from bentos.service import load_models

NOW = datetime(2026, 1, 1)


@pytest.fixture(scope="module")
def predictor(served_home):
    """The predictor on the embedded redis-server under the home, with a snapshot it publishes itself (so
    these tests do not depend on another module having published one there)."""
    from outscaled.config import load_settings
    from outscaled.models.registry import champions, read_registry
    from tests.conftest import environment

    with environment(OUTSCALED_HOME=str(served_home), REDIS_URL=None):
        settings = load_settings()
        models, _ = load_models()
    catalog = open_catalog(settings)
    shared = embedded_running(settings)  # the session's HTTP service may be running on it: leave it so
    client = connect(settings)
    publish(client, catalog, champions(read_registry(catalog)))
    yield Predictor(client, models, clock=lambda: NOW), settings
    if not shared:
        stop_embedded(settings)


def test_prediction_equals_the_model_called_directly(predictor):
    service, _ = predictor
    name = service.search_players("")[0]["name"]
    request = SingleRequest(name, "assists", 6.5, 1, 3)
    answer = service.single(request)
    bundle = service.models.bundles[answer["model_version"]]
    model, layers = bundle.stats["assists"], bundle.layers
    assert layers is not None  # the served bundle carries its adjustment layers
    position = service.search_players("")[0]["position"]
    assert answer["assumptions"]["patch"] == service.meta()["league_patch"][answer["assumptions"]["league"]]
    patch_factor = layers.factors("patch", "assists", [(answer["assumptions"]["patch"], position)])[0][0]
    means = model.predict_mean(service.feature_rows(request)) * patch_factor  # before the draft: the meta layer
    direct = map_range_distribution(list(map(float, means)), model.nb_size, 6.5)
    assert answer["expected"] == pytest.approx(direct.expected, abs=1e-3)
    assert answer["p_over"] == pytest.approx(float(bundle.calibrate("assists", "meta", 3, np.array([direct.p_over]), "average")[0]),
                                             abs=1e-4)
    assert answer["interval"] == list(direct.interval_80)
    assert answer["p_over"] + answer["p_under"] == pytest.approx(1.0)
    assert any(line.startswith("patch ") for line in answer["reasoning"])


def _busiest_champion(layers, stat: str) -> str:
    return layers.tables["champion"].filter(pl.col("stat") == stat).sort(["games", "champion_key"],
                                                                          descending=[True, False])["champion_key"][0]


def test_the_champion_changes_the_answer_only_through_its_layer(predictor):
    service, _ = predictor
    player = service.search_players("")[0]
    plain = SingleRequest(player["name"], "kills", 3.5, 1, 2)
    bundle = service.models.bundles[service.models.serving["kills"]]
    model, layers = bundle.stats["kills"], bundle.layers
    champion = _busiest_champion(layers, "kills")
    name = layers.champions[champion]
    answer = service.single(SingleRequest(player["name"], "kills", 3.5, 1, 2, champion=f" {name.upper()} "))
    assert answer == service.single(SingleRequest(player["name"], "kills", 3.5, 1, 2, champion=name))  # any case
    factor = (layers.factors("patch", "kills", [(answer["assumptions"]["patch"], player["position"])])[0][0]
              * layers.factors("champion", "kills", [(champion,)])[0][0]
              * layers.factors("player_champion", "kills", [(player["key"], champion)])[0][0])
    means = model.predict_mean(service.feature_rows(plain)) * factor
    direct = map_range_distribution(list(map(float, means)), model.nb_size, 3.5)
    assert answer["expected"] == pytest.approx(direct.expected, abs=1e-3)
    assert answer["p_over"] == pytest.approx(
        float(bundle.calibrate("kills", "post_draft", 2, np.array([direct.p_over]), "average")[0]), abs=1e-4)
    without = service.single(plain)
    assert answer["reasoning"][:3] == without["reasoning"][:3]  # the general model's own reasons are unchanged
    assert any(line.startswith(f"champion {name}:") for line in answer["reasoning"])
    assert not any(line.startswith("champion ") for line in without["reasoning"])


def test_a_champion_without_evidence_keeps_factor_one_and_says_so(predictor, served_settings):
    """Played in the snapshot's games but absent from the model's out-of-fold evidence (here: champions of
    earlier years; in production: one new since training): answered, with no champion adjustment."""
    service, settings = predictor
    layers = service.models.bundles[service.models.serving["kills"]].layers
    played = read_table(open_catalog(settings).load_table("gold.player_features"), ("champion",))["champion"]
    unseen = sorted(c for c in played.drop_nulls().unique().to_list() if c.strip().lower() not in layers.champions)
    assert unseen, "the fixture's out-of-fold months should miss some champions played earlier"
    player = service.search_players("")[0]["name"]
    plain = service.single(SingleRequest(player, "kills", 3.5, 1, 2))
    drafted = service.single(SingleRequest(player, "kills", 3.5, 1, 2, champion=unseen[0].upper()))
    assert drafted["expected"] == pytest.approx(plain["expected"])  # both layers at factor 1
    assert any(line.startswith(f"champion {unseen[0]}: too few games") for line in drafted["reasoning"])


def test_an_unknown_champion_is_a_bad_field_with_close_names(predictor):
    service, _ = predictor
    player = service.search_players("")[0]["name"]
    layers = service.models.bundles[service.models.serving["kills"]].layers
    name = layers.champions[_busiest_champion(layers, "kills")]
    with pytest.raises(RequestError) as error:
        service.single(SingleRequest(player, "kills", 3.5, 1, 1, champion=name + "x"))
    assert error.value.field == "champion" and name in error.value.message
    with pytest.raises(RequestError) as error:
        service.many([SingleRequest(player, "kills", 3.5, 1, 1, champion=name),
                      SingleRequest(player, "kills", 3.5, 1, 1, champion="Not A Champion")])
    assert error.value.field == "requests[1].champion"


def test_a_batch_answers_like_single_requests(predictor):
    service, _ = predictor
    names = [p["name"] for p in service.search_players("")[:6]]
    asked = (("kills", 2.5, 1, 2), ("cs", 480.5, 1, 2), ("deaths", 1.5, 1, 1), ("assists", 14.5, 1, 3),
             ("kills", 0.5, 2, 5), ("kills", 6.5, 1, 2), ("kills", 2.5, 1, 2))  # lines sharing one distribution
    requests = [SingleRequest(name, stat, line, start, end) for name in names
                for stat, line, start, end in asked if stat in service.models.serving]
    requests += [SingleRequest(names[0].upper(), "kills", 3.5, 1, 2),  # the same player, written otherwise
                 SingleRequest(names[0], "kills", 3.5, 1, 2, tournament="any"),
                 SingleRequest(names[1], "kills", 3.5, 1, 2, opponent=service.teams()[0]["name"])]
    assert len({r.stat for r in requests}) >= 2
    assert service.many(requests) == [service.single(r) for r in requests]


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
    state = latest_rows(read_table(open_catalog(settings).load_table("gold.player_state_history")), ["player_key"], None)
    newcomer = state.filter(~pl.col("player_key").str.starts_with("unknown")).sort(["games_played", "player_key"]).row(0, named=True)
    answer = service.single(SingleRequest(newcomer["player_name"], "deaths", 2.5, 1, 1))
    assert answer["sample_size"] == newcomer["games_played"]
    if newcomer["games_played"] < 10:
        assert any("short history" in line for line in answer["reasoning"])


def test_a_tournament_changes_nothing_and_says_it_is_not_used(predictor):
    service, _ = predictor
    name = service.search_players("")[0]["name"]
    plain = service.single(SingleRequest(name, "kills", 3.5, 1, 2))
    with_tournament = service.single(SingleRequest(name, "kills", 3.5, 1, 2, tournament="Worlds"))
    assert {k: v for k, v in with_tournament.items() if k != "reasoning"} == \
        {k: v for k, v in plain.items() if k != "reasoning"}
    assert with_tournament["reasoning"][:-1] == plain["reasoning"]
    assert "'Worlds' is not a model input" in with_tournament["reasoning"][-1]


def test_a_memoised_answer_equals_a_fresh_one(predictor):
    """The means and explanations are memoised by model row: a repeated request hits the memo and gets
    exactly the answer a predictor with empty memos computes; a batch answers each request as asked alone."""
    service, _ = predictor
    names = [p["name"] for p in service.search_players("")[:3]]
    requests = [SingleRequest(name, stat, 2.5, 1, maps) for name in names for stat in ("kills", "assists")
                for maps in (1, 2)]
    first = [service.single(r) for r in requests]
    hits = service.means.memo.hits, service.explanations.memo.hits
    again = [service.single(r) for r in requests]
    assert again == first
    assert service.means.memo.hits - hits[0] == len(requests)
    assert service.explanations.memo.hits - hits[1] == len(requests)
    fresh = Predictor(service.store.client, service.models, clock=lambda: NOW)
    assert [fresh.single(r) for r in requests] == first
    assert fresh.many(requests) == first


def test_the_live_clock_is_the_current_hour():
    from outscaled.online.predictor import this_hour

    moment = this_hour()
    assert (moment.minute, moment.second, moment.microsecond, moment.tzinfo) == (0, 0, 0, None)


def test_the_curve_agrees_with_single_answers_at_its_lines(predictor):
    # the curve (outscaled.online.pricing.over_curve) and a single answer price the same total
    service, _ = predictor
    name = service.search_players("")[0]["name"]
    for opponent in (None, service.teams()[0]["name"]):
        curve = service.curve(name, "kills", 1, 2, opponent=opponent)
        points = curve["curve"]
        assert len(points) > 5
        for point in points[:: max(1, len(points) // 6)]:
            answer = service.single(SingleRequest(name, "kills", point["line"], 1, 2, opponent=opponent))
            assert answer["expected"] == curve["expected"]
            assert answer["p_over"] == pytest.approx(point["p_over"], abs=1.01e-4)

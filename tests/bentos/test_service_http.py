"""The prediction API over HTTP (the `service` fixture in conftest.py is the real `bentoml serve`)."""

import json
import re
import time
import urllib.error
import urllib.request

import pytest

from outscaled.online.redis_server import start_embedded, stop_embedded
from tests.bentos.conftest import call
from tests.conftest import SERVICE_AUTH


def test_single_prediction_has_every_field(service, star):
    base_url, _ = service
    status, answer = call(base_url, "/predict/single", {"player": star, "stat": "kills", "line": 3.5,
                                                        "map_start": 1, "map_end": 2})
    assert status == 200
    assert set(answer) >= {"player", "team", "stat", "line", "maps", "expected", "p_over", "p_under", "pick",
                           "confidence", "interval", "model_version", "snapshot_id", "sample_size", "reasoning"}
    assert answer["maps"] == [1, 2] and answer["pick"] in ("over", "under") and answer["reasoning"]


def test_answers_say_the_service_time_in_server_timing(service, star):
    def timing(body: dict) -> float:
        request = urllib.request.Request(service[0] + "/predict/single", data=json.dumps(body).encode(), method="POST",
                                         headers=SERVICE_AUTH)
        try:
            header = urllib.request.urlopen(request, timeout=10).headers["server-timing"]
        except urllib.error.HTTPError as error:
            header = error.headers["server-timing"]
        match = re.fullmatch(r"app;dur=(\d+\.\d\d)", header)
        assert match, header
        return float(match.group(1))

    assert timing({"player": star, "stat": "kills", "line": 3.5}) > 0  # an answer
    assert timing({"player": star, "stat": "kills", "line": 3}) > 0  # a 422


def test_batch_keeps_order_and_refuses_more_than_1000(service, star):
    base_url, _ = service
    requests = [{"player": star, "stat": "kills", "line": 0.5 + (i % 10), "map_start": 1, "map_end": 1}
                for i in range(1000)]
    status, answer = call(base_url, "/predict/batch", {"requests": requests})
    assert status == 200 and len(answer["predictions"]) == 1000
    assert [p["line"] for p in answer["predictions"][:10]] == [0.5 + i for i in range(10)]
    status, answer = call(base_url, "/predict/batch", {"requests": requests + requests[:1]})
    assert status == 422 and answer["field"] == "requests"


@pytest.mark.parametrize(("body", "field"), [
    ({"stat": "kills", "line": 3.5}, "player"),
    ({"player": "x", "stat": "gold", "line": 3.5}, "stat"),
    ({"player": "x", "stat": "kills", "line": 3}, "line"),
    ({"player": "x", "stat": "kills", "line": "4.5"}, "line"),
    ({"player": "x", "stat": "kills", "line": 3.5, "map_start": 3, "map_end": 2}, "map_end"),
    ({"player": "x", "stat": "kills", "line": 3.5, "map_start": 0}, "map_start"),
    ({"player": "x", "stat": "kills", "line": 3.5, "colour": "red"}, "colour"),
])
def test_bad_fields_are_422_naming_the_field(service, body, field):
    status, answer = call(service[0], "/predict/single", body)
    assert status == 422 and answer["field"] == field


def test_malformed_json_is_422(service):
    request = urllib.request.Request(service[0] + "/predict/single", data=b"{not json", method="POST",
                                     headers=SERVICE_AUTH)
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 422


def test_unknown_champion_is_422_naming_the_field(service, star):
    status, answer = call(service[0], "/predict/single", {"player": star, "stat": "kills", "line": 2.5,
                                                          "champion": "Not A Champion"})
    assert status == 422 and answer["field"] == "champion" and "unknown champion" in answer["error"]
    status, answer = call(service[0], "/predict/batch", {"requests": [
        {"player": star, "stat": "kills", "line": 2.5}, {"player": star, "stat": "kills", "line": 2.5, "champion": "Ahrii"}]})
    assert status == 422 and answer["field"] == "requests[1].champion"


def test_unknown_player_is_404_with_closest_names(service, star):
    status, answer = call(service[0], "/predict/single", {"player": star[:-1] + "q", "stat": "kills", "line": 2.5})
    assert status == 404 and star in answer["suggestions"]


def test_curve_is_monotone_and_lookups_work(service, star):
    base_url, _ = service
    status, curve = call(base_url, f"/predict/curve/{urllib.request.quote(star)}?stat=assists&map_start=1&map_end=2")
    assert status == 200
    values = [point["p_over"] for point in curve["curve"]]
    assert all(a >= b for a, b in zip(values, values[1:])) and values[0] > values[-1]
    assert call(base_url, f"/predict/curve/{urllib.request.quote(star)}?stat=nope")[0] == 422
    _, teams = call(base_url, "/teams")
    a, b = teams["teams"][0]["name"], teams["teams"][1]["name"]
    status, match = call(base_url, "/predict/match", {"team_a": a, "team_b": b, "best_of": 3})
    assert status == 200 and match["p_team_a_series"] + match["p_team_b_series"] == pytest.approx(1.0)
    assert call(base_url, "/predict/match", {"team_a": a, "team_b": b, "best_of": 4})[0] == 422
    status, models = call(base_url, "/models/status")
    assert status == 200 and models["redis"] == "ok" and {"kills", "win"} <= set(models["serving"])
    assert call(base_url, "/tournaments")[1]["tournaments"]


def test_redis_down_gives_503_and_recovers_without_restart(service, star):
    base_url, settings = service
    body = {"player": star, "stat": "kills", "line": 3.5}
    stop_embedded(settings)
    time.sleep(0.5)
    time.sleep(1.1)  # let the service's cached snapshot pointer expire
    status, answer = call(base_url, "/predict/single", body)
    assert status == 503 and "Redis" in answer["error"]
    start_embedded(settings)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, answer = call(base_url, "/predict/single", body)
        if status == 200:
            break
        time.sleep(0.3)
    assert status == 200

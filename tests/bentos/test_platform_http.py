"""The platform layer on the real service: correlation ids, /metrics, every answer logged to the analytics
store (a real chdb behind the writer `outscaled serve` runs) with its key, version and arm, and a shadow
challenger scored and logged without being returned."""

import json
import time
import urllib.request

from outscaled.analytics.store import run_query
from outscaled.online.arms import SPLITS_KEY, Split, write_split
from outscaled.online.redis_server import connect
from tests.bentos.conftest import call
from tests.conftest import SERVICE_AUTH


def _post(base_url: str, path: str, body: dict, request_id: str) -> tuple[dict, dict]:
    request = urllib.request.Request(base_url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json", "x-request-id": request_id,
                                              **SERVICE_AUTH})
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(response.headers), json.loads(response.read())


def _logged(settings, where: str, rows: int, wait: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + wait
    while True:
        found = run_query(settings, f"SELECT * FROM predictions FINAL WHERE {where} ORDER BY request_id").to_pylist()
        if len(found) >= rows or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_answers_carry_their_request_id_and_are_logged_with_key_version_and_arm(service, star):
    base_url, settings = service
    stamp = str(time.time_ns())
    headers, answer = _post(base_url, "/predict/single", {"player": star, "stat": "kills", "line": 2.5,
                                                          "map_start": 1, "map_end": 2}, f"single-{stamp}")
    assert headers["x-request-id"] == f"single-{stamp}"
    assert answer["arm"] == "champion" and answer["model_version"]
    _, batch = _post(base_url, "/predict/batch", {"requests": [
        {"player": star, "stat": "assists", "line": line, "map_start": 1, "map_end": 1} for line in (2.5, 4.5, 6.5)]},
        f"batch-{stamp}")
    [single] = _logged(settings, f"request_id = 'single-{stamp}'", 1)
    assert (single["endpoint"], single["stat"], single["line"], single["map_end"]) == ("/predict/single", "kills", 2.5, 2)
    assert single["model_version"] == answer["model_version"] and single["arm"] == "champion"
    assert single["p_over"] == answer["p_over"] and json.loads(single["outputs"]) == answer
    key_id = SERVICE_AUTH["authorization"].split("_")[1]
    assert single["key_id"] == key_id and single["latency_ms"] > 0
    rows = _logged(settings, f"request_id LIKE 'batch-{stamp}:%'", 3)
    assert [r["request_id"] for r in rows] == [f"batch-{stamp}:{i}" for i in range(3)]
    assert [r["p_over"] for r in rows] == [a["p_over"] for a in batch["predictions"]]


def test_metrics_count_answers_and_predictions_by_version_and_arm(service, star):
    base_url, _ = service
    status, answer = call(base_url, "/predict/single", {"player": star, "stat": "kills", "line": 3.5,
                                                        "map_start": 1, "map_end": 1})
    assert status == 200
    call(base_url, "/predict/single", {"player": star, "stat": "kills"}, headers={})  # no key: a 401
    text = ""
    for _ in range(2):  # the two workers: one of them answered; /metrics merges both either way
        with urllib.request.urlopen(base_url + "/metrics", timeout=30) as response:  # open, like /health
            text = response.read().decode()
    lines = text.splitlines()

    def value(prefix: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))

    assert value(f'outscaled_predictions_total{{arm="champion",model_version="{answer["model_version"]}",'
                 f'stat="kills"}}') >= 1
    assert value('outscaled_http_responses_total{route="/predict/single",status="200"}') >= 1
    assert value('outscaled_http_responses_total{route="/predict/single",status="401"}') >= 1
    assert value('outscaled_http_request_duration_seconds_count{route="/predict/single"}') >= 2
    assert value("outscaled_redis_up") == 1.0


def test_a_shadow_challenger_is_logged_beside_the_answer_and_not_returned(service, star):
    base_url, settings = service
    client = connect(settings, start=False)
    status, before = call(base_url, "/models/status")
    champion = before["serving"]["kills"]
    # The champion's own version as the shadow challenger: a real stored version the workers load.
    write_split(client, Split("kills", champion, 0.0, shadow=True))
    try:
        stamp = str(time.time_ns())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # each worker reads the split within a second
            _, status_now = call(base_url, "/models/status")
            if status_now["splits"].get("kills", {}).get("loaded"):
                break
            time.sleep(0.2)
        time.sleep(1.2)
        for i in range(4):  # both workers, whichever answers
            _, answer = _post(base_url, "/predict/single", {"player": star, "stat": "kills", "line": 2.5,
                                                            "map_start": 1, "map_end": 1}, f"shadow-{stamp}-{i}")
            assert answer["arm"] == "champion" and "shadow" not in json.dumps(answer)
        rows = _logged(settings, f"request_id LIKE 'shadow-{stamp}-%' AND shadow_version != ''", 4)
        assert len(rows) == 4
        for row in rows:
            shadow = json.loads(row["shadow_outputs"])
            assert row["shadow_version"] == champion and shadow["arm"] == "shadow"
            assert shadow["p_over"] == row["p_over"]  # the same version: the same numbers
    finally:
        client.delete(SPLITS_KEY)

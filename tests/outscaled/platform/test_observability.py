"""The observability middleware around a real Starlette app: correlation ids, bounded route labels,
counts by status, JSON access lines, and the metrics text."""

import json
import logging
import tempfile
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from outscaled.platform import observability
from outscaled.platform.observability import Observability, count_predictions, metrics_text, route_of

LOG = Path(tempfile.mkdtemp()) / "logs" / "service.jsonl"


def _app() -> Starlette:
    async def ok(request):
        return JSONResponse({"request_id": request.state.request_id})

    async def limited(request):
        return JSONResponse({"error": "slow down"}, status_code=429)

    return Starlette(routes=[Route("/players", ok), Route("/predict/curve/{player:path}", ok),
                             Route("/teams", limited)])


def _sample(name: str, **labels) -> float:
    for line in metrics_text().decode().splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_request_id_is_kept_or_made_and_returned():
    client = TestClient(Observability(_app(), LOG, access_log=False))
    given = client.get("/players", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123" == given.json()["request_id"]
    made = client.get("/players", headers={"X-Request-ID": "not valid; drop table"})
    assert made.headers["x-request-id"] != "not valid; drop table"
    assert len(made.headers["x-request-id"]) == 32 and made.json()["request_id"] == made.headers["x-request-id"]


def test_routes_are_labelled_by_pattern_and_counted_by_status():
    assert route_of("/predict/curve/Faker") == "/predict/curve/{player}"
    assert route_of("/anything/" + "x" * 500) == "other"
    client = TestClient(Observability(_app(), LOG, access_log=False))
    before = (_sample("outscaled_http_responses_total", route="/predict/curve/{player}", status="200"),
              _sample("outscaled_http_responses_total", route="/teams", status="429"),
              _sample("outscaled_rate_limited_total", role="unknown"))
    for name in ("Faker", "Chovy", "Zeus"):
        client.get(f"/predict/curve/{name}")
    client.get("/teams")
    after = (_sample("outscaled_http_responses_total", route="/predict/curve/{player}", status="200"),
             _sample("outscaled_http_responses_total", route="/teams", status="429"),
             _sample("outscaled_rate_limited_total", role="unknown"))
    assert [a - b for a, b in zip(after, before)] == [3.0, 1.0, 1.0]
    assert _sample("outscaled_http_request_duration_seconds_count", route="/teams") >= 1


def test_predictions_are_counted_by_version_and_arm():
    before = _sample("outscaled_predictions_total", stat="kills", model_version="v1", arm="challenger")
    count_predictions([{"stat": "kills", "model_version": "v1", "arm": "challenger"},
                       {"error": "unknown player", "status": 404}])
    assert _sample("outscaled_predictions_total", stat="kills", model_version="v1", arm="challenger") == before + 1


def test_each_request_is_one_json_line_in_the_service_log():
    client = TestClient(Observability(_app(), LOG, access_log=True))
    client.get("/players", headers={"X-Request-ID": "line-1"})
    for handler in logging.getLogger("outscaled").handlers:
        handler.flush()
    lines = [json.loads(line) for line in LOG.read_text().splitlines()]
    [line] = [entry for entry in lines if entry.get("request_id") == "line-1"]
    assert line["status"] == 200 and line["route"] == "/players" and line["message"] == "request"
    assert line["method"] == "GET" and line["duration_ms"] >= 0


def test_the_grafana_dashboard_charts_only_metrics_the_service_exports():
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).parents[3] / "infra" / "grafana" / "outscaled-service.json").read_text())
    charted = {re.sub(r"_(bucket|count|sum)$", "", name)
               for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\b(outscaled_[a-z_]+)", target["expr"])}
    exported = {metric._name for metric in (observability.REQUEST_SECONDS, observability.RESPONSES,
                                            observability.RATE_LIMITED, observability.PREDICTIONS,
                                            observability.REDIS_UP, observability.SINK_UP,
                                            observability.SINK_BACKLOG)}
    exported |= {name.removesuffix("_total") for name in exported}
    assert charted and charted <= exported | {n + "_total" for n in exported}

"""What the API promises, without a server: the OpenAPI document lists every route the app has, with the
security schemes and error answers; its JSON Schemas accept exactly what the service's validation accepts
(save the rules it states in words); and whatever goes wrong inside a route is a JSON 500 with a request id.
The running service is fuzzed against the same document in test_api_fuzz.py."""

from __future__ import annotations

import asyncio

import httpx
import jsonschema
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from starlette.routing import Route

from bentos.app import app
from bentos.openapi import OPERATIONS, document
from outscaled.online.predictor import Models, Predictor
from outscaled.online.requests import RequestError, parse_batch, parse_match, parse_single
from outscaled.online.service_process import free_port

ROUTES = {"/predict/single", "/predict/batch", "/predict/curve/{player_id}", "/predict/match", "/models/status",
          "/players", "/teams", "/tournaments", "/health", "/ready"}
NOT_API = {"/", "/openapi.json", "/docs.json", "/docs", "/metrics"}  # the page, the documentation, Prometheus text


def test_every_route_of_the_app_is_in_the_document():
    paths = {route.path.replace(":path}", "}") for route in app.routes if isinstance(route, Route)}
    assert paths - NOT_API == ROUTES == set(document(auth=True)["paths"])
    methods = {(route.path.replace(":path}", "}"), method.lower()) for route in app.routes
               if isinstance(route, Route) and route.path not in NOT_API for method in route.methods - {"HEAD"}}
    assert methods == {(o.path, o.method) for o in OPERATIONS}


def test_security_follows_the_configuration():
    secured, open_ = document(auth=True), document(auth=False)
    schemes = secured["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {**schemes["ApiKeyHeader"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Bearer"]["type"] == "http" and schemes["Bearer"]["scheme"] == "bearer"
    for path, operations in secured["paths"].items():
        for operation in operations.values():
            if path in ("/health", "/ready"):
                assert "security" not in operation and "401" not in operation["responses"]
            else:
                assert operation["security"] == [{"ApiKeyHeader": []}, {"Bearer": []}]
                assert {"401", "403", "429", "503"} <= set(operation["responses"])
    assert all(not operation.get("security") for operations in open_["paths"].values()
               for operation in operations.values())
    assert all("401" not in operation["responses"] for operations in open_["paths"].values()
               for operation in operations.values())


def test_every_error_answer_has_the_error_shape():
    built = document(auth=True)
    assert built["openapi"] == "3.1.0"
    refusal = built["components"]["schemas"]["Refusal"]
    assert refusal["required"] == ["error"] and {"field", "suggestions", "request_id"} <= set(refusal["properties"])
    for operations in built["paths"].values():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                schema = answer["content"]["application/json"]["schema"]
                assert (schema == {"$ref": "#/components/schemas/Refusal"}) == (status != "200"), (status, schema)


def _validator(component: str) -> jsonschema.Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{component}", "components": document(auth=True)["components"]}
    return jsonschema.Draft202012Validator(root)


VALID = {"player": "Faker", "stat": "kills", "line": 3.5}
SINGLES = [VALID, {**VALID, "line": 3}, {**VALID, "line": True}, {**VALID, "line": 0.5}, {**VALID, "line": 1999.5},
           {**VALID, "line": 2000.5}, {**VALID, "line": 0}, {**VALID, "best_of": True}, {**VALID, "best_of": 4},
           {**VALID, "best_of": "3"}, {**VALID, "best_of": None}, {**VALID, "map_start": 0}, {**VALID, "map_start": 6},
           {**VALID, "map_start": False}, {**VALID, "stat": "gold"}, {**VALID, "stat": "cs"}, {**VALID, "player": ""},
           {**VALID, "player": " \u3000\t"}, {**VALID, "player": "\x1c"}, {**VALID, "player": "y" * 100},
           {**VALID, "player": "y" * 101}, {**VALID, "player": None}, {**VALID, "team": None}, {**VALID, "team": 7},
           {**VALID, "patch": "25.17"}, {**VALID, "patch": " 5.7\n"}, {**VALID, "patch": "25.170"},
           {**VALID, "patch": "²5.17"}, {**VALID, "playoffs": 0}, {**VALID, "playoffs": True},
           {**VALID, "position": "mid"}, {**VALID, "position": "MID"}, {**VALID, "colour": "red"},
           {"stat": "kills", "line": 3.5}, [VALID], "Faker", None]
MATCHES = [{"team_a": "T1", "team_b": "Gen.G", "best_of": 3}, {"team_a": "T1", "team_b": "Gen.G"},
           {"team_a": "T1", "team_b": "Gen.G", "best_of": 5, "team_a_side": "red"},
           {"team_a": "T1", "team_b": "Gen.G", "best_of": 1, "team_a_side": "green"},
           {"team_a": "T1", "team_b": " ", "best_of": 3}, {"team_a": "T1", "team_b": "Gen.G", "best_of": True}]
BATCHES = [{"requests": [VALID] * 1000}, {"requests": [VALID] * 1001}, {"requests": []}, {"requests": [VALID, {}]},
           {"requests": VALID}, {"requests": [VALID], "more": 1}, [VALID]]


def _accepted(parse, body) -> bool:
    try:
        parse(body)
        return True
    except RequestError:
        return False


@pytest.mark.parametrize(("component", "parse", "bodies"), [("PredictionRequest", parse_single, SINGLES),
                                                            ("MatchRequest", parse_match, MATCHES),
                                                            ("BatchRequest", parse_batch, BATCHES)])
def test_the_document_accepts_what_the_service_accepts(component, parse, bodies):
    validator = _validator(component)
    for body in bodies:
        assert validator.is_valid(body) == _accepted(parse, body), body


def test_the_rules_stated_in_words_are_the_only_differences():
    """JSON Schema takes 3.0 as an integer and cannot compare two fields; the service refuses both."""
    validator = _validator("PredictionRequest")
    for body in ({**VALID, "best_of": 3.0}, {**VALID, "map_start": 1.0}, {**VALID, "map_start": 3, "map_end": 2},
                 {**VALID, "map_end": 4, "best_of": 3}):
        assert validator.is_valid(body) and not _accepted(parse_single, body), body


def _get(path: str) -> httpx.Response:
    """GET `path` from the app in this process (no server, no middleware)."""
    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            return await client.get(path)
    return asyncio.run(get())


def test_an_unexpected_failure_is_a_json_500_with_only_a_request_id():
    """A predictor without its model list (a route that fails for a reason no input causes)."""
    nobody = redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))  # Redis down: status() says so
    app.state.predictor = Predictor(nobody, Models({}, {}))
    try:
        answer = _get("/models/status")
    finally:
        del app.state.predictor
    assert answer.status_code == 500 and answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"error", "request_id"} and body["request_id"] in body["error"]
    assert "Traceback" not in answer.text and "model_info" not in answer.text


def test_a_method_a_route_does_not_take_is_a_json_405_with_allow():
    answer = _get("/predict/single")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST" and answer.json() == {"error": "Method Not Allowed"}


def test_the_document_and_the_docs_page_are_served():
    assert _get("/openapi.json").json() == _get("/docs.json").json()
    assert set(_get("/docs.json").json()["paths"]) == ROUTES
    page = _get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text and "swagger-ui-bundle.js" in page.text

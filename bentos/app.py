"""HTTP routes of the prediction service (Starlette, mounted on the BentoML service).

Status codes: 422 for a bad field (the body names it), 413 for a body over MAX_BODY_BYTES (refused before
it is parsed), 404 for an unknown player or team (with the closest names), 503 while Redis is unreachable
(recovers by itself), never 500 for bad input. Every input is checked against its declared schema
(outscaled/online/schemas.py, through outscaled/online/requests.py), the OpenAPI document is generated from
the same schemas (bentos/openapi.py), and no error answer repeats more than MAX_ECHO characters of what was
sent. Anything else that goes wrong in a route is a JSON 500 that says only its request id (the log has the
traceback under the same id): a fuzz test (tests/bentos/test_api_fuzz.py) checks no input reaches it.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.background import BackgroundTask
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bentos.openapi import document
from outscaled.config import load_settings
from outscaled.online.arms import ANONYMOUS
from outscaled.online.predictor import NotFound, Predictor, Unavailable
from outscaled.online.requests import (
    MAX_ECHO, RequestError, SingleRequest, bounded_body, parse_batch, parse_curve, parse_match, parse_search,
    parse_single,
)
from outscaled.platform.observability import CONTENT_TYPE_LATEST, count_predictions, health_gauges, metrics_text

STATIC = Path(__file__).parent / "static"
PAGE = (STATIC / "index.html").read_text()
DOCS_PAGE = (STATIC / "docs.html").read_text()
log = logging.getLogger("outscaled.service")


class FastJSONResponse(JSONResponse):
    """JSON via orjson: several times faster for a batch of 1,000 answers; NaN is written as null."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


_MAX_MESSAGE = 4 * MAX_ECHO  # a message quotes at most MAX_ECHO characters of input (requests.echo); this
# cap is the last guard, for a message that quoted more by mistake


def _error(status: int, message: str, **extra) -> JSONResponse:
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    return FastJSONResponse({"error": message, **extra}, status_code=status)


def _handled(handler):
    """Maps the predictor's errors to status codes, and says in a `Server-Timing` header how long the
    service spent on the request (body parsed, answer computed and encoded), so a client or benchmark can
    tell the service's time from the network's and the HTTP stack's."""
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        predictor: Predictor | None = getattr(request.app.state, "predictor", None)
        try:
            if predictor is None:
                raise Unavailable("the service is still loading its models")
            response = await handler(request, predictor)
        except RequestError as error:  # BodyTooLarge too: 413
            response = _error(error.status, error.message, field=error.field)
        except NotFound as error:
            response = _error(404, str(error), suggestions=error.suggestions)
        except Unavailable as error:
            response = _error(503, str(error))
        except Exception:  # the last resort: never a traceback or an HTML page to the client
            response = _internal_error(request)
        response.headers["server-timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response
    return endpoint


def _internal_error(request: Request) -> Response:
    """A JSON 500 that says only the request id; the traceback goes to the log under the same id."""
    request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex  # the observability middleware's
    log.exception("unexpected failure in %s %s (request id %s)", request.method, request.url.path, request_id)
    return _error(500, f"internal error; quote request id {request_id} when reporting it", request_id=request_id)


def _caller(request: Request) -> str:
    """The caller's id (the gateway's, outscaled.platform.middleware): the A/B arm and the log key on it."""
    caller = getattr(request.state, "caller", None)
    return caller.id if caller is not None else ANONYMOUS


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or uuid.uuid4().hex


def _log(request: Request, endpoint: str, asked: list[SingleRequest], answers: list, started: float,
         predictor: Predictor) -> BackgroundTask | None:
    """Each stat answer to the analytics log (outscaled.analytics.log: a buffer append, sent by a thread)
    and to the predictions metric; when a stat has a shadow split, the challenger is scored after the
    answer has gone (the returned task) and logged beside it."""
    count_predictions(answers)
    log_rows = getattr(request.app.state, "prediction_log", None)
    shadowed = any(s.shadow for s in predictor.live_splits().values())
    if log_rows is None and not shadowed:
        return None
    request_id, caller = _request_id(request), getattr(request.state, "caller", None)
    key_id = caller.id if caller is not None else ""
    latency_ms = (time.perf_counter() - started) * 1000
    rows = [{"request_id": request_id if len(asked) == 1 else f"{request_id}:{i}", "ts": time.time(),
             "key_id": key_id, "endpoint": endpoint, "inputs": r.__dict__, "player": a.get("player") or r.player,
             "stat": r.stat, "line": r.line, "map_start": r.map_start, "map_end": r.map_end,
             "opponent": r.opponent or "", "outputs": a, "expected": a.get("expected"), "p_over": a.get("p_over"),
             "model_version": a.get("model_version", ""), "snapshot_id": a.get("snapshot_id", ""),
             "arm": a.get("arm", "champion"), "latency_ms": latency_ms}
            for i, (r, a) in enumerate(zip(asked, answers)) if isinstance(a, dict) and "model_version" in a]
    if not shadowed:
        log_rows.record(rows)
        return None

    def score_shadow() -> None:  # after the response: the caller never waits for the challenger
        try:
            by_request = {row["request_id"]: row for row in rows}
            for i, shadow in enumerate(predictor.shadow(asked)):
                row = by_request.get(request_id if len(asked) == 1 else f"{request_id}:{i}")
                if shadow is not None and row is not None:
                    row["shadow_outputs"], row["shadow_version"] = shadow, shadow["model_version"]
        except Exception:  # a shadow that fails is logged without its scores, never a failed request
            log.exception("shadow scoring failed (request id %s)", request_id)
        if log_rows is not None:
            log_rows.record(rows)

    return BackgroundTask(score_shadow)


# The bodies go to the schemas as bytes: pydantic parses the JSON and checks it in one pass.
async def single(request: Request, predictor: Predictor) -> Response:
    started = time.perf_counter()
    asked = parse_single(await bounded_body(request))
    answer = predictor.single(asked, _caller(request))
    return FastJSONResponse(answer, background=_log(request, "/predict/single", [asked], [answer], started, predictor))


async def batch(request: Request, predictor: Predictor) -> Response:
    started = time.perf_counter()
    asked = parse_batch(await bounded_body(request))
    found = predictor.many(asked, _caller(request))
    answers = [{"error": str(a), "status": 404, "suggestions": a.suggestions} if isinstance(a, NotFound) else a
               for a in found]
    return FastJSONResponse({"predictions": answers},
                            background=_log(request, "/predict/batch", asked, answers, started, predictor))


async def curve(request: Request, predictor: Predictor) -> Response:
    asked = parse_curve(request.path_params["player_id"], request.query_params)
    answer = predictor.curve(asked.player_id, asked.stat, asked.map_start, asked.map_end, asked.opponent,
                             asked.best_of, _caller(request))
    log_rows = getattr(request.app.state, "prediction_log", None)
    if log_rows is not None:  # one row: the whole curve is its output, no line of its own
        caller = getattr(request.state, "caller", None)
        log_rows.record([{"request_id": _request_id(request), "ts": time.time(),
                          "key_id": caller.id if caller is not None else "", "endpoint": "/predict/curve",
                          "inputs": dict(request.query_params, player=asked.player_id), "player": answer["player"],
                          "stat": asked.stat, "map_start": asked.map_start, "map_end": asked.map_end,
                          "opponent": asked.opponent or "", "outputs": answer, "expected": answer["expected"],
                          "model_version": answer["model_version"], "snapshot_id": answer["snapshot_id"],
                          "arm": answer["arm"]}])
    return FastJSONResponse(answer)


async def match(request: Request, predictor: Predictor) -> Response:
    asked = parse_match(await bounded_body(request))
    answer = predictor.match(asked.team_a, asked.team_b, asked.best_of, asked.team_a_side, league=asked.league,
                             patch=asked.patch, playoffs=asked.playoffs)
    log_rows = getattr(request.app.state, "prediction_log", None)
    if log_rows is not None:
        caller = getattr(request.state, "caller", None)
        log_rows.record([{"request_id": _request_id(request), "ts": time.time(),
                          "key_id": caller.id if caller is not None else "", "endpoint": "/predict/match",
                          "inputs": asked.model_dump(), "player": "", "stat": "win", "opponent": answer["team_b"],
                          "outputs": answer, "p_over": answer["p_team_a_series"],
                          "model_version": answer["model_version"], "snapshot_id": answer["snapshot_id"],
                          "arm": answer["arm"]}])
    return FastJSONResponse(answer)


async def status(request: Request, predictor: Predictor) -> Response:
    return FastJSONResponse({**predictor.status(), "models": request.app.state.model_info,
                             "inference": getattr(request.app.state, "inference", "lightgbm")})


async def players(request: Request, predictor: Predictor) -> Response:
    query, limit = parse_search(request.query_params)
    return FastJSONResponse({"players": predictor.search_players(query, limit)})


async def teams(request: Request, predictor: Predictor) -> Response:
    return FastJSONResponse({"teams": predictor.teams()})


async def tournaments(request: Request, predictor: Predictor) -> Response:
    return FastJSONResponse({"tournaments": predictor.meta().get("tournaments", [])})


async def ready(request: Request, predictor: Predictor) -> Response:
    """Readiness, separate from liveness (/health): 503 with the reason while the models are loading, the
    feature store (Redis) is unreachable or holds no usable snapshot; the process itself is fine."""
    return FastJSONResponse({"ready": True, "snapshot_id": predictor.store.refresh(), "worker": os.getpid()})


async def health(request: Request) -> Response:
    return FastJSONResponse({"alive": True})


async def metrics(request: Request) -> Response:
    """Prometheus metrics of every worker (outscaled.platform.observability); Redis and the analytics sink
    are checked when scraped."""
    predictor: Predictor | None = getattr(request.app.state, "predictor", None)
    if predictor is not None:
        from outscaled.analytics.log import sink_health

        client = predictor.store.client

        def redis_up() -> bool:
            try:
                return bool(client.ping())
            except Exception:
                return False

        def sink() -> tuple[bool, int]:
            try:
                return sink_health(client)
            except Exception:
                return False, -1

        health_gauges(redis_up, sink if getattr(request.app.state, "prediction_log", None) is not None else None)
    return Response(metrics_text(), media_type=CONTENT_TYPE_LATEST)


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE)


@cache
def _document() -> bytes:
    return orjson.dumps(document(auth=load_settings().auth))


async def openapi(request: Request) -> Response:
    """The OpenAPI document, also at /docs.json: this route comes before BentoML's own (which lists only
    /healthz, /livez, /readyz and /metrics), because BentoML appends its docs route after the mounted apps."""
    return Response(_document(), media_type="application/json")


async def docs(request: Request) -> Response:
    return HTMLResponse(DOCS_PAGE)


async def http_error(request: Request, error: HTTPException) -> Response:
    """A method the route does not take (405, with its Allow header): JSON like every other error, not
    Starlette's plain text. (A path no route here takes is BentoML's to answer.)"""
    response = _error(error.status_code, error.detail)
    response.headers.update(error.headers or {})
    return response


app = Starlette(exception_handlers={HTTPException: http_error}, routes=[
    Route("/", page),
    Route("/openapi.json", openapi),
    Route("/docs.json", openapi),
    Route("/docs", docs),
    Route("/health", health),
    Route("/metrics", metrics),
    Route("/ready", _handled(ready)),
    Route("/predict/single", _handled(single), methods=["POST"]),
    Route("/predict/batch", _handled(batch), methods=["POST"]),
    Route("/predict/curve/{player_id:path}", _handled(curve)),
    Route("/predict/match", _handled(match), methods=["POST"]),
    Route("/models/status", _handled(status)),
    Route("/players", _handled(players)),
    Route("/teams", _handled(teams)),
    Route("/tournaments", _handled(tournaments)),
])

"""HTTP routes of the prediction service (Starlette, mounted on the BentoML service).

Status codes: 422 for a bad field (the body names it), 413 for a body over MAX_BODY_BYTES (refused before
it is parsed), 404 for an unknown player or team (with the closest names), 503 while Redis is unreachable
(recovers by itself), never 500 for bad input. Every input is bounded in outscaled/online/requests.py, and
no error answer repeats more than MAX_ECHO characters of what was sent.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from outscaled.online.predictor import NotFound, Predictor, Unavailable
from outscaled.online.requests import (
    MAX_BODY_BYTES, MAX_ECHO, BodyTooLarge, RequestError, echo, parse_batch, parse_curve, parse_match, parse_search,
    parse_single,
)

PAGE = (Path(__file__).parent / "static" / "index.html").read_text()


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
        response.headers["server-timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response
    return endpoint


async def _body(request: Request) -> bytes:
    """The body, refused (413) as soon as it is known to be over MAX_BODY_BYTES: from Content-Length before
    reading, or while reading a body sent without one (chunked)."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge(int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)


async def _json(request: Request):
    try:
        return orjson.loads(await _body(request) or b"null")
    except orjson.JSONDecodeError as error:  # its message says where, never repeats the document
        raise RequestError("body", f"is not valid JSON ({echo(error)})") from error


async def single(request: Request, predictor: Predictor) -> Response:
    return FastJSONResponse(predictor.single(parse_single(await _json(request))))


async def batch(request: Request, predictor: Predictor) -> Response:
    answers = [{"error": str(a), "status": 404, "suggestions": a.suggestions} if isinstance(a, NotFound) else a
               for a in predictor.many(parse_batch(await _json(request)))]
    return FastJSONResponse({"predictions": answers})


async def curve(request: Request, predictor: Predictor) -> Response:
    asked = parse_curve(request.path_params["player_id"], request.query_params)
    return FastJSONResponse(predictor.curve(asked.player, asked.stat, asked.map_start, asked.map_end, asked.opponent,
                                            asked.best_of))


async def match(request: Request, predictor: Predictor) -> Response:
    asked = parse_match(await _json(request))
    return FastJSONResponse(predictor.match(asked.team_a, asked.team_b, asked.best_of, asked.team_a_side))


async def status(request: Request, predictor: Predictor) -> Response:
    return FastJSONResponse({**predictor.status(), "models": request.app.state.model_info})


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
    return FastJSONResponse({"ready": True, "snapshot_id": predictor.store.refresh()})


async def health(request: Request) -> Response:
    return FastJSONResponse({"alive": True})


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE)


app = Starlette(routes=[
    Route("/", page),
    Route("/health", health),
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

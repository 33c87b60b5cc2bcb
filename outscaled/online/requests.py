"""Request validation for the prediction API: every input checked against its declared schema
(outscaled.online.schemas), a refusal turned into a precise message that names the field (HTTP 422).

Every input is bounded there, in one place: a text field (a name, a patch, a search query, a path
parameter) holds at most MAX_TEXT characters, a batch at most MAX_BATCH requests; a body is at most
MAX_BODY_BYTES (`bounded_body` refuses a larger one before it is parsed); and a message repeats at most
MAX_ECHO characters of what a client sent (`echo`), so that an error answer stays small whatever the
request was. A body is validated from its bytes (pydantic parses the JSON itself: one pass, no dicts in
between), which keeps a single prediction's parse to a few microseconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from outscaled.features.schema import POSITIONS, STATS
from outscaled.online import schemas
from outscaled.online.schemas import MAX_BATCH, MAX_LIMIT, MAX_LINE, MAX_MAP, MAX_TEXT

__all__ = ["MAX_BATCH", "MAX_BODY_BYTES", "MAX_ECHO", "MAX_TEXT", "FIELDS", "BodyTooLarge", "RequestError",
           "SingleRequest", "echo", "parse_batch", "parse_curve", "parse_match", "parse_search", "parse_single"]

MAX_ECHO = 100  # characters of a client's input that an error message may repeat
# A full batch fits whatever its names: 1,000 requests with every text field at MAX_TEXT characters, each
# written as a 6-byte JSON escape (\u0001), are about 3.9 MB.
MAX_BODY_BYTES = 4 << 20


def echo(value: object) -> str:
    """`value` as an error message may quote it: at most MAX_ECHO characters."""
    text = str(value)
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 1] + "…"


class RequestError(ValueError):
    """A bad field: `field` names it, the message says what is expected. Maps to HTTP 422.
    The field name is cut to MAX_ECHO characters: it can be the client's own (an unknown key)."""

    status = 422

    def __init__(self, field: str, message: str):
        field = echo(field)
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class BodyTooLarge(RequestError):
    """The body is over MAX_BODY_BYTES; refused before it is parsed (HTTP 413)."""

    status = 413

    def __init__(self, size: int | None = None):
        got = f" (this one: at least {size:,})" if size else ""
        super().__init__("body", f"is larger than {MAX_BODY_BYTES:,} bytes{got}; split a batch into several")


class StreamedRequest(Protocol):
    """What `bounded_body` reads of an HTTP request (a Starlette Request is one)."""

    headers: Mapping[str, str]

    def stream(self) -> AsyncIterator[bytes]: ...


async def bounded_body(request: StreamedRequest) -> bytes:
    """The body, refused (BodyTooLarge, HTTP 413) as soon as it is known to be over MAX_BODY_BYTES: from
    Content-Length before reading, or while reading a body sent without one (chunked)."""
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


@dataclass(frozen=True)
class SingleRequest:
    """What a user knows before the series. Left out, `best_of` is assumed (3, or 5 for maps past 3),
    `league`, `team` and `position` are the player's latest, `patch` the league's latest, `playoffs`
    false, and the opponent the league's average one; every answer states them under `assumptions`. A player
    with no game on record is answered from the league/position baseline when `position` is given."""
    player: str
    stat: str
    line: float
    map_start: int
    map_end: int
    opponent: str | None = None
    tournament: str | None = None
    champion: str | None = None
    best_of: int | None = None
    league: str | None = None
    team: str | None = None
    patch: str | None = None
    playoffs: bool | None = None
    position: str | None = None

    def series_format(self) -> int:
        """The best-of the request says, else the assumed one."""
        return self.best_of if self.best_of is not None else default_best_of(self.map_end)


def default_best_of(map_end: int) -> int:
    return 3 if map_end <= 3 else 5


FIELDS = set(schemas.PredictionRequest.model_fields)

# --- what a refusal says ---------------------------------------------------------------------------------
_WHOLE_MAP = f"must be a whole number from 1 to {MAX_MAP}"
_BY_FIELD = {  # a field whose value is a choice or a format: one message whatever the check that failed
    "stat": f"must be one of {', '.join(STATS)}",
    "position": f"must be one of {', '.join(POSITIONS)}",
    "line": f"must be a half-point line between 0.5 and {MAX_LINE - 0.5:g} (e.g. 4.5)",
    "map_start": _WHOLE_MAP,
    "map_end": _WHOLE_MAP,
    "best_of": "must be 1, 3 or 5",
    "patch": "must be a patch such as \"25.17\"",
    "playoffs": "must be true or false",
    "team_a_side": "must be \"blue\" or \"red\" (team_a's side on map 1), or left out",
    "limit": f"must be a whole number from 1 to {MAX_LIMIT}",
    "requests": "must be a list of prediction requests",
}
_BY_FIELD_AND_KIND = {
    ("line", "float_type"): "must be a number such as 4.5",
}
_WHAT = {"team_a": " (a team name)", "team_b": " (a team name)",
         "best_of": " (1, 3 or 5): the series format decides the series probability"}


def _field(location: tuple) -> str:
    """('requests', 3, 'best_of') -> 'requests[3].best_of'; () -> 'body'."""
    name = ""
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name or "body"


def _message(kind: str, name: str, error: dict) -> str:
    if kind == "missing" or (error.get("input", ...) is None and kind.endswith("_type")):  # null: left out
        return "is required" + _WHAT.get(name, "")
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "map_range":  # a rule of the schema's own (schemas._check_maps): its message as written
        return error["msg"]
    if kind == "json_invalid":
        return f"is not valid JSON ({echo(error['ctx']['error'])})"  # says where, never repeats the document
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a JSON object"
    if kind == "too_long" and name == "requests":
        return f"holds {len(error['input']):,} requests; at most {MAX_BATCH} per batch"
    if (name, kind) in _BY_FIELD_AND_KIND:
        return _BY_FIELD_AND_KIND[name, kind]
    if name in _BY_FIELD:
        return _BY_FIELD[name]
    if kind == "string_too_long":
        return f"holds {len(error['input']):,} characters; at most {MAX_TEXT}"
    if kind == "string_pattern_mismatch":  # the text patterns ask for one character besides whitespace
        return "must not be empty" + _WHAT.get(name, "")
    if kind == "string_type":
        return f"must be a string of at most {MAX_TEXT} characters"
    return "is not valid"


def refusal(error: ValidationError) -> RequestError:
    """The first thing wrong with a request, as a RequestError naming its field."""
    first = error.errors(include_url=False)[0]
    location = first["loc"]
    if first["type"] == "map_range":
        location = (*location, first["ctx"]["field"])
    name = next((part for part in reversed(location) if isinstance(part, str)), "body")
    return RequestError(_field(location), _message(first["type"], name, first))


Schema = TypeVar("Schema", bound=BaseModel)


def _validated(schema: type[Schema], body: Any) -> Schema:
    """`body` as bytes (JSON, parsed by pydantic) or as parsed values, checked against `schema`."""
    try:
        if isinstance(body, (bytes, bytearray)):
            return schema.model_validate_json(body)
        return schema.model_validate(body)
    except ValidationError as error:
        raise refusal(error) from None


def _single(asked: schemas.PredictionRequest) -> SingleRequest:
    return SingleRequest(**vars(asked))


def parse_single(body: bytes | Any) -> SingleRequest:
    return _single(_validated(schemas.PredictionRequest, body))


def parse_batch(body: bytes | Any) -> list[SingleRequest]:
    return [_single(asked) for asked in _validated(schemas.BatchRequest, body).requests]


def parse_match(body: bytes | Any) -> schemas.MatchRequest:
    return _validated(schemas.MatchRequest, body)


def parse_curve(player: str, query: Mapping[str, str]) -> schemas.CurveQuery:
    """The path's player (`player_id`) and the query's stat, map_start, map_end, best_of and opponent."""
    return _validated(schemas.CurveQuery, {**query, "player_id": player})


def parse_search(query: Mapping[str, str]) -> tuple[str, int]:
    """GET /players: the search text `q` (empty: everyone) and `limit`."""
    asked = _validated(schemas.SearchQuery, dict(query))
    return asked.q, asked.limit

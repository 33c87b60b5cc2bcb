"""The prediction API's inputs and answers as declared schemas (pydantic), one class per body or query.

The service validates every input with these classes (outscaled.online.requests turns a refusal into a 422
that names the field) and the OpenAPI document (bentos/openapi.py) is generated from them, so what the
document promises is what the service checks. Types are strict: `true` is not 1, `3.0` is not 3, a query
string's whole number is ASCII digits only (`²` and `٣` are refused), and every text is bounded. A text
field is at most MAX_TEXT characters as sent, holds something besides whitespace (WHITESPACE: what JSON
Schema's patterns call whitespace), and is stripped of it.

Three rules cannot be written in JSON Schema and the document states them in words instead: `map_end` is
at least `map_start` and within `best_of` (the fields' descriptions), and a whole number is written without
a fraction (JSON Schema's `integer` takes 3.0; the document's description says the service does not). The
answers' classes document the responses only (the service builds them as dicts); they allow extra fields,
so a new field in an answer does not break a client.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from outscaled.features.schema import POSITIONS, STATS

MAX_BATCH = 1000
MAX_MAP = 5
MAX_LINE = 2000.0
MAX_TEXT = 100  # characters of any text field: player and team names, league, patch, query, path parameters
MAX_LIMIT = 1000  # players per search answer
BEST_OF = (1, 3, 5)

_INPUT = ConfigDict(strict=True, extra="forbid")
_QUERY = ConfigDict(strict=True, extra="ignore")

# Whitespace as JSON Schema's regular expressions (ECMA-262's \s) mean it, spelt out so that the document,
# pydantic's regex engine, a client's and the fuzzer's (Python's re) all agree on every character: Python's
# str.strip() and re's \s also take \x1c-\x1f and \x85, which ECMA-262 does not.
WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
             "\u2028\u2029\u202f\u205f\u3000\ufeff"
_SPACE = r"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_NOT_SPACE = "[^" + _SPACE[1:]


def _strip(value: str) -> str:
    return value.strip(WHITESPACE)


def _half_point(value: float) -> float:
    if value % 1 != 0.5:
        raise ValueError("not a half point")
    return value


def _in_best_of(value: int) -> int:
    if value not in BEST_OF:
        raise ValueError("not a series format")
    return value


def _two_digit_patch(value: str) -> str:
    major, minor = value.strip(WHITESPACE).split(".")
    return f"{int(major):02d}.{int(minor):02d}"


_ASCII_WHOLE = re.compile(r"[0-9]{1,9}")  # str.isdigit() and int() take '²' or '٣'; a query takes ASCII only


def _query_whole(value: object) -> object:
    """A query string's whole number: ASCII digits to int; anything else is left for the int check to refuse."""
    if isinstance(value, str) and _ASCII_WHOLE.fullmatch(value):
        return int(value)
    return value


Text = Annotated[str, Field(max_length=MAX_TEXT, pattern=_NOT_SPACE), AfterValidator(_strip)]
Stat = Literal[STATS]
Position = Literal[POSITIONS]
Line = Annotated[float, Field(ge=0.5, le=MAX_LINE - 0.5, multiple_of=0.5, json_schema_extra={"not": {"multipleOf": 1}}),
                 AfterValidator(_half_point)]
MapNumber = Annotated[StrictInt, Field(ge=1, le=MAX_MAP)]
BestOf = Annotated[StrictInt, Field(json_schema_extra={"enum": list(BEST_OF)}), AfterValidator(_in_best_of)]
Patch = Annotated[str, Field(max_length=MAX_TEXT, pattern=f"^{_SPACE}*[0-9]{{1,2}}\\.[0-9]{{1,2}}{_SPACE}*$"),
                  AfterValidator(_two_digit_patch)]
QueryMapNumber = Annotated[int, Field(ge=1, le=MAX_MAP), BeforeValidator(_query_whole)]
QueryBestOf = Annotated[int, Field(json_schema_extra={"enum": list(BEST_OF)}), AfterValidator(_in_best_of),
                        BeforeValidator(_query_whole)]
QueryLimit = Annotated[int, Field(ge=1, le=MAX_LIMIT), BeforeValidator(_query_whole)]


def _check_maps(start: int, end: int, best_of: int | None) -> None:
    """The two rules JSON Schema cannot say; refused on `map_end` (the field the client should change)."""
    if end < start:
        raise PydanticCustomError("map_range", "must be at least map_start ({start})", {"field": "map_end", "start": start})
    if best_of is not None and end > best_of:
        raise PydanticCustomError("map_range", "map {end} is not played in a best-of-{best_of}",
                                  {"field": "map_end", "end": end, "best_of": best_of})


_MAP_END = "the last map of the range (default: map_start); at least map_start and at most best_of when given"


class PredictionRequest(BaseModel):
    """One stat line. What is left out is assumed and stated under `assumptions` in the answer."""
    model_config = _INPUT

    player: Text = Field(description="the player's name as in the snapshot (any case)")
    stat: Stat
    line: Line = Field(description="a half-point line such as 4.5, from 0.5 to 1999.5")
    map_start: MapNumber | None = Field(None, description="the first map of the range (default 1)")
    map_end: MapNumber | None = Field(None, description=_MAP_END)
    opponent: Text | None = Field(None, description="the opposing team (default: the league's average opponent)")
    tournament: Text | None = Field(None, description="accepted, not a model input (the reasoning says so)")
    champion: Text | None = Field(None, description="the player's champion: switches on the post-draft layers; "
                                                    "an unknown champion is a 422 with the closest names")
    best_of: BestOf | None = Field(None, description="the series format (default 3, or 5 for maps past 3)")
    league: Text | None = Field(None, description="default: the player's latest")
    team: Text | None = Field(None, description="default: the player's latest; an unknown team is rated as new")
    patch: Patch | None = Field(None, description="such as \"25.17\" (default: the league's latest)")
    playoffs: StrictBool | None = Field(None, description="default false")
    position: Position | None = Field(None, description="default: the player's latest; needed for a debut")

    @model_validator(mode="after")
    def _map_range(self) -> PredictionRequest:
        self.map_start = self.map_start or 1
        self.map_end = self.map_end or self.map_start
        _check_maps(self.map_start, self.map_end, self.best_of)
        return self


class BatchRequest(BaseModel):
    """Up to MAX_BATCH stat lines, answered in order."""
    model_config = _INPUT

    requests: Annotated[list[PredictionRequest], Field(max_length=MAX_BATCH)]


class MatchRequest(BaseModel):
    """Two teams and the series format; team_a's side on map 1 if known (else averaged over both)."""
    model_config = _INPUT

    team_a: Text
    team_b: Text
    best_of: BestOf = Field(description="the series format decides the series probability")
    team_a_side: Literal["blue", "red"] | None = None
    league: Text | None = Field(None, description="default: team_a's latest")
    patch: Patch | None = Field(None, description="such as \"25.17\" (default: the league's latest)")
    playoffs: StrictBool | None = Field(None, description="default false")


class CurveQuery(BaseModel):
    """GET /predict/curve/{player_id}: the path's player and the query's parameters."""
    model_config = _QUERY

    player_id: Text = Field(description="the player's name")
    stat: Stat
    map_start: QueryMapNumber | None = Field(None, description="default 1")
    map_end: QueryMapNumber | None = Field(None, description=_MAP_END)
    best_of: QueryBestOf | None = Field(None, description="the series format (default 3, or 5 for maps past 3)")
    opponent: Annotated[str, Field(max_length=MAX_TEXT)] | None = Field(
        None, description="the opposing team (blank or left out: the league's average opponent)")

    @model_validator(mode="after")
    def _map_range(self) -> CurveQuery:
        self.map_start = self.map_start or 1
        self.map_end = self.map_end or self.map_start
        _check_maps(self.map_start, self.map_end, self.best_of)
        self.opponent = (self.opponent or "").strip(WHITESPACE) or None
        return self


class SearchQuery(BaseModel):
    """GET /players: the search text (empty: everyone) and how many to answer."""
    model_config = _QUERY

    q: Annotated[str, Field(max_length=MAX_TEXT)] = Field("", description="part of a name (empty: everyone)")
    limit: QueryLimit = Field(20, description="at most this many players")


# --- answers (documentation only) ------------------------------------------------------------------------

class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Prediction(_Answer):
    player: str | None
    team: str | None
    stat: Stat
    line: float
    maps: list[int] = Field(description="[map_start, map_end]")
    expected: float = Field(description="the expected total over the maps")
    p_over: float
    p_under: float
    pick: Literal["over", "under"]
    confidence: float
    interval: list[int] = Field(description="the 80% interval of the total")
    p_all_maps_played: float
    model_version: str
    snapshot_id: str
    sample_size: int = Field(description="the player's games on record")
    assumptions: dict = Field(description="what the request left out and what was assumed for it")
    reasoning: list[str]


class Refusal(_Answer):
    """An error: what is wrong, the field when one is to blame, the closest names for an unknown one."""
    error: str
    field: str | None = Field(None, description="the field to change, as in requests[3].best_of")
    suggestions: list[str] | None = Field(None, description="the closest known names")
    request_id: str | None = Field(None, description="on a 500: quote it when reporting the problem")


class NotFoundInBatch(_Answer):
    """An unknown player of a batch, answered in place."""
    error: str
    status: Literal[404]
    suggestions: list[str]


class Predictions(_Answer):
    predictions: list[Prediction | NotFoundInBatch] = Field(description="one per request, in order")


class CurvePoint(_Answer):
    line: float
    p_over: float


class Curve(_Answer):
    player: str | None
    stat: Stat
    maps: list[int]
    expected: float
    snapshot_id: str
    assumptions: dict
    model_version: str
    curve: list[CurvePoint] = Field(description="P(over) at every line, never increasing")


class MatchPrediction(_Answer):
    team_a: str | None
    team_b: str | None
    best_of: int
    p_team_a_map: float
    p_team_b_map: float
    p_team_a_series: float
    p_team_b_series: float
    elo: dict[str, float | None]
    roster_elo: dict[str, float | None] = Field(
        description="each team's roster Elo: the mean player rating of the lineup it fielded in its last game")
    assumptions: dict
    model_version: str
    snapshot_id: str


class ModelsStatus(_Answer):
    serving: dict[str, str] = Field(description="model (kills, …, win) -> the version served")
    snapshot_id: str | None
    snapshot_as_of: str | None
    snapshot_created_at: str | None
    redis: Literal["ok", "unreachable"]
    models: list[dict] = Field(description="the champion and candidate versions with their metrics")
    inference: Literal["lightgbm", "fil-cpu", "fil-gpu"] = Field(
        description="what evaluates the trees: LightGBM, or NVIDIA's nvForest on the CPU or the GPU")


class Players(_Answer):
    players: list[dict]


class Teams(_Answer):
    teams: list[dict]


class Tournaments(_Answer):
    tournaments: list


class Alive(_Answer):
    alive: Literal[True]


class Ready(_Answer):
    ready: Literal[True]
    snapshot_id: str
    worker: int = Field(description="the process id of the service worker that answered")

"""Request validation for the prediction API: precise messages that name the field (HTTP 422).

Every input is bounded here, in one place: a text field (a name, a patch, a search query, a path
parameter) holds at most MAX_TEXT characters, a body at most MAX_BODY_BYTES, a batch at most MAX_BATCH
requests; and a message repeats at most MAX_ECHO characters of what a client sent (`echo`), so that an
error answer stays small whatever the request was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from outscaled.features.schema import POSITIONS, STATS

MAX_BATCH = 1000
MAX_MAP = 5
MAX_LINE = 2000.0
MAX_TEXT = 100  # characters of any text field: player and team names, league, patch, query, path parameters
MAX_ECHO = 100  # characters of a client's input that an error message may repeat
# A full batch fits whatever its names: 1,000 requests with every text field at MAX_TEXT characters, each
# written as a 6-byte JSON escape (\u0001), are about 3.9 MB.
MAX_BODY_BYTES = 4 << 20
MAX_LIMIT = 1000  # players per search answer


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


BEST_OF = (1, 3, 5)
_PATCH = re.compile(r"^\d{1,2}\.\d{1,2}$")


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


def parse_text(value: Any, field: str, required: bool = False, what: str = "") -> str | None:
    """A text field, stripped: a non-empty string of at most MAX_TEXT characters (None: left out)."""
    if value is None:
        if required:
            raise RequestError(field, f"is required{what}")
        return None
    if not isinstance(value, str):
        raise RequestError(field, f"must be a string of at most {MAX_TEXT} characters")
    if len(value) > MAX_TEXT:
        raise RequestError(field, f"holds {len(value):,} characters; at most {MAX_TEXT}")
    if not value.strip():
        raise RequestError(field, f"must not be empty{what}")
    return value.strip()


def _text(body: dict, field: str, required: bool) -> str | None:
    return parse_text(body.get(field), field, required)


def _map_number(body: dict, field: str, default: int | None) -> int:
    value = body.get(field, default)
    if value is None:
        raise RequestError(field, "is required")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MAP:
        raise RequestError(field, f"must be a whole number from 1 to {MAX_MAP}")
    return value


def parse_line(value: Any, field: str = "line") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(field, "must be a number such as 4.5")
    if not 0 <= value <= MAX_LINE or (value * 2) % 2 != 1:
        raise RequestError(field, f"must be a half-point line between 0.5 and {MAX_LINE} (e.g. 4.5)")
    return float(value)


def parse_stat(value: Any) -> str:
    if value not in STATS:
        raise RequestError("stat", f"must be one of {', '.join(STATS)}")
    return value


def parse_single(body: Any) -> SingleRequest:
    if not isinstance(body, dict):
        raise RequestError("body", "must be a JSON object")
    _known_fields(body, FIELDS)
    start = _map_number(body, "map_start", 1)
    end = _map_number(body, "map_end", start)
    if end < start:
        raise RequestError("map_end", f"must be at least map_start ({start})")
    best_of = parse_best_of(body.get("best_of"))
    if best_of is not None and end > best_of:
        raise RequestError("map_end", f"map {end} is not played in a best-of-{best_of}")
    return SingleRequest(player=_text(body, "player", True), stat=parse_stat(body.get("stat")),
                         line=parse_line(body.get("line")), map_start=start, map_end=end,
                         opponent=_text(body, "opponent", False), tournament=_text(body, "tournament", False),
                         champion=_text(body, "champion", False), best_of=best_of,
                         league=_text(body, "league", False), team=_text(body, "team", False),
                         patch=_patch(body), playoffs=_flag(body, "playoffs"), position=_position(body))


FIELDS = {"player", "stat", "line", "map_start", "map_end", "opponent", "tournament", "champion", "best_of",
          "league", "team", "patch", "playoffs", "position"}


def _position(body: dict) -> str | None:
    value = body.get("position")
    if value is not None and value not in POSITIONS:
        raise RequestError("position", f"must be one of {', '.join(POSITIONS)}")
    return value


def parse_best_of(value: Any, field: str = "best_of") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or value not in BEST_OF:
        raise RequestError(field, "must be 1, 3 or 5")
    return int(value)


def _patch(body: dict) -> str | None:
    value = body.get("patch")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT or not _PATCH.match(value.strip()):
        raise RequestError("patch", "must be a patch such as \"25.17\"")
    major, minor = value.strip().split(".")
    return f"{int(major):02d}.{int(minor):02d}"


def _flag(body: dict, field: str) -> bool | None:
    value = body.get(field)
    if value is not None and not isinstance(value, bool):
        raise RequestError(field, "must be true or false")
    return value


def parse_batch(body: Any) -> list[SingleRequest]:
    items = body.get("requests") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise RequestError("requests", "must be a list of prediction requests")
    if len(items) > MAX_BATCH:
        raise RequestError("requests", f"holds {len(items)} requests; at most {MAX_BATCH} per batch")
    parsed = []
    for index, item in enumerate(items):
        try:
            parsed.append(parse_single(item))
        except RequestError as error:
            raise RequestError(f"requests[{index}].{error.field}", error.message) from error
    return parsed


def _known_fields(body: dict, known: set[str]) -> None:
    unknown = set(body) - known
    if unknown:
        raise RequestError(min(unknown), "is not a known field")


_WHOLE = re.compile(r"[0-9]{1,9}")  # ASCII digits only: str.isdigit() takes '²', which int() refuses


def parse_whole(raw: str | None, field: str, low: int, high: int, default: int) -> int:
    """A whole-number query parameter from `low` to `high` (`default` when left out)."""
    if raw is None:
        return default
    if not _WHOLE.fullmatch(raw) or not low <= int(raw) <= high:
        raise RequestError(field, f"must be a whole number from {low} to {high}")
    return int(raw)


@dataclass(frozen=True)
class CurveRequest:
    """GET /predict/curve/{player}: P(over) for every line of one player's stat over a map range."""
    player: str
    stat: str
    map_start: int
    map_end: int
    opponent: str | None
    best_of: int | None


def parse_curve(player: str, query: Mapping[str, str]) -> CurveRequest:
    """The path's player and the query's stat, map_start, map_end, best_of and opponent."""
    player = parse_text(player, "player_id", required=True)
    stat = parse_stat(query.get("stat"))
    start = parse_whole(query.get("map_start"), "map_start", 1, MAX_MAP, 1)
    end = parse_whole(query.get("map_end"), "map_end", 1, MAX_MAP, start)
    if end < start:
        raise RequestError("map_end", f"must be at least map_start ({start})")
    best_of = query.get("best_of")
    best_of = parse_best_of(int(best_of) if best_of is not None and _WHOLE.fullmatch(best_of) else best_of)
    opponent = query.get("opponent")
    opponent = parse_text(opponent, "opponent") if opponent and opponent.strip() else None
    return CurveRequest(player, stat, start, end, opponent, best_of)


@dataclass(frozen=True)
class MatchRequest:
    """POST /predict/match: the two teams, the series format and, if known, team_a's side on map 1."""
    team_a: str
    team_b: str
    best_of: int
    team_a_side: str | None = None


MATCH_FIELDS = {"team_a", "team_b", "best_of", "team_a_side"}


def parse_match(body: Any) -> MatchRequest:
    if not isinstance(body, dict):
        raise RequestError("body", "must be a JSON object")
    _known_fields(body, MATCH_FIELDS)
    team_a = parse_text(body.get("team_a"), "team_a", required=True, what=" (a team name)")
    team_b = parse_text(body.get("team_b"), "team_b", required=True, what=" (a team name)")
    if body.get("best_of") is None:
        raise RequestError("best_of", "is required (1, 3 or 5): the series format decides the series probability")
    best_of = parse_best_of(body["best_of"])
    side = body.get("team_a_side")
    if side not in (None, "blue", "red"):
        raise RequestError("team_a_side", "must be \"blue\" or \"red\" (team_a's side on map 1), or left out")
    return MatchRequest(team_a, team_b, best_of, side)


def parse_search(query: Mapping[str, str]) -> tuple[str, int]:
    """GET /players: the search text `q` (empty: everyone) and `limit`."""
    q = query.get("q") or ""
    if len(q) > MAX_TEXT:
        raise RequestError("q", f"holds {len(q):,} characters; at most {MAX_TEXT}")
    return q, parse_whole(query.get("limit"), "limit", 1, MAX_LIMIT, 20)

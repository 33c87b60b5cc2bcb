"""Request validation for the prediction API: precise messages that name the field (HTTP 422)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from outscaled.features.schema import POSITIONS, STATS

MAX_BATCH = 1000
MAX_MAP = 5
MAX_LINE = 2000.0


class RequestError(ValueError):
    """A bad field: `field` names it, the message says what is expected. Maps to HTTP 422."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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


def _text(body: dict, field: str, required: bool) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise RequestError(field, "is required")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise RequestError(field, "must be a non-empty string of at most 100 characters")
    return value.strip()


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
    unknown = set(body) - FIELDS
    if unknown:
        raise RequestError(sorted(unknown)[0], "is not a known field")
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
    if not isinstance(value, str) or not _PATCH.match(value.strip()):
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

"""Request validation for the prediction API: precise messages that name the field (HTTP 422)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outscaled.features.schema import STATS

MAX_BATCH = 1000
MAX_MAP = 5
MAX_LINE = 2000.0


class RequestError(ValueError):
    """A bad field: `field` names it, the message says what is expected. Maps to HTTP 422."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SingleRequest:
    player: str
    stat: str
    line: float
    map_start: int
    map_end: int
    opponent: str | None = None
    tournament: str | None = None
    champion: str | None = None


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
    unknown = set(body) - {"player", "stat", "line", "map_start", "map_end", "opponent", "tournament", "champion"}
    if unknown:
        raise RequestError(sorted(unknown)[0], "is not a known field")
    start = _map_number(body, "map_start", 1)
    end = _map_number(body, "map_end", start)
    if end < start:
        raise RequestError("map_end", f"must be at least map_start ({start})")
    return SingleRequest(player=_text(body, "player", True), stat=parse_stat(body.get("stat")),
                         line=parse_line(body.get("line")), map_start=start, map_end=end,
                         opponent=_text(body, "opponent", False), tournament=_text(body, "tournament", False),
                         champion=_text(body, "champion", False))


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

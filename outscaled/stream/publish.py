"""`outscaled publish`: a real file replayed as match-results events, one per game, in game-time order.

The events carry the file's own rows (as ingestion parses them), never invented ones; `speed` N waits the
real time between two games' starts divided by N (None: as fast as the stream takes them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outscaled.ingest.dates import DateOrder
from outscaled.ingest.events import encode, game_events, game_start
from outscaled.ingest.readers import file_checksum, read_source_file
from outscaled.stream.base import EventStream

CHUNK = 500


@dataclass
class PublishReport:
    events: int
    seconds: float
    first_game: str | None
    last_game: str | None


def file_events(path: Path, date_order: DateOrder | None = None, published_at: float | None = None
                ) -> list[dict[str, Any]]:
    parsed = read_source_file(path, file_checksum(path), date_order, path.name)
    if parsed.layout in ("reduced_player_kda", "drafts"):
        raise ValueError(f"{path.name}: a {parsed.layout} file has no whole games to publish "
                         "(publish a file of the full Oracle's Elixir layout or of team rows)")
    return game_events(parsed.rows, published_at)


def publish_events(stream: EventStream, events: list[dict[str, Any]], speed: float | None = None,
                   progress: Callable[[str], None] = lambda _: None) -> PublishReport:
    """Publish in order; each event's `published_at` is the moment it was handed to the stream."""
    started = time.perf_counter()
    pending: list[bytes] = []
    previous = None
    for number, event in enumerate(events, start=1):
        start = game_start(event)
        if speed and previous is not None and start is not None and start > previous:
            if pending:
                stream.publish(pending)
                pending = []
            time.sleep((start - previous).total_seconds() / speed)
        previous = start or previous
        pending.append(encode({**event, "published_at": time.time()}))
        if len(pending) >= CHUNK:
            stream.publish(pending)
            pending = []
            progress(f"published {number} of {len(events)} events")
    if pending:
        stream.publish(pending)
    return PublishReport(len(events), time.perf_counter() - started,
                         events[0]["game_start"] if events else None, events[-1]["game_start"] if events else None)


def split_last_day(path: Path, folder: Path) -> tuple[Path, Path, str] | None:
    """A CSV with ISO dates as two files of its own lines (unchanged): every game before its last day, and
    that day's games (for a demo that publishes them as new). None when its dates are not ISO."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [c.strip().lstrip("\ufeff") for c in lines[0].rstrip("\r\n").split(",")]
    game = next((header.index(n) for n in ("gameid", "game_id") if n in header), None)
    if game is None or "date" not in header:
        return None
    date = header.index("date")
    days = {line.split(",")[date][:10] for line in lines[1:] if line.strip()}
    if not days or not all(len(d) == 10 and d[4] == "-" and d[7] == "-" for d in days):
        return None
    last = max(days)
    held = {line.split(",")[game] for line in lines[1:] if line.split(",")[date][:10] == last}
    folder.mkdir(parents=True, exist_ok=True)
    before, day = folder / f"{path.stem}_before_{last}.csv", folder / f"{path.stem}_{last}.csv"
    before.write_text(lines[0] + "".join(l for l in lines[1:] if l.split(",")[game] not in held), encoding="utf-8")
    day.write_text(lines[0] + "".join(l for l in lines[1:] if l.split(",")[game] in held), encoding="utf-8")
    return before, day, last

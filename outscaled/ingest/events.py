"""Finished-game events as bronze rows: the `match-results` event format, written and read.

An event is one finished game: its player and team rows in the bronze (canonical) vocabulary, an event id
and the moment it was published. The consumer lands each micro-batch unchanged as a JSON-lines file (one
event a line) in the landing area; this module reads such a file into the same parsed rows as any other
layout, so validation, quarantine and de-duplication are the file ingestion's own. A line that is not an
event (bad JSON, no rows, a non-ISO date) becomes a row with its problem, and validation quarantines it:
a poison event never stops the stream.
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from outscaled.lakehouse.columns import CANONICAL_ORDER

EVENT_LAYOUT = "match_results_events"
EVENT_SUFFIX = ".jsonl"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?Z?)?$"
_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def game_events(rows: pl.DataFrame, published_at: float | None = None) -> list[dict[str, Any]]:
    """One event per game of `rows` (parsed bronze rows), in game-time order (date, then game id); each
    row keeps its non-null canonical values and the problems found reading it (`row_errors`)."""
    if rows.is_empty():
        return []
    ordered = rows.sort(["date", "game_id", "source_line"], nulls_last=True)
    events: list[dict[str, Any]] = []
    for (game_id,), game in ordered.group_by("game_id", maintain_order=True):
        event_rows = [_row_value(row) for row in game.iter_rows(named=True)]
        body = orjson.dumps(event_rows, option=orjson.OPT_SORT_KEYS)
        start = game["date"].min()
        events.append({"event_id": f"{game_id}:{hashlib.sha256(body).hexdigest()[:16]}", "game_id": game_id,
                       "game_start": start.strftime(_DATE_FORMAT) if start else None,
                       "published_at": published_at, "rows": event_rows})
    return events


def _row_value(row: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for column in CANONICAL_ORDER:
        item = row.get(column)
        if item is None:
            continue
        value[column] = item.strftime(_DATE_FORMAT) if isinstance(item, datetime) else item
    if row.get("row_errors"):
        value["row_errors"] = row["row_errors"]
    return value


def encode(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def read_event_lines(path: Path, name: str) -> pl.DataFrame:
    """The rows of an events file: every canonical column (as text, or typed where the JSON value was a
    number or an ISO timestamp), `source_line` (the row's position in the file, from 1), `event` (which
    event of the file, from 0, the row came in) and `event_errors` (what is wrong with the event or the row,
    "" when nothing)."""
    data = path.read_bytes()
    frame = _columnar_events(data)
    if frame is None:  # something unusual somewhere: read line by line, naming each problem
        frame = _events_line_by_line(data)
    if frame.schema["date"] == pl.String:
        not_iso = pl.col("date").is_not_null() & ~pl.col("date").str.contains(ISO_DATE)
        frame = frame.with_columns(
            pl.concat_str([pl.when(pl.col("event_errors") != "").then(pl.col("event_errors")),
                           pl.when(not_iso).then(pl.format("date='{}' is not an ISO date (YYYY-MM-DD HH:MM:SS)",
                                                           pl.col("date")))],
                          separator="; ", ignore_nulls=True).fill_null("").alias("event_errors"),
            pl.when(not_iso).then(None).otherwise(pl.col("date")).alias("date"))
    return frame.with_row_index("source_line", offset=1).with_columns(pl.col("source_line").cast(pl.Int64))


_JSON_BLOCK = 4 << 20  # bytes per parsing block: 1 MB (the default) splits a batch too finely, 16 MB too coarsely
_PLAIN_TYPES = (pa.string(), pa.large_string(), pa.int64(), pa.float64(), pa.null())


def _columnar_events(data: bytes) -> pl.DataFrame | None:
    """The usual batch read at Arrow's speed: every line an event whose rows are objects holding only
    canonical columns of plain JSON types (dates as ISO timestamps or text). None when anything is unusual,
    for the line-by-line reader to name."""
    try:
        table = pa_json.read_json(io.BytesIO(data), read_options=pa_json.ReadOptions(block_size=_JSON_BLOCK))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if "rows" not in table.column_names:
        return None
    rows = table.column("rows")
    if not pa.types.is_list(rows.type) or not pa.types.is_struct(rows.type.value_type) or rows.null_count:
        return None
    fields = {f.name: f.type for f in rows.type.value_type}
    if set(fields) - set(CANONICAL_ORDER) - {"row_errors"}:
        return None
    for column, dtype in fields.items():
        if dtype not in _PLAIN_TYPES and not (column == "date" and pa.types.is_timestamp(dtype)):
            return None
    if fields.get("row_errors", pa.null()) not in (pa.string(), pa.large_string(), pa.null()):
        return None
    if pc.min(pc.list_value_length(rows)).as_py() in (None, 0):
        return None
    flat = pc.list_flatten(rows)
    if flat.null_count:
        return None
    frame = pl.from_arrow(pa.Table.from_struct_array(flat))
    typed = {pl.Int64, pl.Float64}
    schema = frame.schema  # built anew on every access: once
    return frame.select(
        *[(pl.col(c) if schema[c] in typed else pl.col(c).cast(pl.Datetime("us")) if c == "date"
           and schema[c] != pl.String and schema[c] != pl.Null else pl.col(c).cast(pl.String))
          if c in schema else pl.lit(None, pl.String).alias(c) for c in CANONICAL_ORDER],
        pl.Series("event", pc.list_parent_indices(rows).to_numpy(), dtype=pl.Int64),
        (pl.col("row_errors").fill_null("") if "row_errors" in schema else pl.lit("")).alias("event_errors"))


def _events_line_by_line(data: bytes) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    event_of_row: list[int] = []
    lines = [(number, line) for number, line in enumerate(data.splitlines(), start=1) if line.strip()]
    for event, (number, line) in enumerate(lines):
        for row, problem in _event_rows(line, number):
            rows.append(row)
            problems.append(problem)
            event_of_row.append(event)
    return _as_strings(rows).with_columns(pl.Series("event", event_of_row, dtype=pl.Int64),
                                          pl.Series("event_errors", problems, dtype=pl.String))


def _as_strings(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Every canonical column as strings (typed later as any file's): polars reads the rows' own types and
    casts (a column whose values mix types is converted value by value, the slow way)."""
    string = {c: pl.String for c in CANONICAL_ORDER}
    if not rows:
        return pl.DataFrame(schema=string)
    try:
        typed = pl.from_dicts(rows, infer_schema_length=None)
        if any(dtype not in (pl.String, pl.Int64, pl.Float64, pl.Null) for dtype in typed.dtypes):
            raise TypeError("nested or boolean values")
    except (TypeError, pl.exceptions.PolarsError):
        return pl.DataFrame([{c: _text(row.get(c)) for c in CANONICAL_ORDER} for row in rows], schema=string)
    present = set(typed.columns)
    return typed.select([pl.col(c).cast(pl.String) if c in present else pl.lit(None, pl.String).alias(c)
                         for c in CANONICAL_ORDER])


def _event_rows(line: bytes, number: int) -> list[tuple[dict[str, Any], str]]:
    where = f"event on line {number}"
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return [({}, f"{where} is not valid JSON ({error})")]
    if not isinstance(event, dict):
        return [({}, f"{where} is not a JSON object")]
    rows = event.get("rows")
    game = {"game_id": event.get("game_id")} if isinstance(event.get("game_id"), str) else {}
    if not isinstance(rows, list) or not rows:
        return [(game, f"{where} ({event.get('event_id')}) has no rows")]
    result = []
    for row in rows:
        if not isinstance(row, dict):
            result.append((game, f"{where} ({event.get('event_id')}): a row is not a JSON object"))
            continue
        unknown = sorted(set(row) - set(CANONICAL_ORDER) - {"row_errors"})
        problems = [str(row["row_errors"])] if row.get("row_errors") else []
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown[:5])}")
        result.append((row, "; ".join(problems)))
    return result


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def game_start(event: dict[str, Any]) -> datetime | None:
    text = event.get("game_start")
    return datetime.strptime(text, _DATE_FORMAT) if text else None


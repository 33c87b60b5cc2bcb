"""Scale the real data by re-keying real games: N copies of every data file, never an invented statistic.

Run: .venv/bin/python benchmarks/scaled_data.py --factor N --out DIR [--data ../shared/data]

`DIR/copy-000/` holds the original files, byte for byte; `DIR/copy-00k/` (k = 1 .. N-1) holds the same
files, same folder structure, format, column layout and quirks (BOM, CRLF, date text format, index column,
snake_case headers, Parquet schema), with only three kinds of value changed:

- **game ids** (`gameid`, `game_id`): `G` becomes `G~k`;
- **player and team identifiers** (`playername`/`player`, `playerid`, `teamname`/`team`, `teamid`, and the
  reduced team games' `opponent`): `X` becomes `X~k`, the suffix placed before any trailing blanks so that
  the platform's normalised keys (`lower(trim(name))`) of copy k are the original keys plus `~k`;
- **dates** (`date`): shifted by k × `DAYS_PER_COPY` days (1 day: copy k of a game is played k days after
  the real one), written in the text format of the value it replaces (ISO, `DD/MM/YYYY H:MM`, `M/D/YYYY
  H:MM` with its trailing blanks; a Parquet timestamp stays a timestamp). The time of day is unchanged.

Which column is which is decided by the platform's own header mapping (`outscaled.ingest.columns`), so the
old team-row layout's `playerid` (a participant id, 100/200) is left alone, as it is not an identifier.
Every other column (statistics, leagues, splits, patches, years, urls, the index column) is copied as it
is. Empty values, null markers (`NA`, ...) and placeholders (`unknown player`, `unknown team`) stay as they
are: the platform keys placeholders per game, and the game id is re-keyed. The re-keying is a pure function
of (value, k), so within a copy every file agrees: a game that appears in two files is still one game, a
player in two files is still one player, and the reduced player K/D/A rows still find their team rows.
Copies are disjoint because no real identifier contains `~` (checked; a file where one does is refused).

The scaled data is denser, not longer: copy k spans the same seasons, k days later, so the time span grows
by N-1 days while the games per month grow N-fold (as if N times the teams played in the same leagues).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from outscaled.ingest.columns import canonical_name, is_old_layout, squash
from outscaled.ingest.dates import AmbiguousDateOrder, DateOrder, detect_date_order
from outscaled.ingest.landing import SUPPORTED_SUFFIXES
from outscaled.ingest.readers import NULL_MARKERS

DEFAULT_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
DAYS_PER_COPY = 1
SUFFIX = "~"
GAME, NAME, DATE = "game", "name", "date"
# Canonical bronze columns (outscaled.lakehouse.columns) whose values are re-keyed or shifted.
COLUMN_KINDS: dict[str, str] = {"game_id": GAME, "player_name": NAME, "player_id": NAME, "team_name": NAME,
                                "team_id": NAME, "date": DATE}
# Source columns the bronze mapping does not keep but that name a team (the reduced team games' opponent).
EXTRA_NAME_COLUMNS = {"opponent"}
# Names the transforms key per game rather than as a person or a team (transforms/macros/engine.sql).
PLACEHOLDERS = {"unknown player", "unknown team", "unknown"}

_ISO_DATE = re.compile(r"^(\s*)(\d{4})-(\d{1,2})-(\d{1,2})(.*)$", re.S)
_SLASHED_DATE = re.compile(r"^(\s*)(\d{1,2})/(\d{1,2})/(\d{4})(.*)$", re.S)


class UnsupportedFileError(ValueError):
    """A file the generator cannot copy faithfully (quoted CSV fields, or identifiers that contain `~`)."""


@dataclass(frozen=True)
class ScaledData:
    out: Path
    factor: int
    files: int  # data files written, all copies together
    bytes_written: int
    seconds: float


def copy_folder(out: Path, copy: int) -> Path:
    """Where copy `copy` of the data lives under `out`."""
    return out / f"copy-{copy:03d}"


def date_shift_days(copy: int, days_per_copy: int = DAYS_PER_COPY) -> int:
    """How many days the dates of copy `copy` are moved forward."""
    return copy * days_per_copy


def _keeps_value(text: str) -> bool:
    stripped = text.strip()
    return not stripped or stripped.upper() in NULL_MARKERS or stripped.lower() in PLACEHOLDERS


def rekeyed(value: str, copy: int) -> str:
    """`value` as an identifier of copy `copy` (game id, player or team name or id).

    Copy 0, empty values, null markers and placeholders are returned unchanged; otherwise the suffix goes
    before any trailing blanks, so the trimmed, lower-cased key is the original key plus `~copy`.
    """
    if copy == 0 or _keeps_value(value):
        return value
    if SUFFIX in value:
        raise UnsupportedFileError(f"identifier {value!r} already contains {SUFFIX!r}: copies would not be disjoint")
    body = value.rstrip()
    return f"{body}{SUFFIX}{copy}{value[len(body):]}"


def shifted_date_text(value: str, days: int, order: DateOrder | None, padded: tuple[bool, bool] = (True, True)
                      ) -> str:
    """`value` moved `days` days, written as it was: ISO (`2024-01-17 08:20:00`, `2022-01-14T16:19:00Z`) or
    slashed in `order` (`17/01/2024 8:20`, `9/29/2016 22:28 `); `padded` says whether the first and second
    slashed parts carry a leading zero below 10. Text that is not a date is returned unchanged."""
    if days == 0:
        return value
    if match := _ISO_DATE.match(value):
        lead, year, month, day, rest = match.groups()
        moved = date(int(year), int(month), int(day)) + timedelta(days=days)
        return f"{lead}{moved.year:04d}-{moved.month:0{len(month)}d}-{moved.day:0{len(day)}d}{rest}"
    if order is not None and (match := _SLASHED_DATE.match(value)):
        lead, first, second, year, rest = match.groups()
        day, month = (first, second) if order == "dmy" else (second, first)
        moved = date(int(year), int(month), int(day)) + timedelta(days=days)
        parts = (moved.day, moved.month) if order == "dmy" else (moved.month, moved.day)
        first_text, second_text = (f"{part:02d}" if pad else str(part) for part, pad in zip(parts, padded))
        return f"{lead}{first_text}/{second_text}/{moved.year:04d}{rest}"
    return value


def _slashed_style(values: list[str], name: str) -> tuple[DateOrder | None, tuple[bool, bool]]:
    """The day/month order (the platform's own detection) and zero padding of a file's slashed dates."""
    series = pl.Series(values, dtype=pl.String)
    try:
        order = detect_date_order(series)
    except AmbiguousDateOrder as error:
        raise UnsupportedFileError(f"{name}: cannot tell the day/month order of its dates ({error})") from error
    parts = [m.groups()[1:3] for v in values if (m := _SLASHED_DATE.match(v))]
    padded = (any(p[0].startswith("0") for p in parts), any(p[1].startswith("0") for p in parts))
    return order, padded


def _date_mapping(values: set[str], days: int, name: str) -> dict[str, str]:
    order, padded = _slashed_style(sorted(values), name)
    mapping = {v: shifted_date_text(v, days, order, padded) for v in values}
    if order is not None and days:  # the copy must read the way the original does, with no configuration
        try:
            moved = detect_date_order(pl.Series(list(mapping.values()), dtype=pl.String))
        except AmbiguousDateOrder:
            moved = None
        if moved != order:
            raise UnsupportedFileError(f"{name}: shifted by {days} days its dates no longer read as {order}")
    return mapping


def _mapping(kind: str, values: set[str], copy: int, days_per_copy: int, name: str) -> dict[str, str]:
    if kind == DATE:
        return _date_mapping(values, date_shift_days(copy, days_per_copy), name)
    return {v: rekeyed(v, copy) for v in values}


def column_kinds(headers: list[str]) -> dict[int, str]:
    """Position → kind (game, name, date) of every column of a file header that the copies change."""
    cleaned = [h.lstrip("\ufeff").strip() for h in headers]
    old_layout = is_old_layout(cleaned)
    kinds = {}
    for position, header in enumerate(cleaned):
        kind = COLUMN_KINDS.get(canonical_name(header, old_layout) or "")
        if kind is None and squash(header) in EXTRA_NAME_COLUMNS:
            kind = NAME
        if kind:
            kinds[position] = kind
    return kinds


# --- CSV: split on commas and join again, so every unchanged field keeps its bytes -------------------

def _scale_csv(source: Path, targets: dict[int, Path], days_per_copy: int) -> int:
    raw = source.read_bytes()
    if b'"' in raw:
        raise UnsupportedFileError(f"{source.name}: quoted CSV fields are not supported (fields are split on commas)")
    lines = raw.decode("utf-8").split("\n")
    header, body = lines[0], lines[1:]
    endings = [line[-1:] if line.endswith("\r") else "" for line in body]
    rows = [(line[:-1] if ending else line).split(",") for line, ending in zip(body, endings)]
    kinds = column_kinds(header.rstrip("\r").split(","))
    values = {p: {row[p] for row in rows if len(row) > p} for p in kinds}
    written = 0
    for copy, target in targets.items():
        maps = {p: _mapping(kind, values[p], copy, days_per_copy, source.name) for p, kind in kinds.items()}
        out = [header]
        for row, ending in zip(rows, endings):
            fields = row[:]
            for position, mapping in maps.items():
                if position < len(fields):
                    fields[position] = mapping[fields[position]]
            out.append(",".join(fields) + ending)
        data = "\n".join(out).encode("utf-8")
        target.write_bytes(data)
        written += len(data)
    return written


# --- Parquet: replace the changed columns, keep the schema (types, pandas metadata) and compression ---

def _scale_parquet(source: Path, targets: dict[int, Path], days_per_copy: int) -> int:
    table = pq.read_table(source)
    metadata = pq.ParquetFile(source).metadata
    compression = metadata.row_group(0).column(0).compression.lower() if metadata.num_row_groups else "snappy"
    kinds = column_kinds(table.column_names)
    written = 0
    for copy, target in targets.items():
        result = table
        for position, kind in kinds.items():
            column = pl.from_arrow(table.column(position))
            field = table.schema.field(position)
            if kind == DATE and column.dtype != pl.String:
                changed = column + timedelta(days=date_shift_days(copy, days_per_copy))
            else:
                values = set(column.drop_nulls().unique().to_list())
                mapping = _mapping(kind, values, copy, days_per_copy, source.name)
                changed = column.replace(mapping)
            result = result.set_column(position, field, changed.to_arrow().cast(field.type))
        pq.write_table(result.replace_schema_metadata(table.schema.metadata), target, compression=compression)
        written += target.stat().st_size
    return written


WRITERS: dict[str, Callable[[Path, dict[int, Path], int], int]] = {".csv": _scale_csv, ".parquet": _scale_parquet}


def data_files(data: Path) -> list[Path]:
    """The files the platform would ingest from `data` (outscaled.ingest.landing), sorted."""
    return sorted(p for p in data.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)


def write_scaled_data(data: Path, out: Path, factor: int, days_per_copy: int = DAYS_PER_COPY,
                      progress: Callable[[str], None] = lambda _: None) -> ScaledData:
    """Write `factor` copies of every data file under `data` into `out/copy-000` .. (see the module doc).

    `out` must be empty or absent. Files are streamed one at a time (all copies of a file, then the next).
    """
    if factor < 1:
        raise ValueError(f"factor must be 1 or more, got {factor}")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: not empty; the copies go into a folder of their own")
    started = time.perf_counter()
    files, written = data_files(data), 0
    for source in files:
        relative = source.relative_to(data)
        targets = {copy: copy_folder(out, copy) / relative for copy in range(factor)}
        for target in targets.values():
            target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, targets.pop(0))
        written += source.stat().st_size
        written += WRITERS[source.suffix.lower()](source, targets, days_per_copy)
        progress(f"{relative}: {factor} copies")
    if (data / "README.md").is_file():  # the credit travels with the data (the platform ignores .md files)
        shutil.copyfile(data / "README.md", out / "README.md")
    return ScaledData(out=out, factor=factor, files=len(files) * factor, bytes_written=written,
                      seconds=time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factor", type=int, required=True, help="copies of the data (1 = the original only)")
    parser.add_argument("--out", type=Path, required=True, help="empty or new folder for copy-000 .. copy-N-1")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"the real data (default {DEFAULT_DATA})")
    parser.add_argument("--days-per-copy", type=int, default=DAYS_PER_COPY, help="date shift of copy k: k × this")
    args = parser.parse_args(argv)
    result = write_scaled_data(args.data, args.out, args.factor, args.days_per_copy,
                               progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"{result.files} files, {result.bytes_written / 2**20:,.1f} MB in {result.out} "
          f"({result.factor}x, {result.seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

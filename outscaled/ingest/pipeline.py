"""Ingest files into bronze: land → parse every file → validate → merge → record, all or nothing.

Every file of a run is parsed before anything is committed, so a file that cannot be parsed fails the
run and commits nothing. Tables are committed one by one (Iceberg commits are per table) with the
ledger `bronze.source_files` last: a run interrupted half-way leaves its files unrecorded, and
re-running it converges to the same tables because the merge rule is order-independent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
from pyiceberg.catalog import Catalog

from outscaled.ingest.columns import TEAM_POSITION
from outscaled.ingest.dates import DateOrder
from outscaled.ingest.landing import LandedFile, expand_inputs, land, landed_files
from outscaled.ingest.merge import MergeResult, merge_games
from outscaled.ingest.readers import ParsedFile, UnreadableFileError, read_source_file
from outscaled.ingest.reduced import attach_game_context
from outscaled.ingest.validate import split_valid
from outscaled.lakehouse.columns import DRAFT_COLUMNS
from outscaled.lakehouse.tables import (
    DRAFTS, PLAYER_GAMES, QUARANTINE, SOURCE_FILES, TEAM_GAMES, ensure_table, read_table, to_arrow,
)

Progress = Callable[[str], None]


class IngestError(RuntimeError):
    """One or more files could not be parsed; nothing was committed."""


@dataclass
class IngestReport:
    load_id: str
    files_ingested: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)  # already ingested (same checksum)
    rows_read: int = 0
    quarantined_rows: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    merges: dict[str, MergeResult] = field(default_factory=dict)
    seconds: float = 0.0


def ingest_paths(catalog: Catalog, landing_dir: Path, paths: list[Path], load_id: str,
                 date_orders: dict[str, DateOrder] | None = None, progress: Progress = lambda _: None
                 ) -> IngestReport:
    """Land `paths` (files or folders) and ingest those not ingested before."""
    landed = land(expand_inputs(paths), landing_dir)
    progress(f"landed {len(landed)} file(s) in {landing_dir}")
    return ingest_landed(catalog, landed, load_id, date_orders, progress)


def ingest_pending(catalog: Catalog, landing_dir: Path, load_id: str,
                   date_orders: dict[str, DateOrder] | None = None, progress: Progress = lambda _: None
                   ) -> IngestReport:
    """Ingest everything in the landing area that the ledger has not recorded yet."""
    return ingest_landed(catalog, landed_files(landing_dir), load_id, date_orders, progress)


def ingest_landed(catalog: Catalog, landed: list[LandedFile], load_id: str,
                  date_orders: dict[str, DateOrder] | None = None, progress: Progress = lambda _: None
                  ) -> IngestReport:
    started = time.perf_counter()
    tables = {d.identifier: ensure_table(catalog, d) for d in (PLAYER_GAMES, TEAM_GAMES, DRAFTS, QUARANTINE, SOURCE_FILES)}
    report = IngestReport(load_id=load_id)
    known = set(read_table(tables[SOURCE_FILES.identifier], ("source_checksum",))["source_checksum"].to_list())
    todo: dict[str, LandedFile] = {}
    for item in landed:
        if item.checksum in known or item.checksum in todo:
            report.files_skipped.append(item.name)
        else:
            todo[item.checksum] = item
    if not todo:
        report.seconds = time.perf_counter() - started
        return report

    parsed = _parse_all(list(todo.values()), date_orders or {}, progress)
    parsed = _attach_reduced_context(parsed, tables[TEAM_GAMES.identifier])

    valid_parts, quarantine_parts, ledger = [], [], []
    for item, result in parsed:
        valid, quarantined = split_valid(result.rows)
        audit = [pl.lit(item.name).alias("source_file"), pl.lit(item.checksum).alias("source_checksum"),
                 pl.lit(load_id).alias("load_id")]
        valid_parts.append(valid.with_columns(audit))
        quarantine_parts.append(quarantined.with_columns(audit))
        report.rows_read += result.rows.height + (0 if result.drafts is None else result.drafts.height)
        report.quarantined_rows += quarantined.height
        progress(f"{item.name}: {result.layout}, {result.rows.height} rows, {quarantined.height} quarantined")
        ledger.append((item, result, valid, quarantined))

    valid_rows = pl.concat(valid_parts, how="vertical_relaxed")
    is_team = pl.col("position") == TEAM_POSITION
    report.merges["player_games"] = merge_games(tables[PLAYER_GAMES.identifier], PLAYER_GAMES, valid_rows.filter(~is_team))
    report.merges["team_games"] = merge_games(tables[TEAM_GAMES.identifier], TEAM_GAMES, valid_rows.filter(is_team))
    drafts = [r.drafts.with_columns(pl.lit(i.name).alias("source_file"), pl.lit(i.checksum).alias("source_checksum"),
                                    pl.lit(load_id).alias("load_id"))
              for i, r in parsed if r.drafts is not None]
    if drafts:
        report.merges["drafts"] = merge_games(tables[DRAFTS.identifier], DRAFTS, pl.concat(drafts),
                                              value_columns=DRAFT_COLUMNS)
    quarantine = pl.concat(quarantine_parts, how="vertical_relaxed")
    if not quarantine.is_empty():
        tables[QUARANTINE.identifier].append(to_arrow(quarantine, QUARANTINE, tables[QUARANTINE.identifier]))
        for reason in quarantine["reason"].to_list():
            for part in reason.split("; "):
                key = re.sub(r"'[^']*'|-?\d+", "N", part)
                report.quarantine_reasons[key] = report.quarantine_reasons.get(key, 0) + 1
    _record_files(tables[SOURCE_FILES.identifier], ledger, load_id)
    report.files_ingested = [item.name for item, _ in parsed]
    report.seconds = time.perf_counter() - started
    return report


def _parse_all(items: list[LandedFile], date_orders: dict[str, DateOrder], progress: Progress
               ) -> list[tuple[LandedFile, ParsedFile]]:
    parsed, problems = [], []
    for item in items:
        try:
            parsed.append((item, read_source_file(item.path, item.checksum, date_orders.get(item.name), item.name)))
        except UnreadableFileError as error:
            problems.append(_what_to_do(error, item))
        progress(f"parsed {item.name}")
    if problems:  # the problems come last, one a line: the line a person reads first at a terminal
        raise IngestError("nothing was committed:\n" + "\n".join(problems))
    return parsed


def _attach_reduced_context(parsed: list[tuple[LandedFile, ParsedFile]], team_games) -> list[tuple[LandedFile, ParsedFile]]:
    needing = [p for p in parsed if p[1].layout == "reduced_player_kda"]
    if not needing:
        return parsed
    batch_team_rows = [r.rows.filter(pl.col("position") == TEAM_POSITION) for _, r in parsed
                       if r.layout != "reduced_player_kda"]
    stored = read_table(team_games, ("game_id", "team_name", "date", "league", "year", "split", "playoffs",
                                     "patch", "game", "game_length", "result"))
    context = pl.concat([*(t.select(stored.columns) for t in batch_team_rows), stored], how="vertical_relaxed")
    problems, result = [], []
    for item, file in parsed:
        if file.layout == "reduced_player_kda":
            try:
                file = ParsedFile(file.path, file.checksum, file.layout, attach_game_context(file.rows, context, item.name))
            except UnreadableFileError as error:
                problems.append(_what_to_do(error, item))
        result.append((item, file))
    if problems:
        raise IngestError("nothing was committed:\n" + "\n".join(problems))
    return result


def _what_to_do(error: UnreadableFileError, item: LandedFile) -> str:
    return f"{error} — fix or remove the file; the raw copy is kept in {item.path}"


def _record_files(table, ledger, load_id: str) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for item, result, valid, quarantined in ledger:
        is_team = valid["position"] == TEAM_POSITION if not valid.is_empty() else pl.Series([], dtype=pl.Boolean)
        rows.append({
            "source_checksum": item.checksum, "source_file": item.name, "landed_path": str(item.path),
            "layout": result.layout, "load_id": load_id, "loaded_at": now,
            "rows_read": result.rows.height + (0 if result.drafts is None else result.drafts.height),
            "player_rows_written": int((~is_team).sum()), "team_rows_written": int(is_team.sum()),
            "draft_rows_written": 0 if result.drafts is None else result.drafts.height,
            "quarantined_rows": quarantined.height,
        })
    table.append(to_arrow(pl.DataFrame(rows), SOURCE_FILES, table))

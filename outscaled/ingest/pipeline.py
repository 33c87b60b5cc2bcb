"""Ingest files into bronze: land → parse every file → validate → merge → record, all or nothing.

Every file of a run is parsed before anything is committed, so a file that cannot be parsed fails the
run and commits nothing. Tables are committed one by one (Iceberg commits are per table), between a
`started` and a `complete` row of the load log (`outscaled.lakehouse.loads`): readers read the tables as
the newest complete load left them, so a run killed at any commit boundary is invisible to them, and the
next run resumes its files first. Every write is idempotent (games merged by the order-independent rule,
quarantine rows by (file checksum, line), the ledger by checksum), so the tables converge.
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
from pyiceberg.table import Table

from outscaled.ingest.columns import TEAM_POSITION
from outscaled.ingest.dates import DateOrder
from outscaled.ingest.landing import LandedFile, expand_inputs, land, landed_files
from outscaled.ingest.merge import MergeResult, append_missing, merge_games, one_copy_per_game
from outscaled.ingest.readers import EmptyFileError, ParsedFile, UnreadableFileError, empty_rows, read_source_file
from outscaled.ingest.reduced import attach_game_context
from outscaled.ingest.validate import split_valid
from outscaled.lakehouse.columns import DRAFT_COLUMNS
from outscaled.lakehouse.faults import commit_boundary
from outscaled.lakehouse.loads import (
    LOADED_TABLES, PendingFile, newest_cut, reader_snapshot, record_complete, record_started, unfinished_files,
)
from outscaled.lakehouse.snapshot_reads import read_at
from outscaled.lakehouse.tables import (
    DRAFTS, LOADS, PLAYER_GAMES, QUARANTINE, SOURCE_FILES, TEAM_GAMES, ensure_table, rows_of_games,
)

Progress = Callable[[str], None]


class IngestError(RuntimeError):
    """One or more files could not be parsed; nothing was committed."""


@dataclass
class IngestReport:
    load_id: str
    files_ingested: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)  # already ingested (same checksum)
    files_resumed: list[str] = field(default_factory=list)  # of an earlier load that never completed
    warnings: list[str] = field(default_factory=list)
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
    tables = ensure_bronze_tables(catalog)
    _adopt_tables_written_before_the_load_log(catalog)
    report = IngestReport(load_id=load_id)
    date_orders = dict(date_orders or {})
    ingested = _ingested_checksums(catalog, tables[SOURCE_FILES.identifier])
    todo: dict[str, LandedFile] = {}
    for pending in unfinished_files(catalog, ingested):
        todo[pending.checksum] = LandedFile(pending.name, pending.checksum, Path(pending.path))
        if pending.date_order:
            date_orders.setdefault(pending.name, pending.date_order)
        report.files_resumed.append(pending.name)
        progress(f"{pending.name}: resuming a load that was interrupted before it completed")
    for item in landed:
        if item.checksum in todo:
            continue
        if item.checksum in ingested:
            report.files_skipped.append(item.name)
        else:
            todo[item.checksum] = item
    if not todo:
        report.seconds = time.perf_counter() - started
        return report

    parsed = _parse_all(list(todo.values()), date_orders, progress)
    parsed = _attach_reduced_context(parsed, tables[TEAM_GAMES.identifier])
    parsed = _without_empty_files(parsed, report, progress)
    if not parsed:
        report.seconds = time.perf_counter() - started
        return report
    record_started(catalog, load_id, [PendingFile(item.checksum, item.name, str(item.path), date_orders.get(item.name))
                                      for item, _ in parsed])

    valid_parts, quarantine_parts, ledger = [], [], []
    for item, result in parsed:
        valid, quarantined = split_valid(result.rows)
        valid = one_copy_per_game(valid)
        audit = [pl.lit(item.name).alias("source_file"), pl.lit(item.checksum).alias("source_checksum"),
                 pl.lit(load_id).alias("load_id")]
        valid_parts.append(valid.with_columns(audit))
        quarantine_parts.append(quarantined.with_columns(audit))
        report.rows_read += result.rows.height + (0 if result.drafts is None else result.drafts.height)
        report.quarantined_rows += quarantined.height
        progress(f"{item.name}: {result.layout}, {result.rows.height} rows, {quarantined.height} quarantined")
        ledger.append((item, result, valid, quarantined))

    # One commit per table, in LOADED_TABLES order; readers keep seeing the previous cut until the last.
    valid_rows = pl.concat(valid_parts, how="vertical_relaxed")
    is_team = pl.col("position") == TEAM_POSITION
    report.merges["player_games"] = merge_games(tables[PLAYER_GAMES.identifier], PLAYER_GAMES, valid_rows.filter(~is_team))
    commit_boundary(PLAYER_GAMES.identifier)
    report.merges["team_games"] = merge_games(tables[TEAM_GAMES.identifier], TEAM_GAMES, valid_rows.filter(is_team))
    commit_boundary(TEAM_GAMES.identifier)
    drafts = [r.drafts.with_columns(pl.lit(i.name).alias("source_file"), pl.lit(i.checksum).alias("source_checksum"),
                                    pl.lit(load_id).alias("load_id"))
              for i, r in parsed if r.drafts is not None]
    if drafts:
        report.merges["drafts"] = merge_games(tables[DRAFTS.identifier], DRAFTS, pl.concat(drafts),
                                              value_columns=DRAFT_COLUMNS)
    commit_boundary(DRAFTS.identifier)
    quarantine = pl.concat(quarantine_parts, how="vertical_relaxed")
    append_missing(tables[QUARANTINE.identifier], QUARANTINE, quarantine, ["source_checksum", "source_line"])
    for reason in quarantine["reason"].to_list():
        for part in reason.split("; "):
            key = re.sub(r"'[^']*'|-?\d+", "N", part)
            report.quarantine_reasons[key] = report.quarantine_reasons.get(key, 0) + 1
    commit_boundary(QUARANTINE.identifier)
    append_missing(tables[SOURCE_FILES.identifier], SOURCE_FILES, _ledger_rows(ledger, load_id), ["source_checksum"])
    commit_boundary(SOURCE_FILES.identifier)
    record_complete(catalog, load_id)
    report.files_ingested = [item.name for item, _ in parsed]
    report.seconds = time.perf_counter() - started
    return report


def _ingested_checksums(catalog: Catalog, ledger: Table) -> set[str]:
    """The files the ledger holds as readers see it (read again only where it grew since the last load)."""
    _, snapshot_id = reader_snapshot(catalog, SOURCE_FILES.identifier)
    if snapshot_id is None:
        return set()
    return set(read_at(ledger, snapshot_id, ("source_checksum",))[0]["source_checksum"].to_list())


def ensure_bronze_tables(catalog: Catalog) -> dict[str, Table]:
    """Every bronze table a load writes, created where missing."""
    return {d.identifier: ensure_table(catalog, d) for d in (*LOADED_TABLES, LOADS)}


def _adopt_tables_written_before_the_load_log(catalog: Catalog) -> None:
    """A home written before the load log existed has bronze tables and no cut: make what is there the
    first cut, so readers keep seeing it."""
    if newest_cut(catalog) is None and unfinished_files(catalog, set()) == [] \
            and catalog.load_table(SOURCE_FILES.identifier).current_snapshot() is not None:
        record_complete(catalog, "adopted-before-the-load-log")


def _without_empty_files(parsed: list[tuple[LandedFile, ParsedFile]], report: IngestReport, progress: Progress
                         ) -> list[tuple[LandedFile, ParsedFile]]:
    """Files with no rows (a header only) are reported and not recorded as ingested: a later, complete copy
    of the same export must not be mistaken for one already loaded."""
    kept = []
    for item, result in parsed:
        if result.rows.is_empty() and (result.drafts is None or result.drafts.is_empty()):
            warning = f"{item.name}: no rows (empty, or a header only); not recorded as ingested"
            report.warnings.append(warning)
            progress(f"warning: {warning}")
        else:
            kept.append((item, result))
    return kept


def _parse_all(items: list[LandedFile], date_orders: dict[str, DateOrder], progress: Progress
               ) -> list[tuple[LandedFile, ParsedFile]]:
    parsed, problems = [], []
    for item in items:
        try:
            parsed.append((item, read_source_file(item.path, item.checksum, date_orders.get(item.name), item.name)))
        except EmptyFileError:
            parsed.append((item, ParsedFile(item.path, item.checksum, "empty", empty_rows())))
        except UnreadableFileError as error:
            problems.append(_what_to_do(error, item))
        progress(f"parsed {item.name}")
    if problems:  # one problem a line, last: the line a terminal (or a script's `tail`) shows
        raise IngestError("nothing was committed:\n" + "\n".join(problems))
    return parsed


REDUCED_CONTEXT_COLUMNS = ("game_id", "team_name", "date", "league", "year", "split", "playoffs", "patch", "game",
                           "game_length", "result")


def _attach_reduced_context(parsed: list[tuple[LandedFile, ParsedFile]], team_games) -> list[tuple[LandedFile, ParsedFile]]:
    """Date the reduced player files' rows from their team rows: this batch's first, then the stored rows of only
    the (game, team) pairs the batch lacks (reading all of bronze.team_games each run grew with the table)."""
    needing = [p for p in parsed if p[1].layout == "reduced_player_kda"]
    if not needing:
        return parsed
    batch_team_rows = [r.rows.filter(pl.col("position") == TEAM_POSITION).select(REDUCED_CONTEXT_COLUMNS)
                       for _, r in parsed if r.layout != "reduced_player_kda"]
    batch = pl.concat(batch_team_rows, how="vertical_relaxed") if batch_team_rows else None
    wanted = pl.concat([f.rows.select("game_id", "team_name") for _, f in needing]).unique()
    lacking = wanted if batch is None else wanted.join(batch, on=["game_id", "team_name"], how="anti")
    stored = pl.from_arrow(rows_of_games(team_games, REDUCED_CONTEXT_COLUMNS,
                                         sorted(lacking["game_id"].drop_nulls().unique().to_list())))
    if batch is not None:
        stored = stored.join(batch, on=["game_id", "team_name"], how="anti")
    context = pl.concat([part for part in (batch, stored) if part is not None], how="vertical_relaxed")
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


def _ledger_rows(ledger, load_id: str) -> pl.DataFrame:
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
    return pl.DataFrame(rows)

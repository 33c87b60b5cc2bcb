"""Loads and builds that readers see whole or not at all: the load and build logs, and the cuts they define.

A load commits the bronze tables one by one (Iceberg commits are per table). Around those commits it writes
two rows to `bronze.loads`: `started` before the first (the files it is about to ingest, so a later run can
finish them) and `complete` after the last (the snapshot id of every bronze table at that moment). That
complete row is a *cut*: every reader (dbt sources, `outscaled sql`, the data-quality checks, `evaluate`) reads
each bronze table at the snapshot ids of the newest complete row, with Iceberg time travel. A load killed at
any commit boundary therefore stays invisible, and the next load first resumes the files of any load that
started and never completed; the merges are idempotent, so the tables converge to what one clean run gives.

dbt writes its silver and gold marts one by one too. After a build succeeds, `gold.builds` records the snapshot
of every mart it wrote (merged with the previous build's); readers of those marts (training, snapshots,
drift, `outscaled sql`) read them as of the newest recorded build, so a build killed or failed half-way is not
seen either. A mart no build has recorded yet (a home older than the build log) is read as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from outscaled.lakehouse.faults import commit_boundary
from outscaled.lakehouse.snapshot_reads import read_at
from outscaled.lakehouse.tables import (
    BUILDS, DRAFTS, LOADS, PLAYER_GAMES, QUARANTINE, SOURCE_FILES, TEAM_GAMES, TableDefinition, ensure_table,
    to_arrow,
)

# The tables a load writes, in commit order; the ledger (source_files) is the last of them.
LOADED_TABLES = (PLAYER_GAMES, TEAM_GAMES, DRAFTS, QUARANTINE, SOURCE_FILES)
PINNED = frozenset(d.identifier for d in LOADED_TABLES)
STARTED, COMPLETE = "started", "complete"


@dataclass(frozen=True)
class PendingFile:
    """A file a started load was ingesting: enough to ingest it again."""
    checksum: str
    name: str
    path: str
    date_order: str | None


@dataclass(frozen=True)
class Cut:
    """The snapshot of each bronze table as the newest complete load left it (None: empty then)."""
    load_id: str
    snapshot_ids: dict[str, int | None]


def snapshot_column(identifier: str) -> str:
    return identifier.split(".")[-1] + "_snapshot_id"


def _log(catalog: Catalog, definition: TableDefinition = LOADS) -> pl.DataFrame:
    """The whole log (read again only where it grew: outscaled.lakehouse.snapshot_reads)."""
    table = catalog.load_table(definition.identifier) if catalog.table_exists(definition.identifier) else None
    if table is None or table.current_snapshot() is None:
        return pl.DataFrame(schema=definition.columns)
    return read_at(table, table.current_snapshot().snapshot_id)[0]


def newest_cut(catalog: Catalog) -> Cut | None:
    """The cut readers see, or None before the first complete load."""
    complete = _log(catalog).filter(pl.col("status") == COMPLETE)
    if complete.is_empty():
        return None
    row = complete.sort("sequence").row(-1, named=True)
    return Cut(row["load_id"], {i: row[snapshot_column(i)] for i in PINNED})


def record_started(catalog: Catalog, load_id: str, files: list[PendingFile]) -> None:
    _append(catalog, {"load_id": load_id, "status": STARTED, "files": json.dumps([f.__dict__ for f in files])})
    commit_boundary("bronze.loads:started")


def record_complete(catalog: Catalog, load_id: str) -> Cut:
    """Record the current snapshot of every loaded table as the newest cut (one commit)."""
    snapshots = {}
    for definition in LOADED_TABLES:
        current = catalog.load_table(definition.identifier).current_snapshot()
        snapshots[definition.identifier] = current.snapshot_id if current else None
    _append(catalog, {"load_id": load_id, "status": COMPLETE,
                      **{snapshot_column(i): s for i, s in snapshots.items()}})
    commit_boundary("bronze.loads:complete")
    return Cut(load_id, snapshots)


def _append(catalog: Catalog, row: dict, definition: TableDefinition = LOADS) -> None:
    table = ensure_table(catalog, definition)
    log = _log(catalog, definition)
    sequence = 1 if log.is_empty() else int(log["sequence"].max()) + 1
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    table.append(to_arrow(pl.DataFrame([{"sequence": sequence, "recorded_at": now, **row}]), definition, table))


def newest_build(catalog: Catalog) -> dict[str, int]:
    """The snapshot readers see of each mart the builds recorded ({} before the first)."""
    log = _log(catalog, BUILDS)
    return {} if log.is_empty() else json.loads(log.sort("sequence")["tables"][-1])


def record_build(catalog: Catalog, build_id: str, written: list[str]) -> dict[str, int]:
    """After a successful dbt build: the marts it wrote at their current snapshot, the others as before."""
    tables = newest_build(catalog)
    for identifier in written:
        if catalog.table_exists(identifier):
            current = catalog.load_table(identifier).current_snapshot()
            if current is not None:
                tables[identifier] = current.snapshot_id
    cut = newest_cut(catalog)
    _append(catalog, {"build_id": build_id, "bronze_load_id": cut.load_id if cut else None,
                      "tables": json.dumps(tables, sort_keys=True)}, BUILDS)
    return tables


def unfinished_files(catalog: Catalog, ingested_checksums: set[str]) -> list[PendingFile]:
    """Files of loads that started and never completed, and are not in the ledger as of the cut."""
    log = _log(catalog)
    seen: dict[str, PendingFile] = {}
    for files in log.filter(pl.col("status") == STARTED)["files"].to_list():
        for item in json.loads(files or "[]"):
            if item["checksum"] not in ingested_checksums and Path(item["path"]).is_file():
                seen.setdefault(item["checksum"], PendingFile(**item))
    return list(seen.values())


def scan_as_of_cut(catalog: Catalog, identifier: str, columns: tuple[str, ...] = ("*",)) -> pa.Table:
    """A table's rows as readers must see them: bronze at the newest complete load, dbt's marts at the newest
    recorded build, any other table as it is now."""
    return batches_as_of_cut(catalog, identifier, columns).read_all()


def batches_as_of_cut(catalog: Catalog, identifier: str, columns: tuple[str, ...] = ("*",)) -> pa.RecordBatchReader:
    """`scan_as_of_cut`'s rows as a stream of record batches, for a reader that need not hold them all at once
    (dbt's DuckDB sources: memory then grows with a batch, not with the table)."""
    table = catalog.load_table(identifier)
    pinned, snapshot_id = reader_snapshot(catalog, identifier)
    if not pinned:
        return table.scan(selected_fields=columns).to_arrow_batch_reader()
    if snapshot_id is None:
        schema = table.schema()
        if columns != ("*",):
            schema = schema.select(*columns)
        return pa.RecordBatchReader.from_batches(schema.as_arrow(), [])
    return table.scan(selected_fields=columns, snapshot_id=snapshot_id).to_arrow_batch_reader()


def reader_snapshot(catalog: Catalog, identifier: str, cut: Cut | None | str = "read",
                    build: dict[str, int] | None = None) -> tuple[bool, int | None]:
    """(pinned, snapshot id): whether readers are pinned to a snapshot of this table, and which (None: the
    table has no rows for readers yet). `cut` and `build` may be passed in when already read."""
    if identifier in PINNED:
        cut = newest_cut(catalog) if cut == "read" else cut
        return True, None if cut is None else cut.snapshot_ids.get(identifier)
    build = newest_build(catalog) if build is None else build
    if identifier in build:
        return True, build[identifier]
    return False, None


def read_as_of_cut(catalog: Catalog, identifier: str, columns: tuple[str, ...] = ("*",)) -> pl.DataFrame:
    return pl.from_arrow(scan_as_of_cut(catalog, identifier, columns))

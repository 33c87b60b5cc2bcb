"""Reading a table at one snapshot after another, reading only what was appended in between.

A consumer commits every few seconds; readers that re-read a whole table after each commit (the load log,
the ledger's checksums, bronze for the live state) open one more data file each time, so every micro-batch
was slower than the one before (20-event batches: 0.6 s at the first, 5.5 s at the 140th). Here the rows read
at a snapshot are kept per table and columns (per process); at a later snapshot only the rows appended in
between are read (pyiceberg's incremental append scan) when every snapshot in between is an append, and the
whole table otherwise (a replacement, a delete, a compaction, a rollback): never a stale row.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation

How = Literal["unchanged", "appended", "whole"]
_READ: dict[tuple[str, tuple[str, ...]], tuple[int, pl.DataFrame]] = {}


def read_at(table: Table, snapshot_id: int, columns: tuple[str, ...] = ("*",)) -> tuple[pl.DataFrame, How]:
    """`columns` of `table` at `snapshot_id`, and how they were read."""
    key = (table.metadata.location, columns)
    cached = _READ.get(key)
    if cached is not None and cached[0] == snapshot_id:
        return cached[1], "unchanged"
    if cached is not None and only_appends_between(table, cached[0], snapshot_id):
        added = pl.from_arrow(table.incremental_append_scan(
            from_snapshot_id_exclusive=cached[0], to_snapshot_id_inclusive=snapshot_id,
            selected_fields=columns).to_arrow())
        rows, how = pl.concat([cached[1], added], how="vertical_relaxed"), "appended"
    else:
        rows, how = pl.from_arrow(table.scan(selected_fields=columns, snapshot_id=snapshot_id).to_arrow()), "whole"
    _READ[key] = (snapshot_id, rows)
    return rows, how


def only_appends_between(table: Table, older: int, newer: int) -> bool:
    """Whether `older` is an ancestor of `newer` and every snapshot after it up to `newer` only appended."""
    snapshot = table.snapshot_by_id(newer)
    while snapshot is not None and snapshot.snapshot_id != older:
        if snapshot.summary is None or snapshot.summary.operation != Operation.APPEND:
            return False
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
    return snapshot is not None

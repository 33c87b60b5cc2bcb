"""Follow a table as readers see it, reading only what was appended since the last read.

The live path reads bronze after every micro-batch. Reading it whole each time grew with every batch
(more data files to open: the replay's freshness went from 5 s to 19 s over a month). A `FollowedTable`
keeps the rows it read at one snapshot; at the next snapshot readers are given, it reads only the rows
appended in between (pyiceberg's incremental append scan) when every snapshot in between is an append, and
the whole table again otherwise (a replacement, a delete, a rollback): never a stale row.
"""

from __future__ import annotations

import polars as pl
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation

from outscaled.lakehouse.loads import read_as_of_cut, reader_snapshot


class FollowedTable:
    def __init__(self, catalog: Catalog, identifier: str, columns: tuple[str, ...]):
        self.catalog, self.identifier, self.columns = catalog, identifier, columns
        self._snapshot_id: int | None = None
        self._rows: pl.DataFrame | None = None
        self.last_read = "none"  # "unchanged", "appended" or "whole": how the last read was made (for tests, logs)

    def read(self) -> pl.DataFrame:
        """The table's rows (`columns`) at the snapshot readers are given now."""
        _, snapshot_id = reader_snapshot(self.catalog, self.identifier)
        if snapshot_id is None:
            self._snapshot_id, self._rows, self.last_read = None, None, "whole"
            return read_as_of_cut(self.catalog, self.identifier, self.columns)
        if self._rows is not None and snapshot_id == self._snapshot_id:
            self.last_read = "unchanged"
            return self._rows
        table = self.catalog.load_table(self.identifier)
        if self._rows is not None and _only_appends_between(table, self._snapshot_id, snapshot_id):
            added = pl.from_arrow(table.incremental_append_scan(
                from_snapshot_id_exclusive=self._snapshot_id, to_snapshot_id_inclusive=snapshot_id,
                selected_fields=self.columns).to_arrow())
            rows, self.last_read = pl.concat([self._rows, added], how="vertical_relaxed"), "appended"
        else:
            rows = pl.from_arrow(table.scan(selected_fields=self.columns, snapshot_id=snapshot_id).to_arrow())
            self.last_read = "whole"
        self._snapshot_id, self._rows = snapshot_id, rows
        return rows


def _only_appends_between(table: Table, older: int | None, newer: int) -> bool:
    """Whether `older` is an ancestor of `newer` and every snapshot after it up to `newer` only appended."""
    snapshot = table.snapshot_by_id(newer)
    while snapshot is not None and snapshot.snapshot_id != older:
        if snapshot.summary is None or snapshot.summary.operation != Operation.APPEND:
            return False
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
    return snapshot is not None

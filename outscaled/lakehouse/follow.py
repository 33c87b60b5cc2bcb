"""Follow a table as readers see it (the snapshot the newest complete load pinned), reading only what each
load appended (`outscaled.lakehouse.snapshot_reads`): the live path reads bronze after every micro-batch."""

from __future__ import annotations

import polars as pl
from pyiceberg.catalog import Catalog

from outscaled.lakehouse.loads import read_as_of_cut, reader_snapshot
from outscaled.lakehouse.snapshot_reads import How, read_at


class FollowedTable:
    def __init__(self, catalog: Catalog, identifier: str, columns: tuple[str, ...]):
        self.catalog, self.identifier, self.columns = catalog, identifier, columns
        self.last_read: How | None = None  # how the last read was made (for tests and logs)

    def read(self) -> pl.DataFrame:
        """The table's rows (`columns`) at the snapshot readers are given now."""
        _, snapshot_id = reader_snapshot(self.catalog, self.identifier)
        if snapshot_id is None:
            self.last_read = "whole"
            return read_as_of_cut(self.catalog, self.identifier, self.columns)
        rows, self.last_read = read_at(self.catalog.load_table(self.identifier), snapshot_id, self.columns)
        return rows

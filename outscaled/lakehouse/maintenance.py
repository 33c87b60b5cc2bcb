"""Keep a long-running stream's tables light: expire the bronze snapshots no reader needs.

Every micro-batch commits each bronze table and the load log once or twice. pyiceberg rewrites a table's
whole metadata file at every commit and copies it in memory several times per write, so a table carrying
thousands of snapshots makes every later commit and every load of it slower. Readers read each table at the
snapshot the newest complete load pinned (`outscaled.lakehouse.loads`); a reader still on an earlier cut,
and the live path's follower (`outscaled.lakehouse.follow`), need a few snapshots before it. So the newest
`keep` snapshots of each table and the pinned one stay; older ones are expired. pyiceberg 0.12 removes them
from the metadata only: their data files stay on disk (an orphan-file clean-up would remove them).
"""

from __future__ import annotations

from pyiceberg.catalog import Catalog

from outscaled.lakehouse.loads import LOADED_TABLES, newest_cut
from outscaled.lakehouse.tables import LOADS

KEEP = 20  # newest snapshots kept per table (a few minutes of micro-batches)


def expire_bronze_snapshots(catalog: Catalog, keep: int = KEEP) -> dict[str, int]:
    """Expire each bronze table's snapshots older than its newest `keep` (never the one readers are pinned
    to); the number expired per table."""
    cut = newest_cut(catalog)
    expired: dict[str, int] = {}
    for definition in (*LOADED_TABLES, LOADS):
        if not catalog.table_exists(definition.identifier):
            continue
        table = catalog.load_table(definition.identifier)
        newest_first = sorted(table.snapshots(), key=lambda s: s.timestamp_ms, reverse=True)
        kept = {s.snapshot_id for s in newest_first[:keep]}
        if cut is not None and cut.snapshot_ids.get(definition.identifier) is not None:
            kept.add(cut.snapshot_ids[definition.identifier])
        if table.current_snapshot() is not None:
            kept.add(table.current_snapshot().snapshot_id)
        old = [s.snapshot_id for s in newest_first if s.snapshot_id not in kept]
        if old:
            table.maintenance.expire_snapshots().by_ids(old).commit()
        expired[definition.identifier] = len(old)
    return expired

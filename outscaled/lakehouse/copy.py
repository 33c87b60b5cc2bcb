"""Copy bronze's game tables from one catalog into another (a scratch home), keeping the games a filter
keeps, and record the copy as a complete load so that the target's readers see it."""

from __future__ import annotations

import polars as pl
from pyiceberg.catalog import Catalog

from outscaled.lakehouse.loads import LOADED_TABLES, read_as_of_cut, record_complete
from outscaled.lakehouse.tables import DRAFTS, PLAYER_GAMES, TEAM_GAMES, ensure_table, to_arrow
from outscaled.lakehouse.writes import write_rows


def copy_bronze(source: Catalog, target: Catalog, keep_game: pl.Expr, edit=lambda frame: frame,
                load_id: str = "copy") -> dict[str, int]:
    """Rows of bronze's player, team and draft tables (as the source's readers see them) for which
    `keep_game` holds, appended to the target's; rows copied per table."""
    copied = {}
    for definition in (PLAYER_GAMES, TEAM_GAMES, DRAFTS):
        frame = read_as_of_cut(source, definition.identifier) if source.table_exists(definition.identifier) \
            else pl.DataFrame()
        table = ensure_table(target, definition)
        kept = edit(frame.filter(keep_game)) if not frame.is_empty() else frame
        if not kept.is_empty():
            write_rows(table, to_arrow(kept, definition, table))
        copied[definition.identifier] = kept.height
    for definition in LOADED_TABLES:  # so that ensure_table made them all before the cut is recorded
        ensure_table(target, definition)
    record_complete(target, load_id)  # readers (dbt's sources) see bronze as of complete loads
    return copied

"""Store each game once: the de-duplication rule for bronze.

For every game (`game_id`) the stored rows come from the single source file with the highest
completeness score, the number of non-null canonical cells in that file's rows for the game. Ties go to
the smaller file checksum. Player rows and team rows are decided separately (a team-rows-only file can
supply team rows while a full file supplies both). The winner is a function of the set of files seen,
so ingesting the same files in any order, any number of times, gives the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from pyiceberg.expressions import In
from pyiceberg.table import Table

from outscaled.ingest.readers import EVENT
from outscaled.lakehouse.columns import CANONICAL_ORDER
from outscaled.lakehouse.snapshot_reads import read_at
from outscaled.lakehouse.tables import TableDefinition, read_table, to_arrow
from outscaled.lakehouse.writes import write_rows

KEY = "game_id"


@dataclass(frozen=True)
class MergeResult:
    rows_written: int
    games_added: int
    games_replaced: int
    partitions_written: list[str]


def completeness(rows: pl.DataFrame, value_columns: list[str] = CANONICAL_ORDER,
                 source: str = "source_checksum") -> pl.DataFrame:
    """Score per (game_id, `source`): non-null value cells of that source's rows for the game."""
    present = set(rows.columns)
    filled = pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Int64) for c in value_columns if c in present])
    return (rows.with_columns(filled.alias("_filled"))
            .group_by(KEY, source)
            .agg(pl.col("_filled").sum().alias("source_completeness")))


def one_copy_per_game(rows: pl.DataFrame, event: str = EVENT) -> pl.DataFrame:
    """The rows of an events file with one event per game: where two events carry the same game, the one
    with the more complete rows (the same rule as between files), the earlier on a tie; `event` dropped."""
    if event not in rows.columns:
        return rows
    best = (completeness(rows, source=event)
            .sort([KEY, "source_completeness", event], descending=[False, True, False]).unique(KEY, keep="first"))
    return rows.join(best.select(KEY, event), on=[KEY, event], how="semi").drop(event)


def choose_winners(candidates: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
    """Games whose stored rows must become a candidate file's rows: (game_id, source_checksum, score, replaces)."""
    best = (candidates.sort([KEY, "source_completeness", "source_checksum"], descending=[False, True, False])
            .unique(KEY, keep="first", maintain_order=True))
    joined = best.join(existing.rename({"source_checksum": "_old_checksum", "source_completeness": "_old_score"}),
                       on=KEY, how="left")
    new_wins = (pl.col("_old_score").is_null()
                | (pl.col("source_completeness") > pl.col("_old_score"))
                | ((pl.col("source_completeness") == pl.col("_old_score"))
                   & (pl.col("source_checksum") < pl.col("_old_checksum"))))
    return (joined.filter(new_wins)
            .with_columns(pl.col("_old_score").is_not_null().alias("replaces"))
            .select(KEY, "source_checksum", "source_completeness", "replaces"))


def merge_games(table: Table, definition: TableDefinition, rows: pl.DataFrame,
                value_columns: list[str] = CANONICAL_ORDER) -> MergeResult:
    """Upsert `rows` (candidate rows of several files, audit columns set) into `table` in one commit."""
    if rows.is_empty():
        return MergeResult(0, 0, 0, [])
    scores = completeness(rows, value_columns)
    existing = stored_keys(table, (KEY, "source_checksum", "source_completeness"), unique_by=KEY)
    winners = choose_winners(scores, existing)
    if winners.is_empty():
        return MergeResult(0, 0, 0, [])
    written = rows.join(winners.drop("replaces"), on=[KEY, "source_checksum"], how="inner")
    replaced = winners.filter(pl.col("replaces"))[KEY].to_list()
    arrow = to_arrow(written, definition, table)
    write_rows(table, arrow, In(KEY, replaced) if replaced else None)
    partitions = (written.select(pl.format("{}/{}", pl.col("date").dt.year(), pl.col("league")))
                  .unique().to_series().sort().to_list())
    return MergeResult(written.height, winners.height - len(replaced), len(replaced), partitions)


def append_missing(table: Table, definition: TableDefinition, rows: pl.DataFrame, key: list[str]) -> int:
    """Append the rows whose `key` the table does not hold yet (one commit, or none): re-running an
    interrupted load adds nothing twice. Returns the number of rows appended."""
    if rows.is_empty():
        return 0
    existing = stored_keys(table, tuple(key))
    fresh = rows.join(existing, on=key, how="anti") if not existing.is_empty() else rows
    if not fresh.is_empty():
        write_rows(table, to_arrow(fresh, definition, table))
    return fresh.height


def stored_keys(table: Table, columns: tuple[str, ...], unique_by: str | None = None) -> pl.DataFrame:
    """The distinct `columns` of `table`'s current snapshot (one row per `unique_by` when given), read again
    only where the table grew since this process, or an earlier one on this home, last read them
    (outscaled.lakehouse.snapshot_reads keeps this read on disk)."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return read_table(table, columns)
    distinct_by = (unique_by,) if unique_by else columns
    return read_at(table, snapshot.snapshot_id, columns, distinct_by=distinct_by, persist=True)[0]

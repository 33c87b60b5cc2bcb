"""The games a table gained between two of its snapshots, read without reading the table.

A bronze check validated the whole table after every load, so each load's check cost grew with everything
stored before it (at 11x of the shared data, 14% of a one-copy ingest run was Great Expectations over every
stored row, and as much again reading them). Every bronze rule is a rule about one game, so validating the
games a load wrote, with all their stored rows, is validating what the load changed: the data files present
at the newer snapshot and not at the older are the files written in between (appends, a replacement's new
rows, a rewrite's surviving rows), read whole. A doubled game shows up whole too: its older rows sit in older
files of the (year, league) partitions the games were written to, whose key column alone is read to find one
(read whole only where one is found: at 100x of the shared data every load's partitions hold nearly the table).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, GreaterThanOrEqual, In, LessThan
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.table import Table

from outscaled.lakehouse.snapshot_reads import is_ancestor
from outscaled.lakehouse.tables import rows_of_games


def files_written_between(table: Table, older: int, newer: int) -> list | None:
    """The scan tasks of the data files `newer` holds and `older` did not, or None where `older` is not an
    ancestor of `newer` (expired, rolled back: the caller reads the whole table)."""
    if not is_ancestor(table, older, newer):
        return None
    before = {task.file.file_path for task in table.scan(snapshot_id=older).plan_files()}
    return [task for task in table.scan(snapshot_id=newer).plan_files() if task.file.file_path not in before]


def rows_of_games_written_between(table: Table, older: int, newer: int, columns: tuple[str, ...],
                                  key: str = "game_id") -> pa.Table | None:
    """`columns` of every row at `newer` of the games (`key`) in files written after `older`; None when the
    lineage cannot say which files those are."""
    tasks = files_written_between(table, older, newer)
    if tasks is None:
        return None
    wanted = tuple(dict.fromkeys((*columns, key, "date", "league")))
    schema = table.scan(snapshot_id=newer, selected_fields=wanted).projection()
    if not tasks:
        return schema.select(*columns).as_arrow().empty_table()
    written = ArrowScan(table.metadata, table.io, schema, AlwaysTrue()).to_table(tasks)
    # The partitions the games were written to select the older files that may hold more rows of them (pyiceberg
    # prunes by partition); in a sound table they hold none (a game's stored rows come from one write), so only
    # their key column is read to find out, and the older files are read whole only where one does (a doubling).
    frame = pl.from_arrow(written.select([key, "date", "league"]))
    where: BooleanExpression = AlwaysTrue()
    if frame["league"].null_count() == 0:
        where = In("league", frame["league"].unique().to_list())
    if frame["date"].null_count() == 0:
        first, last = frame["date"].min(), frame["date"].max()
        where = And(where, And(GreaterThanOrEqual("date", datetime(first.year, 1, 1).isoformat()),
                               LessThan("date", datetime(last.year + 1, 1, 1).isoformat())))
    games = pa.array(frame[key].drop_nulls().unique().to_list(), pa.string())
    new_files = {task.file.file_path for task in tasks}
    older = [task for task in table.scan(row_filter=where, snapshot_id=newer).plan_files()
             if task.file.file_path not in new_files]
    if older and _holds_any(table, newer, older, key, games):
        return rows_of_games(table, columns, games.to_pylist(), key, snapshot_id=newer, row_filter=where)
    return written.select(list(columns))


def _holds_any(table: Table, snapshot: int, tasks: list, key: str, games: pa.Array) -> bool:
    """Whether the files of `tasks` (at `snapshot`) hold a row of any of `games`, reading their key column only:
    by DuckDB where every file is local (one parallel scan; pyiceberg's reader spent ~15 s a run on these files
    at 100x of the shared data), by pyiceberg otherwise. A row a delete file removes still counts (the caller
    then reads the rows the careful way), so nothing is missed."""
    paths = [_local_path(task.file.file_path) for task in tasks]
    if all(path is not None for path in paths):
        with duckdb.connect(":memory:") as connection:
            connection.register("wanted_games", pa.table({"game": games}))
            found = connection.execute(
                f'SELECT 1 FROM read_parquet(?, union_by_name = true) WHERE "{key}" IN (SELECT game FROM wanted_games) '
                "LIMIT 1", [paths]).fetchone()
        return found is not None
    key_only = table.scan(snapshot_id=snapshot, selected_fields=(key,)).projection()
    for batch in ArrowScan(table.metadata, table.io, key_only, AlwaysTrue()).to_record_batches(tasks):
        if pc.any(pc.is_in(batch.column(key), value_set=games)).as_py():
            return True
    return False


def _local_path(location: str) -> str | None:
    """The file system path of a local data file's location, None for a remote one (s3://, gs://, ...)."""
    if location.startswith("file://"):
        return location[len("file://"):]
    return location if "://" not in location else None

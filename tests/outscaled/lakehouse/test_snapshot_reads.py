"""Reads kept on disk between processes: a new process reads only what was appended since the newest kept read,
anything but appends (or a kept file it cannot read) means a whole read, and the rows always equal a whole read."""

import os
import subprocess
import sys

import polars as pl
from polars.testing import assert_frame_equal
from pyiceberg.expressions import In

from outscaled.ingest.readers import file_checksum, read_source_file
from outscaled.lakehouse import snapshot_reads
from outscaled.lakehouse.snapshot_reads import read_at
from outscaled.lakehouse.tables import PLAYER_GAMES, ensure_table, read_table, to_arrow
from outscaled.lakehouse.writes import write_rows
from tests.conftest import PROJECT_ROOT, SAMPLE_DATA

COLUMNS = ("game_id", "source_checksum", "player_name")
DISTINCT = ("game_id",)


def _rows(checksum: str) -> pl.DataFrame:
    path = SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"
    return read_source_file(path, file_checksum(path)).rows.drop("row_errors").with_columns(
        pl.lit("f").alias("source_file"), pl.lit(checksum).alias("source_checksum"), pl.lit("l").alias("load_id"))


def _games(rows: pl.DataFrame, which: slice) -> pl.DataFrame:
    return rows.filter(pl.col("game_id").is_in(rows["game_id"].unique().sort()[which].implode()))


def _whole(table) -> pl.DataFrame:
    """What a whole read at the current snapshot gives, one row per game (here every row of a game comes from
    one file, so which row is first does not matter), sorted like `_sorted`."""
    return _sorted(read_table(table, COLUMNS).unique(list(DISTINCT), keep="first"))


def _sorted(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.sort("game_id").select("game_id", "source_checksum")


def _read_in_a_new_process(settings) -> str:
    """How a process that has read nothing yet reads the table at its current snapshot (a real subprocess)."""
    code = ("import sys; from outscaled.config import load_settings; from outscaled.lakehouse.catalog import open_catalog;"
            "from outscaled.lakehouse.snapshot_reads import read_at; t = open_catalog(load_settings())"
            f".load_table({PLAYER_GAMES.identifier!r});"
            f"rows, how = read_at(t, t.current_snapshot().snapshot_id, {COLUMNS!r}, {DISTINCT!r}, persist=True);"
            "print(how, rows.height)")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
                          env={**os.environ, "OUTSCALED_HOME": str(settings.home)})
    return done.stdout.split()[0]


def _forget_this_process() -> None:
    snapshot_reads._READ.clear()


def test_a_new_process_reads_only_what_was_appended_since_the_kept_read(catalog, settings):
    rows = _rows("a" * 64)
    table = ensure_table(catalog, PLAYER_GAMES)
    write_rows(table, to_arrow(_games(rows, slice(0, 10)), PLAYER_GAMES, table))
    first, how = read_at(table, table.current_snapshot().snapshot_id, COLUMNS, DISTINCT, persist=True)
    assert how == "whole" and first.height == 10
    assert list(settings.read_cache_dir.rglob("*.parquet")), "the read is kept under the home's cache"

    write_rows(table, to_arrow(_games(rows, slice(10, 20)), PLAYER_GAMES, table))
    table = catalog.load_table(PLAYER_GAMES.identifier)
    assert _read_in_a_new_process(settings) == "appended"
    _forget_this_process()
    again, how = read_at(table, table.current_snapshot().snapshot_id, COLUMNS, DISTINCT, persist=True)
    assert how == "unchanged", "the new process kept its read at the newest snapshot"
    assert again.height == 20
    assert_frame_equal(_sorted(again), _whole(table))


def test_a_replacement_or_an_unreadable_kept_file_means_a_whole_read(catalog, settings):
    rows = _rows("a" * 64)
    table = ensure_table(catalog, PLAYER_GAMES)
    write_rows(table, to_arrow(_games(rows, slice(0, 10)), PLAYER_GAMES, table))
    read_at(table, table.current_snapshot().snapshot_id, COLUMNS, DISTINCT, persist=True)

    replaced = _games(_rows("b" * 64), slice(0, 3))
    write_rows(table, to_arrow(replaced, PLAYER_GAMES, table), In("game_id", replaced["game_id"].unique().to_list()))
    table = catalog.load_table(PLAYER_GAMES.identifier)
    _forget_this_process()
    after, how = read_at(table, table.current_snapshot().snapshot_id, COLUMNS, DISTINCT, persist=True)
    assert how == "whole", "a delete between the kept read and now: nothing kept is trusted"
    assert_frame_equal(_sorted(after), _whole(table))
    assert after.filter(pl.col("source_checksum") == "b" * 64).height == 3

    write_rows(table, to_arrow(_games(rows, slice(10, 12)), PLAYER_GAMES, table))
    table = catalog.load_table(PLAYER_GAMES.identifier)
    for kept in settings.read_cache_dir.rglob("*.parquet"):
        kept.write_bytes(b"not parquet")
    _forget_this_process()
    damaged, how = read_at(table, table.current_snapshot().snapshot_id, COLUMNS, DISTINCT, persist=True)
    assert how == "whole" and damaged.height == 12
    assert_frame_equal(_sorted(damaged), _whole(table))


def test_reads_not_asked_to_persist_leave_nothing_on_disk(catalog, settings):
    table = ensure_table(catalog, PLAYER_GAMES)
    write_rows(table, to_arrow(_games(_rows("a" * 64), slice(0, 5)), PLAYER_GAMES, table))
    rows, how = read_at(table, table.current_snapshot().snapshot_id, COLUMNS)
    assert how == "whole" and rows.height == _games(_rows("a" * 64), slice(0, 5)).height
    assert not list(settings.read_cache_dir.rglob("*.parquet"))

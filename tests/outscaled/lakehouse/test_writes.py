"""The partition-aware writer against pyiceberg's own append, on a real SQL catalog and real rows."""

import polars as pl
from polars.testing import assert_frame_equal
from pyiceberg.expressions import In

from outscaled.ingest.readers import file_checksum, read_source_file
from outscaled.lakehouse.tables import PLAYER_GAMES, TableDefinition, ensure_table, read_table, to_arrow
from outscaled.lakehouse.writes import write_rows
from tests.conftest import SAMPLE_DATA


def _rows() -> pl.DataFrame:
    frames = []
    for name in ("lck_lpl_2024_jan_feb.csv", "worlds_2022.csv", "lec_2022_snake_case.csv"):
        path = SAMPLE_DATA / name
        frames.append(read_source_file(path, file_checksum(path)).rows.with_columns(
            pl.lit(name).alias("source_file"), pl.lit("c").alias("source_checksum"), pl.lit("l").alias("load_id")))
    return pl.concat(frames, how="vertical_relaxed").drop("row_errors")


def _files(table) -> pl.DataFrame:
    return pl.DataFrame([{"partition": str(task.file.partition), "rows": task.file.record_count}
                         for task in table.scan().plan_files()]).sort("partition")


def test_written_rows_files_and_statistics_match_pyicebergs_append(catalog):
    rows = _rows()
    ours = ensure_table(catalog, PLAYER_GAMES)
    theirs = ensure_table(catalog, TableDefinition("bronze.player_games_by_pyiceberg", PLAYER_GAMES.columns, True))
    write_rows(ours, to_arrow(rows, PLAYER_GAMES, ours))
    theirs.append(to_arrow(rows, PLAYER_GAMES, theirs))

    order = ["game_id", "source_line", "source_file"]
    assert_frame_equal(read_table(ours).sort(order), read_table(theirs).sort(order))
    assert_frame_equal(_files(ours), _files(theirs))
    assert _files(ours).height > 3, "the rows span several (year, league) partitions"
    ours_file = next(iter(ours.scan().plan_files())).file
    theirs_file = next(t.file for t in theirs.scan().plan_files() if str(t.file.partition) == str(ours_file.partition))
    game_id = ours.schema().find_field("game_id").field_id
    assert ours_file.lower_bounds[game_id] == theirs_file.lower_bounds[game_id]
    assert ours_file.upper_bounds[game_id] == theirs_file.upper_bounds[game_id]
    assert ours.schema().find_field("kills").field_id not in ours_file.lower_bounds, "bounds only where pruned"


def test_replacing_deletes_the_matched_rows_in_the_same_commit(catalog):
    rows = _rows()
    table = ensure_table(catalog, PLAYER_GAMES)
    write_rows(table, to_arrow(rows, PLAYER_GAMES, table))
    replaced = rows["game_id"].unique().sort().head(5).to_list()
    again = rows.filter(pl.col("game_id").is_in(replaced)).with_columns(pl.lit("again").alias("load_id"))
    snapshots, commits = len(table.snapshots()), len(table.metadata.metadata_log)
    write_rows(table, to_arrow(again, PLAYER_GAMES, table), In("game_id", replaced))
    stored = read_table(table)
    assert stored.height == rows.height
    assert set(stored.filter(pl.col("load_id") == "again")["game_id"].unique().to_list()) == set(replaced)
    assert stored.filter(pl.col("game_id").is_in(replaced))["load_id"].unique().to_list() == ["again"]
    assert len(table.snapshots()) == snapshots + 2, "a delete and an append snapshot"
    assert len(table.metadata.metadata_log) == commits + 1, "in one catalog commit"

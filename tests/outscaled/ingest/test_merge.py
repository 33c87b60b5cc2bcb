"""The merge reads stored keys again only where the table grew, and never misses another writer's commit."""

import polars as pl

from outscaled.ingest.merge import completeness, merge_games, stored_keys
from outscaled.ingest.readers import file_checksum, read_source_file
from outscaled.lakehouse.tables import PLAYER_GAMES, ensure_table, read_table, to_arrow
from outscaled.lakehouse.writes import write_rows
from tests.conftest import SAMPLE_DATA


def _candidates(name: str, checksum: str) -> pl.DataFrame:
    path = SAMPLE_DATA / name
    rows = read_source_file(path, file_checksum(path)).rows.drop("row_errors")
    return rows.filter(pl.col("position") != "team").with_columns(
        pl.lit(name).alias("source_file"), pl.lit(checksum).alias("source_checksum"), pl.lit("l").alias("load_id"))


def test_a_commit_by_another_writer_is_seen_by_the_next_merge(catalog):
    rows = _candidates("lck_lpl_2024_jan_feb.csv", "a" * 64)
    first, second = (rows.filter(pl.col("game_id").is_in(ids)) for ids in
                     (rows["game_id"].unique().sort().head(10).implode(), rows["game_id"].unique().sort().tail(10).implode()))
    table = ensure_table(catalog, PLAYER_GAMES)
    assert merge_games(table, PLAYER_GAMES, first).games_added == 10
    keys = stored_keys(table, ("game_id", "source_checksum", "source_completeness"), unique_by="game_id")
    assert keys.height == 10, "its own commit is read"

    other = catalog.load_table(PLAYER_GAMES.identifier)  # another process's writer (no shared memory), same rule
    scored = second.join(completeness(second), on=["game_id", "source_checksum"])
    write_rows(other, to_arrow(scored, PLAYER_GAMES, other))

    again = merge_games(catalog.load_table(PLAYER_GAMES.identifier), PLAYER_GAMES, pl.concat([first, second]))
    assert again.games_added == 0 and again.rows_written == 0, "the other writer's games were read, not re-added"
    stored = read_table(catalog.load_table(PLAYER_GAMES.identifier), ("game_id",))
    assert stored.height == first.height + second.height and stored["game_id"].n_unique() == 20

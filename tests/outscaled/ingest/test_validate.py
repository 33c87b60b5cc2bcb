"""Game invariants on real rows: each broken rule quarantines the game with a precise reason."""

import polars as pl
import pytest

from outscaled.ingest.readers import read_source_file
from outscaled.ingest.validate import split_valid
from tests.conftest import SAMPLE_DATA, slice_games


@pytest.fixture(scope="module")
def two_games(tmp_path_factory) -> pl.DataFrame:
    path = slice_games(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv", tmp_path_factory.mktemp("slice") / "two.csv", games=2)
    return read_source_file(path, "x").rows


def _first_game_reasons(rows: pl.DataFrame) -> set[str]:
    valid, quarantined = split_valid(rows)
    first = rows["game_id"][0]
    assert first not in valid["game_id"].to_list()
    assert rows["game_id"][-1] in valid["game_id"].to_list()  # the other game is untouched
    return set("; ".join(quarantined.filter(pl.col("game_id") == first)["reason"]).split("; "))


def test_clean_real_games_pass(two_games):
    valid, quarantined = split_valid(two_games)
    assert valid.height == 24 and quarantined.is_empty()


def test_missing_player_row(two_games):
    rows = two_games.filter(pl.col("source_line") != 2)
    assert "game has 9 player rows, expected 10" in _first_game_reasons(rows)


def test_negative_count(two_games):
    rows = two_games.with_columns(pl.when(pl.col("source_line") == 3).then(-1).otherwise(pl.col("deaths")).alias("deaths"))
    reasons = _first_game_reasons(rows)
    assert "negative deaths -1" in reasons and "another row of this game is invalid" in reasons


def test_kills_above_team_kills(two_games):
    rows = two_games.with_columns(pl.when(pl.col("source_line") == 2).then(99).otherwise(pl.col("kills")).alias("kills"))
    assert any(r.startswith("kills 99 above team kills") for r in _first_game_reasons(rows))


def test_unknown_position_and_side(two_games):
    rows = two_games.with_columns(
        pl.when(pl.col("source_line") == 2).then(pl.lit("support")).otherwise(pl.col("position")).alias("position"),
        pl.when(pl.col("source_line") == 3).then(pl.lit("Green")).otherwise(pl.col("side")).alias("side"))
    reasons = _first_game_reasons(rows)
    assert "unknown position 'support'" in reasons and "unknown side 'Green'" in reasons


def test_bad_number_keeps_line_and_value(tmp_path):
    def break_kills(line: str, state={"n": 1}) -> str:
        state["n"] += 1
        fields = line.split(",")
        if state["n"] == 4:
            fields[25] = "lots"  # the kills column of the 123-column layout
        return ",".join(fields)

    path = slice_games(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv", tmp_path / "bad.csv", games=1, edit=break_kills)
    _, quarantined = split_valid(read_source_file(path, "x").rows)
    bad = quarantined.filter(pl.col("source_line") == 4)
    assert bad["reason"][0].startswith("kills='lots' is not a number")
    assert quarantined.height == 12

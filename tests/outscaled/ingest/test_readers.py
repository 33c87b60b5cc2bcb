"""Every layout in the real data parses into canonical, typed rows."""

from pathlib import Path

import polars as pl
import pytest

from outscaled.ingest.readers import UnreadableFileError, read_source_file
from tests.conftest import SAMPLE_DATA, slice_games

# file, layout, rows, first year, last year (from ../shared/data/README.md)
SHARED_FILES = [
    ("oracles_elixir/lck_2024_full_season.csv", "oracles_elixir", 482 * 12, 2024, 2024),
    ("oracles_elixir/lck_2025_apr_sep.csv", "oracles_elixir", 406 * 12, 2025, 2025),
    ("oracles_elixir/all_leagues_2024_jan.csv", "oracles_elixir", 320 * 12, 2024, 2024),
    ("oracles_elixir/all_leagues_2025_jan.csv", "oracles_elixir", 434 * 12, 2025, 2025),
    ("oracles_elixir/lck_lpl_2024_jan_feb.csv", "oracles_elixir", 165 * 12, 2024, 2024),
    ("oracles_elixir/lec_2022_snake_case.csv", "oracles_elixir", 243 * 12, 2022, 2022),
    ("oracles_elixir/worlds_2016.csv", "oracles_elixir", None, 2016, 2016),
    ("oracles_elixir_team_rows/lck_2019_2023_team_rows.csv", "oracles_elixir", None, 2019, 2023),
    ("oracles_elixir_team_rows/major_leagues_2023_team_rows.csv", "oracles_elixir", 1235 * 2, 2023, 2023),
    ("oracles_elixir_team_rows/2020_team_rows_old_layout.csv", "oracles_elixir_old_layout", None, 2020, 2020),
    ("oracles_elixir_team_rows/2021_team_rows_old_layout.csv", "oracles_elixir_old_layout", None, 2021, 2021),
    ("reduced/major_leagues_2025_team_games.parquet", "reduced_team_games", 5184, 2025, 2025),
    ("reduced/major_leagues_2025_player_kda.parquet", "reduced_player_kda", 25920, None, None),
]


@pytest.mark.parametrize(("relative", "layout", "rows", "first_year", "last_year"), SHARED_FILES)
def test_every_shared_layout_parses(shared_data: Path, relative, layout, rows, first_year, last_year):
    parsed = read_source_file(shared_data / relative, "checksum")
    frame = parsed.rows
    assert parsed.layout == layout
    if rows is not None:
        assert frame.height == rows
    assert (frame["row_errors"] == "").all(), frame.filter(pl.col("row_errors") != "")["row_errors"][0]
    assert frame["game_id"].null_count() <= frame.height * 0.01  # the 2020 team-rows file has a few id-less rows
    assert set(frame["position"].unique()) <= {"top", "jng", "mid", "bot", "sup", "team"}
    if first_year is not None:
        assert frame["date"].null_count() == 0
        assert frame["date"].dt.year().min() == first_year
        assert frame["date"].dt.year().max() == last_year


def test_spreadsheet_day_first_dates_and_bom(shared_data: Path):
    frame = read_source_file(shared_data / "oracles_elixir/lck_2024_full_season.csv", "x").rows
    assert frame["game_id"][0].startswith(("ESPORTS", "LOLTMNT"))  # the BOM did not eat the first header
    assert str(frame["date"][0]) == "2024-01-17 08:20:00"  # written as 17/01/2024 8:20


def test_leading_index_column_is_dropped(shared_data: Path):
    frame = read_source_file(shared_data / "oracles_elixir/lck_2025_apr_sep.csv", "x").rows
    assert frame["game_id"][0] == "LOLTMNT02_242547"
    assert frame["player_id"].null_count() == frame.height  # dropped in this file, so null, not invented


def test_snake_case_layout_maps_winner_and_booleans():
    frame = read_source_file(SAMPLE_DATA / "lec_2022_snake_case.csv", "x").rows
    assert set(frame["result"].unique()) == {0, 1}
    assert set(frame["playoffs"].unique()) <= {0, 1}
    assert frame["gold_at_10"].null_count() < frame.height  # gold_at_10_mins
    assert frame["patch"][0] == "12.01"


def test_old_layout_maps_player_team_and_participant():
    frame = read_source_file(SAMPLE_DATA / "2021_team_rows_old_layout.csv", "x").rows
    assert set(frame["participant_id"].unique()) == {100, 200}
    assert frame["team_name"][0] == "DWG KIA"
    assert (frame["position"] == "team").all()


def test_reduced_game_length_interval_is_decoded(shared_data: Path):
    reduced = read_source_file(shared_data / "reduced/major_leagues_2025_team_games.parquet", "x").rows
    full = read_source_file(shared_data / "oracles_elixir/lck_2025_apr_sep.csv", "x").rows
    pair = reduced.join(full.filter(pl.col("position") == "team"), on=["game_id", "team_name"], suffix="_full")
    assert pair.height > 400
    assert (pair["game_length"] == pair["game_length_full"]).all()
    assert (pair["result"] == pair["result_full"]).all()


def test_month_first_dates_with_trailing_spaces():
    frame = read_source_file(SAMPLE_DATA / "worlds_2022.csv", "x").rows
    assert frame["date"].null_count() == 0
    assert str(frame["date"].min())[:10] == "2022-09-01"


def test_undecidable_dates_name_the_file_and_the_fix(tmp_path: Path):
    # Real Worlds rows, kept only where both day and month are 12 or less.
    def small_day(line: str) -> bool:
        date = line.split(",")[7].strip().split(" ")[0].split("/")
        return int(date[0]) <= 12 and int(date[1]) <= 12

    path = slice_games(SAMPLE_DATA / "worlds_2022.csv", tmp_path / "ambiguous.csv", keep=small_day)
    with pytest.raises(UnreadableFileError, match=r"ambiguous\.csv: .*--date-order ambiguous\.csv=dmy"):
        read_source_file(path, "x")
    assert read_source_file(path, "x", date_order="mdy").rows["date"].null_count() == 0


def test_ragged_line_is_reported_with_its_line_number(tmp_path: Path):
    def cut_line_5(line: str, state={"n": 1}) -> str:
        state["n"] += 1
        return ",".join(line.split(",")[:20]) + "\n" if state["n"] == 5 else line

    path = slice_games(SAMPLE_DATA / "worlds_2022.csv", tmp_path / "broken.csv", games=2, edit=cut_line_5)
    with pytest.raises(UnreadableFileError, match=r"broken\.csv: line 5: expected \d+ fields"):
        read_source_file(path, "x")


def test_non_oracles_elixir_file_is_refused(tmp_path: Path):
    path = tmp_path / "notes.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(UnreadableFileError, match="notes.csv: line 1: not an Oracle's Elixir layout"):
        read_source_file(path, "x")

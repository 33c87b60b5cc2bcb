"""Ingestion against a real pyiceberg SQL catalog: counts, de-duplication, idempotence, failure safety."""

from pathlib import Path

import polars as pl
import pytest

from outscaled.ingest.pipeline import IngestError, ingest_paths
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.tables import read_table
from outscaled.config import load_settings
from tests.conftest import SAMPLE_DATA, slice_games

AUDIT = ["load_id"]  # differs per run by design; every other column must be identical


def _ingest(catalog, settings, paths, load_id="test"):
    return ingest_paths(catalog, settings.landing_dir, [Path(p) for p in paths], load_id)


def _table(catalog, name: str) -> pl.DataFrame:
    frame = read_table(catalog.load_table(f"bronze.{name}"))
    return frame.drop(AUDIT).sort(frame.drop(AUDIT).columns, nulls_last=True)


def _snapshots(catalog) -> dict[str, int | None]:
    result = {}
    for name in ("player_games", "team_games", "quarantine", "source_files", "drafts"):
        snapshot = catalog.load_table(f"bronze.{name}").current_snapshot()
        result[name] = snapshot.snapshot_id if snapshot else None
    return result


@pytest.mark.full_data
def test_oracles_elixir_folder_gives_2755_games_twice(catalog, settings, shared_data):
    folder = shared_data / "oracles_elixir"
    first = _ingest(catalog, settings, [folder])
    assert first.merges["player_games"].games_added == 2755
    second = _ingest(catalog, settings, [folder])
    assert second.files_ingested == [] and len(second.files_skipped) == 13
    players = read_table(catalog.load_table("bronze.player_games"), ("game_id",))
    teams = read_table(catalog.load_table("bronze.team_games"), ("game_id",))
    assert players.height == 27_550 and players["game_id"].n_unique() == 2_755
    assert teams.height == 5_510


@pytest.mark.full_data
def test_overlapping_files_in_any_order_give_identical_tables(tmp_path, monkeypatch, shared_data):
    files = [shared_data / "oracles_elixir" / n for n in
             ("lck_2024_full_season.csv", "lck_lpl_2024_jan_feb.csv", "all_leagues_2024_jan.csv")]
    results = []
    for order, name in ((files, "forward"), (files[::-1], "backward"), ([files[1], files[0], files[2], files[1]], "mixed")):
        monkeypatch.setenv("OUTSCALED_HOME", str(tmp_path / name))
        settings = load_settings()
        catalog = open_catalog(settings)
        for path in order:  # one file per run: the order really matters to the merge
            _ingest(catalog, settings, [path], load_id=name)
        results.append((_table(catalog, "player_games"), _table(catalog, "team_games")))
    games = 482 + 165 + 320 - 70 - 50
    assert results[0][0]["game_id"].n_unique() == games
    for players, teams in results[1:]:
        assert players.equals(results[0][0]) and teams.equals(results[0][1])


def test_more_complete_source_wins_whatever_the_order(catalog, settings, tmp_path):
    """The same real game from two files: full rows beat a copy missing columns."""
    full = slice_games(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv", tmp_path / "full.csv", games=3)
    # Fewer columns: the same real rows without the 15-minute stats (a smaller export of the same games).
    lines = full.read_text().splitlines()
    header = lines[0].split(",")
    keep = [i for i, h in enumerate(header) if "15" not in h]
    reduced = tmp_path / "reduced.csv"
    reduced.write_text("\n".join(",".join(line.split(",")[i] for i in keep) for line in lines) + "\n")
    _ingest(catalog, settings, [reduced])
    report = _ingest(catalog, settings, [full])
    assert report.merges["player_games"].games_replaced == 3
    stored = read_table(catalog.load_table("bronze.player_games"))
    assert stored.height == 30 and set(stored["source_file"]) == {"full.csv"}
    assert stored["gold_at_15"].null_count() == 0


def test_unparseable_file_commits_nothing_and_is_kept(catalog, settings, tmp_path):
    _ingest(catalog, settings, [SAMPLE_DATA / "worlds_2022.csv"])
    before = _snapshots(catalog)

    def truncate(line: str, state={"n": 1}) -> str:
        state["n"] += 1
        return line[:40] + "\n" if state["n"] == 7 else line

    broken = slice_games(SAMPLE_DATA / "lec_2022_snake_case.csv", tmp_path / "broken.csv", games=3, edit=truncate)
    good = SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"
    with pytest.raises(IngestError, match=r"broken\.csv: line 7: expected 123 fields"):
        _ingest(catalog, settings, [good, broken])
    assert _snapshots(catalog) == before
    kept = list(settings.landing_dir.glob("*/broken.csv"))
    assert len(kept) == 1 and kept[0].read_bytes() == broken.read_bytes()


def test_quarantine_records_reason_file_and_line(catalog, settings):
    report = _ingest(catalog, settings, [SAMPLE_DATA / "2021_team_rows_old_layout.csv"])
    quarantine = read_table(catalog.load_table("bronze.quarantine"))
    assert report.quarantined_rows == quarantine.height > 0
    one_row_games = quarantine.filter(pl.col("reason") == "game has 1 team rows, expected 2")
    assert one_row_games.height > 0
    assert set(quarantine["source_file"]) == {"2021_team_rows_old_layout.csv"}
    assert quarantine["source_line"].min() >= 2
    stored = read_table(catalog.load_table("bronze.team_games"), ("game_id",))
    assert not set(one_row_games["game_id"]) & set(stored["game_id"])


def test_reduced_player_file_needs_its_team_games(catalog, settings):
    with pytest.raises(IngestError, match="major_leagues_2025_team_games.parquet"):
        _ingest(catalog, settings, [SAMPLE_DATA / "major_leagues_2025_player_kda.parquet"])
    _ingest(catalog, settings, [SAMPLE_DATA / "major_leagues_2025_team_games.parquet",
                                SAMPLE_DATA / "major_leagues_2025_player_kda.parquet"])
    players = read_table(catalog.load_table("bronze.player_games"))
    assert players.height == 25_920 and players["date"].null_count() == 0 and players["result"].null_count() == 0


def test_reduced_player_file_is_dated_from_stored_team_games_in_a_later_run(catalog, settings):
    _ingest(catalog, settings, [SAMPLE_DATA / "major_leagues_2025_team_games.parquet"])
    _ingest(catalog, settings, [SAMPLE_DATA / "major_leagues_2025_player_kda.parquet"])
    players = read_table(catalog.load_table("bronze.player_games"))
    teams = read_table(catalog.load_table("bronze.team_games"), ("game_id", "team_name", "date", "league", "result"))
    assert players.height == 25_920 and players["date"].null_count() == 0 and players["result"].null_count() == 0
    dated = players.join(teams, on=["game_id", "team_name"], suffix="_team")
    assert dated.height == players.height  # every player row's (game, team) has its stored team row
    assert (dated["date"] == dated["date_team"]).all() and (dated["league"] == dated["league_team"]).all()
    assert (dated["result"] == dated["result_team"]).all()


@pytest.mark.full_data
def test_drafts_parquet_lands_in_its_own_table(catalog, settings, shared_data):
    _ingest(catalog, settings, [shared_data / "reduced" / "drafts_2014_2025.parquet"])
    drafts = read_table(catalog.load_table("bronze.drafts"), ("game_id",))
    assert drafts.height == drafts["game_id"].n_unique() > 90_000

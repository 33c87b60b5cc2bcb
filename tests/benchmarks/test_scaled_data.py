"""The scaled-data generator (benchmarks/scaled_data.py) on slices of the real files of every layout:
copies change only game ids, player/team identifiers and dates, keep each file's quirks, stay consistent
across files, and the platform's own ingestion sees exactly N times the games."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from benchmarks.scaled_data import (
    DAYS_PER_COPY, UnsupportedFileError, copy_folder, date_shift_days, rekeyed, write_scaled_data,
)
from outscaled.ingest.dates import detect_date_order, parse_dates
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.sql import run_query

FACTOR = 3
# Per sliced file: the headers whose values a copy may change (everything else must keep its bytes).
CHANGED = {
    "oracles_elixir/lck_2024_full_season.csv": {"gameid", "date", "playername", "playerid", "teamname", "teamid"},
    "oracles_elixir/lck_lpl_2024_jan_feb.csv": {"gameid", "date", "playername", "playerid", "teamname", "teamid"},
    "oracles_elixir/lck_2025_apr_sep.csv": {"gameid", "date", "playername", "teamname"},
    "oracles_elixir/lec_2022_snake_case.csv": {"game_id", "date", "player_name", "player_id", "team_name", "team_id"},
    "oracles_elixir/worlds_2016.csv": {"gameid", "date", "playername", "playerid", "teamname", "teamid"},
    # the old layout's `playerid` is a participant id (100/200), not an identifier: it stays
    "oracles_elixir_team_rows/2020_team_rows_old_layout.csv": {"gameid", "date", "player", "team"},
    "reduced/major_leagues_2025_team_games.parquet": {"gameid", "date", "teamname", "opponent"},
    "reduced/major_leagues_2025_player_kda.parquet": {"gameid", "teamname", "playername"},
    "reduced/drafts_2014_2025.parquet": {"gameid", "date"},
}
GAME_COLUMNS = {"gameid", "game_id"}
KEPT = {"", "NA", "unknown player", "unknown team"}

Games = list[tuple[str, list[dict[str, str]]]]


def _slice_csv(source: Path, target: Path, choose: Callable[[Games], set[str]]) -> set[str]:
    """Header and the raw lines (bytes unchanged: BOM, CRLF) of the games `choose` picks."""
    lines = source.read_bytes().split(b"\n")
    header = [h.lstrip("\ufeff").strip() for h in lines[0].decode().rstrip("\r").split(",")]
    position = next(i for i, h in enumerate(header) if h in GAME_COLUMNS)
    games: dict[str, list[dict[str, str]]] = {}
    for line in lines[1:]:
        if line.strip():
            fields = line.decode().rstrip("\r").split(",")
            games.setdefault(fields[position], []).append(dict(zip(header, fields)))
    chosen = choose(list(games.items()))
    kept = [line for line in lines[1:] if line.strip() and line.decode().split(",")[position] in chosen]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\n".join([lines[0], *kept, b""]))
    return chosen


def _first(n: int, where: Callable[[list[dict[str, str]]], bool] = lambda rows: True) -> Callable[[Games], set[str]]:
    return lambda games: set([game for game, rows in games if where(rows)][:n])


@pytest.fixture(scope="module")
def real_slice(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few real games of every layout: the LCK file and the LCK/LPL file share games, as the full files do;
    one 2020 game has a single team row (quarantined by ingestion)."""
    out = tmp_path_factory.mktemp("real-slice")
    full = "oracles_elixir/lck_2024_full_season.csv"
    lck = _slice_csv(shared_data / full, out / full, _first(4))
    _slice_csv(shared_data / "oracles_elixir/lck_lpl_2024_jan_feb.csv", out / "oracles_elixir/lck_lpl_2024_jan_feb.csv",
               lambda games: lck | {next(g for g, _ in games if g not in lck)})
    for name in ("oracles_elixir/lck_2025_apr_sep.csv", "oracles_elixir/lec_2022_snake_case.csv"):
        _slice_csv(shared_data / name, out / name, _first(2))
    # late-October Worlds games: M/D dates whose day stays above 12 once shifted, so M/D/YYYY is still detected
    _slice_csv(shared_data / "oracles_elixir/worlds_2016.csv", out / "oracles_elixir/worlds_2016.csv",
               _first(2, lambda rows: re.match(r"10/2\d/", rows[0]["date"]) is not None))
    old = "oracles_elixir_team_rows/2020_team_rows_old_layout.csv"
    whole, single = _first(2, lambda rows: len(rows) == 2), _first(1, lambda rows: len(rows) == 1)
    _slice_csv(shared_data / old, out / old, lambda games: whole(games) | single(games))
    reduced = shared_data / "reduced"
    teams = pq.read_table(reduced / "major_leagues_2025_team_games.parquet")
    ids = pc.unique(teams.column("gameid")).slice(0, 3)
    (out / "reduced").mkdir()
    for name in ("major_leagues_2025_team_games", "major_leagues_2025_player_kda", "drafts_2014_2025"):
        table = pq.read_table(reduced / f"{name}.parquet")
        pq.write_table(table.filter(pc.is_in(table.column("gameid"), ids)), out / "reduced" / f"{name}.parquet")
    return out


@pytest.fixture(scope="module")
def scaled(real_slice: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scaled") / "data"
    result = write_scaled_data(real_slice, out, FACTOR)
    assert result.files == FACTOR * len(CHANGED)
    return out


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_bytes().decode().split("\n")
    header = [h.lstrip("\ufeff").strip() for h in lines[0].rstrip("\r").split(",")]
    return header, [line.split(",") for line in lines[1:]]


def _frame(path: Path) -> pl.DataFrame:
    """Every column as text, exactly as in the file (CSV) or as stored (Parquet)."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    header, rows = _csv_rows(path)
    return pl.DataFrame([dict(zip(header, row)) for row in rows if len(row) == len(header)])


def test_copy_zero_is_the_original_bytes(real_slice: Path, scaled: Path) -> None:
    for name in CHANGED:
        assert (copy_folder(scaled, 0) / name).read_bytes() == (real_slice / name).read_bytes(), name


def test_copies_change_only_keys_and_dates_and_keep_each_files_quirks(real_slice: Path, scaled: Path) -> None:
    for name, allowed in CHANGED.items():
        original = (real_slice / name).read_bytes()
        for copy in range(1, FACTOR):
            path = copy_folder(scaled, copy) / name
            if name.endswith(".csv"):
                copied = path.read_bytes()
                assert copied.split(b"\n")[0] == original.split(b"\n")[0]  # header, BOM included
                assert copied.count(b"\r\n") == original.count(b"\r\n") and copied.count(b"\n") == original.count(b"\n")
            else:
                assert pq.read_schema(path).equals(pq.read_schema(real_slice / name), check_metadata=True)
            before, after = _frame(real_slice / name), _frame(path)
            assert before.columns == after.columns and before.height == after.height
            changed = {c for c in before.columns if not before[c].equals(after[c], null_equal=True)}
            game_column = next(c for c in before.columns if c in GAME_COLUMNS)
            assert game_column in changed and changed <= allowed, (name, changed - allowed)


def _keys(folder: Path) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {"game": set(), "name": set()}
    for name, allowed in CHANGED.items():
        frame = _frame(folder / name)
        for column in allowed - {"date"}:
            values = {v.strip() for v in frame[column].drop_nulls().to_list()} - KEPT
            keys["game" if column in GAME_COLUMNS else "name"] |= {v.lower() for v in values}
    return keys


def test_keys_of_different_copies_are_disjoint(scaled: Path) -> None:
    keys = [_keys(copy_folder(scaled, copy)) for copy in range(FACTOR)]
    for kind in ("game", "name"):
        assert keys[0][kind]
        for a in range(FACTOR):
            for b in range(a + 1, FACTOR):
                assert not keys[a][kind] & keys[b][kind], (kind, a, b)
                assert len(keys[a][kind]) == len(keys[b][kind])


def test_games_shared_by_files_stay_one_game_in_every_copy(scaled: Path) -> None:
    for copy in range(FACTOR):
        folder = copy_folder(scaled, copy)
        lck = set(_frame(folder / "oracles_elixir/lck_2024_full_season.csv")["gameid"].to_list())
        both = lck & set(_frame(folder / "oracles_elixir/lck_lpl_2024_jan_feb.csv")["gameid"].to_list())
        assert len(both) == 4
        teams = _frame(folder / "reduced/major_leagues_2025_team_games.parquet")
        players = _frame(folder / "reduced/major_leagues_2025_player_kda.parquet")
        drafts = _frame(folder / "reduced/drafts_2014_2025.parquet")
        assert players.join(teams, on=["gameid", "teamname"], how="anti").is_empty()  # K/D/A rows find their team rows
        assert set(drafts["gameid"]) == set(teams["gameid"])
        # a real player in two files is the same re-keyed player in both
        players_lck = set(_frame(folder / "oracles_elixir/lck_2024_full_season.csv")["playername"]) - KEPT
        players_lpl = set(_frame(folder / "oracles_elixir/lck_lpl_2024_jan_feb.csv")["playername"]) - KEPT
        assert len(players_lck & players_lpl) >= 10


def _dates(frame: pl.DataFrame) -> pl.Series:
    if frame["date"].dtype != pl.String:
        return frame["date"]
    return parse_dates(frame["date"], detect_date_order(frame["date"].drop_nulls()))


def test_dates_move_by_the_documented_days_in_the_files_own_format(real_slice: Path, scaled: Path) -> None:
    for name, allowed in CHANGED.items():
        if "date" not in allowed:
            continue
        before = _frame(real_slice / name)
        for copy in range(1, FACTOR):
            after = _frame(copy_folder(scaled, copy) / name)
            shift = timedelta(days=copy * DAYS_PER_COPY)
            assert date_shift_days(copy) == copy * DAYS_PER_COPY
            assert (_dates(after) - _dates(before)).drop_nulls().unique().to_list() == [shift], name
            if before["date"].dtype == pl.String:  # same text shape: separators, time of day, trailing blanks
                shape = [re.sub(r"\d+", "9", v) for v in before["date"].to_list()]
                assert [re.sub(r"\d+", "9", v) for v in after["date"].to_list()] == shape, name
                assert [v.split(" ", 1)[1:] for v in after["date"]] == [v.split(" ", 1)[1:] for v in before["date"]]


def test_rekeying_keeps_the_platforms_normalised_key_and_leaves_placeholders() -> None:
    assert rekeyed("Faker ", 2) == "Faker~2 "  # lower(trim(x)) of the copy is the original key plus ~2
    assert rekeyed("T1", 0) == "T1"
    for kept in ("", "NA", "unknown player", "Unknown Team"):
        assert rekeyed(kept, 5) == kept
    with pytest.raises(UnsupportedFileError):
        rekeyed("odd~name", 1)


def _bronze_counts(catalog) -> dict[str, int]:
    query = """select (select count(distinct game_id) from bronze.player_games) as player_games,
                      (select count(*) from bronze.player_games) as player_rows,
                      (select count(distinct game_id) from bronze.team_games) as team_games,
                      (select count(*) from bronze.team_games) as team_rows,
                      (select count(*) from bronze.drafts) as drafts,
                      (select count(*) from bronze.quarantine) as quarantined"""
    return run_query(catalog, query).pl().to_dicts()[0]


def test_ingestion_of_factor_n_holds_n_times_the_games_of_factor_one(scaled: Path, settings, catalog) -> None:
    ingest_paths(catalog, settings.landing_dir, [copy_folder(scaled, 0)], "factor-1")
    one = _bronze_counts(catalog)
    assert one["player_games"] == 14 and one["quarantined"] == 1  # the 2020 game with a single team row
    report = ingest_paths(catalog, settings.landing_dir, [scaled], "factor-n")
    assert len(report.files_skipped) == len(CHANGED)  # copy 0: already ingested, same bytes
    assert _bronze_counts(catalog) == {name: FACTOR * count for name, count in one.items()}

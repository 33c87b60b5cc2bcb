"""A real ingest process killed (SIGKILL) at every commit boundary: readers never see half a load, and the
re-run converges on the tables one clean run gives, with nothing doubled (quarantine included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from outscaled.config import load_settings
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.dbt_iceberg import create_source_views
from outscaled.lakehouse.loads import LOADED_TABLES, read_as_of_cut
from outscaled.lakehouse.sql import run_query
from outscaled.lakehouse.tables import read_table
from tests.conftest import SAMPLE_DATA, ingest_process, slice_games

BOUNDARIES = ["bronze.loads:started", *[d.identifier for d in LOADED_TABLES], "bronze.loads:complete"]
# Differ per run or per home by design; every other column must be identical.
RUN_COLUMNS = ["load_id", "loaded_at", "landed_path"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("files")
    dropped = {"done": False}

    def drop_first_team_row(line: str) -> bool:  # that game is quarantined: 1 team row, expected 2
        if not dropped["done"] and ",team," in line:
            dropped["done"] = True
            return False
        return True

    return {
        "a": slice_games(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv", folder / "a.csv", games=6),
        "b": slice_games(SAMPLE_DATA / "lec_2022_snake_case.csv", folder / "b.csv", games=6, keep=drop_first_team_row),
        "c": slice_games(SAMPLE_DATA / "worlds_2022.csv", folder / "c.csv", games=4),
    }


def _use_home(home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OUTSCALED_HOME", str(home))
    settings = load_settings()
    return settings, open_catalog(settings)


def _stored(catalog) -> dict[str, pl.DataFrame]:
    """Every bronze table as it is stored now (not as readers see it), run-specific columns dropped."""
    result = {}
    for definition in LOADED_TABLES:
        frame = read_table(catalog.load_table(definition.identifier))
        frame = frame.drop([c for c in RUN_COLUMNS if c in frame.columns])
        result[definition.identifier] = frame.sort(frame.columns, nulls_last=True)
    return result


def _seen_by_readers(catalog) -> dict[str, object]:
    """What the readers get: the tables as of the cut, `outscaled sql` over its views, and dbt's sources (the
    views the dbt plugin creates on its DuckDB connection)."""
    seen: dict[str, object] = {}
    for definition in LOADED_TABLES:
        frame = read_as_of_cut(catalog, definition.identifier)
        frame = frame.drop([c for c in RUN_COLUMNS if c in frame.columns])
        seen[definition.identifier] = frame.sort(frame.columns, nulls_last=True)
    sql = run_query(catalog, """
        select (select count(*) from bronze.player_games), (select count(*) from bronze.team_games),
               (select count(*) from bronze.quarantine), (select count(*) from bronze.source_files),
               (select count(distinct game_id) from bronze.player_games p
                where not exists (select 1 from bronze.team_games t where t.game_id = p.game_id))""").fetchone()
    seen["sql counts"] = sql
    with duckdb.connect(":memory:") as connection:
        assert {"player_games", "team_games"} <= set(create_source_views(connection, catalog))
        seen["dbt sources"] = connection.execute(
            "select (select count(*) from bronze.player_games), (select count(*) from bronze.team_games), "
            "(select count(distinct game_id) from bronze.player_games)").fetchone()
    return seen


def _assert_same(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for name in left:
        if isinstance(left[name], pl.DataFrame):
            assert left[name].equals(right[name]), f"{name} differs"
        else:
            assert left[name] == right[name], f"{name}: {left[name]} != {right[name]}"


@pytest.fixture(scope="module")
def clean_run(files, tmp_path_factory) -> dict[str, pl.DataFrame]:
    """The tables after A then B ingested with no interruption."""
    home = tmp_path_factory.mktemp("clean")
    assert ingest_process(home, "first", [files["a"]]) == 0
    assert ingest_process(home, "second", [files["b"]]) == 0
    return _stored(open_catalog(_settings_for(home)))


def _settings_for(home: Path):
    previous = os.environ.get("OUTSCALED_HOME")
    os.environ["OUTSCALED_HOME"] = str(home)
    try:
        return load_settings()
    finally:
        if previous is None:
            os.environ.pop("OUTSCALED_HOME")
        else:
            os.environ["OUTSCALED_HOME"] = previous


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_a_load_killed_at_a_commit_boundary_is_invisible_and_converges(boundary, files, clean_run, tmp_path,
                                                                     monkeypatch):
    home = tmp_path / "home"
    settings, catalog = _use_home(home, monkeypatch)
    ingest_paths(catalog, settings.landing_dir, [files["a"]], "first")
    before = _seen_by_readers(catalog)
    assert before["sql counts"][0] == 60 and before["sql counts"][4] == 0

    assert ingest_process(home, "second", [files["b"]], fault=boundary) == -signal.SIGKILL
    catalog = open_catalog(settings)
    if boundary != "bronze.loads:complete":
        _assert_same(_seen_by_readers(catalog), before)  # nothing of the killed load is visible

    assert ingest_process(home, "second-again", [files["b"]]) == 0
    catalog = open_catalog(settings)
    _assert_same(_stored(catalog), clean_run)
    after = _seen_by_readers(catalog)
    _assert_same({k: v for k, v in after.items() if k not in ("sql counts", "dbt sources")}, _stored(catalog))
    players = clean_run["bronze.player_games"]
    assert after["dbt sources"] == (players.height, clean_run["bronze.team_games"].height,
                                    players["game_id"].n_unique())  # dbt reads each row once
    assert after["sql counts"][2] == clean_run["bronze.quarantine"].height > 0  # quarantine not doubled
    assert after["sql counts"][4] == 0


def test_the_next_load_of_other_files_finishes_an_interrupted_one_first(files, clean_run, tmp_path, monkeypatch):
    home = tmp_path / "home"
    settings, catalog = _use_home(home, monkeypatch)
    ingest_paths(catalog, settings.landing_dir, [files["a"]], "first")
    assert ingest_process(home, "second", [files["b"]], fault="bronze.player_games") == -signal.SIGKILL

    report = ingest_paths(open_catalog(settings), settings.landing_dir, [files["c"]], "third", {"c.csv": "mdy"})
    assert report.files_resumed == ["b.csv"] and sorted(report.files_ingested) == ["b.csv", "c.csv"]
    catalog = open_catalog(settings)
    seen = _seen_by_readers(catalog)
    assert seen["sql counts"][4] == 0  # every game with player rows has its team rows
    ledger = read_as_of_cut(catalog, "bronze.source_files", ("source_file",))["source_file"].sort().to_list()
    assert ledger == ["a.csv", "b.csv", "c.csv"]
    without_c = {name: frame.filter(~pl.col("source_file").is_in(["c.csv"])) if "source_file" in frame.columns
                 else frame for name, frame in _stored(catalog).items()}
    _assert_same(without_c, clean_run)


def test_header_only_and_empty_files_are_warned_about_and_not_recorded(catalog, settings, tmp_path):
    header_only = slice_games(SAMPLE_DATA / "worlds_2022.csv", tmp_path / "header_only.csv", games=0)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    report = ingest_paths(catalog, settings.landing_dir, [header_only, empty], "load")
    assert report.files_ingested == []
    assert [w.split(":")[0] for w in report.warnings] == ["header_only.csv", "empty.csv"]
    assert "not recorded as ingested" in report.warnings[0]
    assert read_as_of_cut(catalog, "bronze.source_files").is_empty()
    # the same export, now complete, is ingested (it was never mistaken for one already loaded)
    full = slice_games(SAMPLE_DATA / "worlds_2022.csv", tmp_path / "full" / "header_only.csv", games=2)
    assert ingest_paths(catalog, settings.landing_dir, [full], "load-2", {"header_only.csv": "mdy"}
                        ).files_ingested == ["header_only.csv"]

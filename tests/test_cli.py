"""The `outscaled` command line against a fresh home: ingest through Dagster, then SQL."""

import json

import pytest

from outscaled.cli import main
from tests.conftest import SAMPLE_DATA


def _count(capsys, sql: str) -> int:
    capsys.readouterr()
    assert main(["sql", sql, "--format", "json"]) == 0
    return next(iter(json.loads(capsys.readouterr().out)[0].values()))


@pytest.mark.full_data
def test_ingest_oracles_elixir_twice_prints_27550(home, shared_data, capsys):
    folder = str(shared_data / "oracles_elixir")
    assert main(["ingest", folder]) == 0
    assert main(["ingest", folder]) == 0
    assert _count(capsys, "select count(*) from bronze.player_games") == 27_550
    assert _count(capsys, "select count(distinct game_id) from bronze.player_games") == 2_755


def test_ingest_then_materialize_picks_up_pending_landed_files(home, capsys):
    assert main(["ingest", str(SAMPLE_DATA / "worlds_2022.csv")]) == 0
    assert _count(capsys, "select count(*) from bronze.source_files") == 1
    assert main(["materialize"]) == 0  # nothing pending: same tables
    assert _count(capsys, "select count(distinct game_id) from bronze.team_games") == 155
    # the embedded redis-server the job started (feature snapshot) stopped with the command, data kept
    from outscaled.config import load_settings
    from outscaled.online.redis_server import connect, embedded_running, stop_embedded
    from outscaled.online.snapshot import list_snapshots

    settings = load_settings()
    assert not embedded_running(settings)
    assert main(["snapshots", "list"]) == 0 and not embedded_running(settings)
    try:
        assert len(list_snapshots(connect(settings))) == 1  # materialize published it; read back from disk
    finally:
        stop_embedded(settings)


def test_ingest_missing_path_is_a_clear_error(home, capsys):
    assert main(["ingest", "/no/such/file.csv"]) == 1
    assert "/no/such/file.csv: no such file or folder" in capsys.readouterr().err


def test_ambiguous_dates_can_be_configured(home, tmp_path, capsys):
    from tests.conftest import slice_games

    path = slice_games(SAMPLE_DATA / "worlds_2022.csv", tmp_path / "w.csv", games=4)
    assert main(["ingest", str(path)]) == 1
    assert "--date-order w.csv=dmy" in capsys.readouterr().err
    assert main(["ingest", str(path), "--date-order", "w.csv=mdy"]) == 0
    assert _count(capsys, "select count(*) from bronze.player_games where date >= '2022-09-01'") == 40


def test_demo_runs_on_bundled_data(home, capsys):
    assert main(["demo"]) == 0
    err = capsys.readouterr().err
    assert "games per league and year" in err and "Data from Oracle's Elixir" in err

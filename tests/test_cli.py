"""The `outscaled` command line against a fresh home: ingest through Dagster, then SQL."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

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
    _assert_no_observations_in_place_of_checks(settings)
    assert not embedded_running(settings)
    assert main(["snapshots", "list"]) == 0 and not embedded_running(settings)
    try:
        assert len(list_snapshots(connect(settings))) == 1  # materialize published it; read back from disk
    finally:
        stop_embedded(settings)


def _assert_no_observations_in_place_of_checks(settings) -> None:
    """Every test the runs executed is reported as a check result: dagster-dbt logs a dbt test outside the
    run's check selection (a test on a bronze source, say) as an AssetObservation instead."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        runs = instance.get_runs()
        checks = [e for run in runs for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)]
        observed = [e.dagster_event.asset_key.to_user_string() for run in runs
                    for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_OBSERVATION)]
    assert runs and checks and not observed, observed


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


def _cut_short(line_number: int):
    """An edit for slice_games: the body line `line_number` (1 = first row) loses its last three fields."""
    seen = [0]

    def edit(line: str) -> str:
        seen[0] += 1
        return line.rsplit(",", 3)[0] + "\n" if seen[0] == line_number else line
    return edit


def test_a_rejected_file_ends_the_command_with_its_line_and_what_to_do(home, tmp_path, capsys):
    from tests.conftest import slice_games

    bad = slice_games(SAMPLE_DATA / "worlds_2022.csv", tmp_path / "bad.csv", games=2, edit=_cut_short(5))
    message = re.compile(r"^bad\.csv: line 6: expected \d+ fields as in the header, found \d+")
    # the installed command in a process of its own: its exit status and its whole stderr
    command = Path(sys.executable).with_name("outscaled")
    run = subprocess.run([str(command), "ingest", str(bad)], capture_output=True, text=True, env=os.environ,
                         timeout=600)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1].strip()
    assert message.match(last), run.stderr[-2000:]
    assert "fix or remove" in run.stderr and "error: " in run.stderr
    for trace in ("Traceback", "Stack Trace", 'File "', "DagsterExecutionStepExecutionError"):
        assert trace not in run.stderr, run.stderr[-3000:]

    # --debug (before or after the command) adds the stack trace above the same last line
    assert main(["ingest", str(bad), "--debug"]) == 1
    err = capsys.readouterr().err
    assert message.match(err.strip().splitlines()[-1].strip())
    assert "in _parse_all" in err and "Stack Trace" in err
    assert err.index("in _parse_all") < err.rindex("error: ")


def test_an_error_outside_dagster_has_its_traceback_only_under_debug(home, capsys):
    assert main(["sql", "delete from bronze.player_games"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: ")
    assert main(["--debug", "sql", "delete from bronze.player_games"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.strip().splitlines()[-1].startswith("error: ")


def test_a_header_only_file_is_a_warning_and_not_recorded(home, tmp_path, capsys):
    from tests.conftest import slice_games

    path = slice_games(SAMPLE_DATA / "worlds_2022.csv", tmp_path / "header_only.csv", games=0)
    assert main(["ingest", str(path)]) == 0
    out = capsys.readouterr().err  # the command's report goes to stderr, results (sql) to stdout
    assert "warning: header_only.csv: no rows (empty, or a header only); not recorded as ingested" in out
    assert _count(capsys, "select count(*) from bronze.source_files") == 0

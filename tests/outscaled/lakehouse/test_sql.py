"""Read-only SQL over the real Iceberg tables through DuckDB's iceberg extension."""

import json
from pathlib import Path

import pytest

from outscaled.cli import main
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.sql import ReadOnlyViolation, run_query
from tests.conftest import SAMPLE_DATA


@pytest.fixture
def ingested(catalog, settings):
    ingest_paths(catalog, settings.landing_dir, [SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"], "sql-test")
    return catalog


def test_namespaced_tables_are_queryable(ingested):
    rows = run_query(ingested, "select count(*), count(distinct game_id) from bronze.player_games").fetchall()
    assert rows == [(1650, 165)]


def test_types_survive_to_sql(ingested):
    kinds = dict(run_query(ingested, "select column_name, column_type from (describe bronze.player_games)").fetchall())
    assert kinds["date"].startswith("TIMESTAMP") and kinds["kills"] == "BIGINT" and kinds["dpm"] == "DOUBLE"


@pytest.mark.parametrize("statement", ["drop view bronze.player_games", "create table x as select 1",
                                       "insert into bronze.player_games select * from bronze.player_games",
                                       "select 1; delete from bronze.player_games"])
def test_writes_are_refused(ingested, statement):
    with pytest.raises(ReadOnlyViolation):
        run_query(ingested, statement)


def test_cli_formats(ingested, capsys):
    assert main(["sql", "select position, count(*) n from bronze.player_games group by 1 order by 1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"position": p, "n": 330} for p in ("bot", "jng", "mid", "sup", "top")]
    assert main(["sql", "select count(*) as n from bronze.team_games", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\n330\n"
    assert main(["sql", "select count(*) as n from bronze.team_games"]) == 0
    assert "330" in capsys.readouterr().out


def test_cli_reports_sql_errors_without_traceback(ingested, capsys):
    assert main(["sql", "select nope from bronze.player_games"]) == 1
    assert "nope" in capsys.readouterr().err

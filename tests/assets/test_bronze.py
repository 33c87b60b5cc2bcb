"""The bronze multi-asset materialized by Dagster on real files, with metadata for the UI."""

from dagster import DagsterInstance, materialize

from assets.bronze import bronze_ingest
from orchestration.resources import build_resources
from tests.conftest import SAMPLE_DATA


def test_materialize_attaches_counts_and_partitions(home, settings):
    run_config = {"ops": {"bronze_ingest": {"config": {"paths": [str(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"),
                                                                 str(SAMPLE_DATA / "2021_team_rows_old_layout.csv")]}}}}
    result = materialize([bronze_ingest], run_config=run_config, resources=build_resources(settings),
                         instance=DagsterInstance.ephemeral())
    assert result.success
    metadata = {e.asset_key.to_user_string(): {k: v.value for k, v in e.metadata.items()}
                for e in result.asset_materializations_for_node("bronze_ingest")}
    players = metadata["bronze/player_games"]
    assert players["rows_written"] == 1650 and players["total_rows"] == 1650
    assert sorted(players["partitions_written"]) == ["2024/LCK", "2024/LPL"]
    assert metadata["bronze/quarantine"]["total_rows"] == 25
    assert metadata["bronze/quarantine"]["quarantine_reasons"]["game has N team rows, expected N"] > 0

"""The Dagster code location loads, its asset graph is what we expect, and the sensor sees new files."""

import shutil

from dagster import build_sensor_context

from tests.conftest import SAMPLE_DATA

EXPECTED_ASSETS = {"bronze/player_games", "bronze/team_games", "bronze/drafts", "bronze/quarantine",
                   "bronze/source_files"}


def test_definitions_load_with_expected_graph(home):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == EXPECTED_ASSETS
    assert {graph.get(k).group_name for k in graph.get_all_asset_keys()} == {"bronze"}
    assert defs.resolve_job_def("ingest_bronze") is not None
    assert defs.resolve_sensor_def("watched_folder_sensor") is not None


def test_sensor_requests_one_run_per_new_file(home, settings):
    from orchestration.sensors import watched_folder_sensor

    settings.watch_dir.mkdir(parents=True)
    shutil.copy(SAMPLE_DATA / "worlds_2022.csv", settings.watch_dir)
    shutil.copy(SAMPLE_DATA / "worlds_2022.csv", settings.watch_dir / "same_content.csv")
    requests = list(watched_folder_sensor(build_sensor_context()))
    assert len({r.run_key for r in requests}) == 1  # same content, same run key: ingested once
    config = requests[0].run_config["ops"]["bronze_ingest"]["config"]
    assert config["paths"][0].endswith(".csv")

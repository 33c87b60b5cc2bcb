"""The Dagster code location loads, its asset graph is what we expect, and the sensor sees new files."""

import shutil

from dagster import AssetKey, build_sensor_context

from tests.conftest import SAMPLE_DATA

EXPECTED_ASSETS = {
    "bronze/player_games", "bronze/team_games", "bronze/drafts", "bronze/quarantine", "bronze/source_files", "bronze/loads",
    "silver/series", "gold/player_features", "gold/team_features", "gold/player_state_history",
    "gold/team_state_history", "gold/feature_drift", "gold/team_conceded_state_history",
    "gold/position_baseline_history", "gold/patches", "gold/team_roster_state", "gold/calibration_drift", "models/backtest",
    "models/stat_line_models", "online/feature_snapshot", "analytics/prediction_feedback",
}
EXPECTED_GX_CHECKS = {"gx_bronze_player_games", "gx_bronze_team_games", "gx_silver_series",
                      "gx_gold_player_features", "gx_gold_team_features"}


def test_definitions_load_with_expected_graph(home):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    lakehouse = {k for k in keys if not k.startswith("transforms/")}
    assert lakehouse == EXPECTED_ASSETS
    assert {graph.get(k).group_name for k in graph.get_all_asset_keys()} == {"bronze", "silver", "gold", "models", "online",
                                                                              "analytics"}
    # the data flow: gold features depend (through the dbt graph) on the bronze tables
    upstream = graph.get(AssetKey(["gold", "player_features"])).parent_keys
    assert AssetKey(["transforms", "int_player_games"]) in upstream
    assert AssetKey(["bronze", "player_games"]) in graph.get(AssetKey(["transforms", "stg_player_games"])).parent_keys
    checks = {c.name for c in graph.asset_check_keys}
    assert EXPECTED_GX_CHECKS <= checks
    assert any(name.startswith("unique_combination_of_columns_player_features") for name in checks)
    assert defs.resolve_job_def("ingest_bronze") is not None
    for sensor in ("watched_folder_sensor", "new_bronze_data_sensor", "feature_drift_sensor",
                   "calibration_drift_sensor"):
        assert defs.resolve_sensor_def(sensor) is not None
    assert defs.resolve_schedule_def("weekly_retrain") is not None
    assert AssetKey(["models", "stat_line_models"]) in graph.get(AssetKey(["online", "feature_snapshot"])).parent_keys


def test_sensor_requests_one_run_per_new_file(home, settings):
    from orchestration.sensors import watched_folder_sensor

    settings.watch_dir.mkdir(parents=True)
    shutil.copy(SAMPLE_DATA / "worlds_2022.csv", settings.watch_dir)
    shutil.copy(SAMPLE_DATA / "worlds_2022.csv", settings.watch_dir / "same_content.csv")
    requests = list(watched_folder_sensor(build_sensor_context()))
    assert len({r.run_key for r in requests}) == 1  # same content, same run key: ingested once
    config = requests[0].run_config["ops"]["bronze_ingest"]["config"]
    assert config["paths"][0].endswith(".csv")

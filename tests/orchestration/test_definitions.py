"""The Dagster code location loads, its asset graph is what we expect, and the sensor sees new files."""

import shutil

from dagster import AssetKey, build_sensor_context

from tests.conftest import SAMPLE_DATA

EXPECTED_ASSETS = {
    "bronze/player_games", "bronze/team_games", "bronze/drafts", "bronze/quarantine", "bronze/source_files", "bronze/loads",
    "silver/series", "gold/player_features", "gold/team_features", "gold/player_state_history",
    "gold/team_state_history", "gold/feature_drift", "gold/team_conceded_state_history",
    "gold/position_baseline_history", "gold/patches", "gold/calibration_drift", "models/backtest",
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
    for sensor in ("watched_folder_sensor", "match_results_stream_sensor", "new_bronze_data_sensor", "feature_drift_sensor",
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


def test_stream_sensor_requests_a_consuming_run_that_lands_the_events_in_bronze(home, settings, monkeypatch):
    """Events waiting on the (embedded Redis) stream: the sensor asks for one consuming run of the bronze
    job; that run, executed here, leaves the games in bronze and the backlog at zero."""
    from dagster import DagsterInstance, materialize

    import assets.bronze
    from orchestration.resources import build_resources
    from orchestration.sensors import match_results_stream_sensor
    from outscaled.lakehouse.loads import read_as_of_cut
    from outscaled.online.redis_server import start_embedded, stop_embedded
    from outscaled.stream.connect import open_stream
    from outscaled.stream.publish import file_events, publish_events
    from tests.conftest import slice_games

    instance = DagsterInstance.ephemeral()
    assert "not reachable" in match_results_stream_sensor(build_sensor_context(instance=instance)).skip_message
    start_embedded(settings)
    try:
        assert "no events waiting" in match_results_stream_sensor(build_sensor_context(instance=instance)).skip_message
        games = slice_games(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv", home / "in" / "lck.csv", games=4)
        publish_events(open_stream(settings), file_events(games))
        request = match_results_stream_sensor(build_sensor_context(instance=instance))
        config = request.run_config["ops"]["bronze_ingest"]["config"]
        assert config["from_stream"] is True and request.tags["outscaled/backlog"] == "4"

        result = materialize([assets.bronze.bronze_ingest], resources=build_resources(settings),
                             run_config=request.run_config, instance=instance)
        assert result.success
        from outscaled.lakehouse.catalog import open_catalog

        stored = read_as_of_cut(open_catalog(settings), "bronze.player_games")
        assert stored["game_id"].n_unique() == 4 and stored.height == 40
        assert open_stream(settings).backlog() == 0
        assert "no events waiting" in match_results_stream_sensor(build_sensor_context(instance=instance)).skip_message
    finally:
        stop_embedded(settings)


def test_production_retraining_runs_each_step_in_a_pod_of_its_own():
    from dagster_k8s import k8s_job_executor

    from orchestration.jobs import retrain_executor, retrain_job
    from outscaled.config import Environment

    assert retrain_executor(Environment.PROD) is k8s_job_executor
    assert retrain_executor(Environment.LOCAL) is None and retrain_executor(Environment.CI) is None
    assert retrain_job.executor_def is None  # the tests run locally: Dagster's default executor

"""A failing blocking Great Expectations check stops the assets downstream of it."""

from dagster import DagsterInstance, materialize
from pyiceberg.expressions import And, EqualTo

from orchestration.definitions import all_asset_checks, all_assets
from orchestration.resources import build_resources
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.loads import record_complete
from outscaled.lakehouse.tables import read_table
from outscaled.lakehouse.writes import write_rows
from tests.conftest import SAMPLE_DATA


def test_broken_bronze_blocks_the_transforms(home, settings, catalog):
    ingest_paths(catalog, settings.landing_dir, [SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"], "setup")
    players = catalog.load_table("bronze.player_games")
    victim = players.scan(selected_fields=("game_id",), limit=1).to_arrow()["game_id"][0].as_py()
    players.delete(And(EqualTo("game_id", victim), EqualTo("position", "top"), EqualTo("side", "Blue")))
    record_complete(catalog, "broken")  # readers see bronze as of complete loads: make the broken edit one

    result = materialize([*all_assets, *all_asset_checks], selection="*", resources=build_resources(settings),
                         instance=DagsterInstance.ephemeral(), raise_on_error=False)
    evaluations = {e.event_specific_data.check_name: e.event_specific_data for e in result.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    check = evaluations["gx_bronze_player_games"]
    assert not check.passed
    failures = check.metadata["failures"].value
    assert any(f["column"] == "rows_in_game" and f["unexpected_count"] == 9 for f in failures)
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "bronze/player_games" in materialized
    assert not {"gold/player_features", "silver/series", "gold/feature_drift"} & materialized
    assert not catalog.table_exists("gold.player_features")


def _ingest_run(instance, settings, paths: list) -> dict:
    """One bronze run on `instance` (its check history carries over); the player check's evaluation."""
    config = {"ops": {"bronze_ingest": {"config": {"paths": [str(p) for p in paths]}}}}
    result = materialize([*all_assets, *all_asset_checks], selection="group:bronze", run_config=config,
                         resources=build_resources(settings), instance=instance, raise_on_error=False)
    return next(e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                and e.event_specific_data.check_name == "gx_bronze_player_games")


def test_a_check_validates_the_games_written_since_it_last_passed_and_a_doubled_game_whole(home, settings,
                                                                                             catalog):
    instance = DagsterInstance.ephemeral()
    first = _ingest_run(instance, settings, [SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"])
    assert first.passed and first.metadata["validated"].value == "the whole table"
    stored = read_table(catalog.load_table("bronze.player_games"), ("game_id",)).height

    second = _ingest_run(instance, settings, [SAMPLE_DATA / "worlds_2022.csv"])
    since = first.metadata["validated_snapshot_id"].value
    assert second.passed and second.metadata["validated"].value == f"the games written since snapshot {since}"
    added = read_table(catalog.load_table("bronze.player_games"), ("game_id",)).height - stored
    assert second.metadata["rows"].value == added, "only the second file's games were validated"

    players = catalog.load_table("bronze.player_games")
    one_game = players.scan(row_filter=EqualTo("game_id", players.scan(selected_fields=("game_id",), limit=1)
                                               .to_arrow()["game_id"][0].as_py())).to_arrow()
    write_rows(players, one_game)  # the same game's rows again: a doubling written after the last pass
    record_complete(catalog, "doubled")
    doubled = _ingest_run(instance, settings, [])
    assert not doubled.passed and doubled.metadata["rows"].value == 20, "the game's older rows were read too"
    assert any(f["column"] == "rows_in_game" for f in doubled.metadata["failures"].value)
    again = _ingest_run(instance, settings, [])
    assert not again.passed, "a failed evaluation does not move the mark: the doubled game is validated again"

"""A failing blocking Great Expectations check stops the assets downstream of it."""

from dagster import DagsterInstance, materialize
from pyiceberg.expressions import And, EqualTo

from orchestration.definitions import all_asset_checks, all_assets
from orchestration.resources import build_resources
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.loads import record_complete
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

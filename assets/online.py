"""Online: the as-of-now feature snapshot published to Redis for the champion models."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.resources import LakehouseResource
from outscaled.config import load_settings
from outscaled.models.registry import champions, read_registry
from outscaled.online.redis_server import connect
from outscaled.online.snapshot import publish


@asset(key=AssetKey(["online", "feature_snapshot"]), group_name="online", kinds={"redis"},
       deps=[AssetKey(["models", "stat_line_models"]), AssetKey(["gold", "player_state_history"]),
             AssetKey(["gold", "team_state_history"]), AssetKey(["gold", "team_conceded_state_history"]),
             AssetKey(["gold", "position_baseline_history"]), AssetKey(["gold", "patches"])],
       description="Every player's and team's state after its latest game written to Redis under a new snapshot id; the "
                   "pointer switches only once the snapshot is complete.")
def feature_snapshot(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
    catalog = lakehouse.catalog()
    serving = champions(read_registry(catalog))
    info = publish(connect(load_settings()), catalog, serving)
    context.log.info(f"published snapshot {info.snapshot_id}: {info.players} players, {info.teams} teams")
    return MaterializeResult(metadata={"snapshot_id": info.snapshot_id, "players": info.players,
                                       "teams": info.teams, "model_versions": serving})

"""Calibration drift: the champions' served answers scored on games settled since their training end."""

from datetime import datetime, timezone

import polars as pl
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets.resources import LakehouseResource
from outscaled.config import load_settings
from outscaled.lakehouse.dbt_iceberg import write_iceberg
from outscaled.models.monitoring import ECE_LIMIT, MIN_RANGES, settled_calibration
from outscaled.models.pipeline import average_opponent_frame, load_frames
from outscaled.models.registry import champions, read_registry
from outscaled.models.store import load_bundle


@asset(key=AssetKey(["gold", "calibration_drift"]), group_name="gold", kinds={"iceberg", "polars"},
       deps=[AssetKey(["gold", "player_features"]), AssetKey(["models", "stat_line_models"])],
       description=f"ECE of the champions' served map-range answers on games settled after their training end; "
                   f"`drift_detected` (ECE > {ECE_LIMIT} on >= {MIN_RANGES} ranges) triggers retraining.")
def calibration_drift(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
    catalog = lakehouse.catalog()
    serving = champions(read_registry(catalog))
    settings = load_settings()
    bundles = {version: load_bundle(settings, version) for version in set(serving.values())}
    players, _ = load_frames(catalog)
    table = settled_calibration(bundles, serving, players, average_opponent_frame(catalog, players)).with_columns(
        pl.lit(datetime.now(timezone.utc).replace(tzinfo=None)).alias("computed_at"))
    write_iceberg(catalog, "gold.calibration_drift", table.to_arrow())
    drifted = table.filter(pl.col("drifted"))
    cells = [f"{r['stat']} maps {r['range']} {r['mode']}/{r['opponent']}: ece {r['ece']:.3f} (n {r['n']})"
             for r in drifted.iter_rows(named=True)]
    context.log.info(f"calibration drift: {cells or 'none'} over {int(table['n'].sum()) if table.height else 0} ranges")
    return MaterializeResult(metadata={"drift_detected": bool(cells), "drifted": MetadataValue.json(cells),
                                       "settled_ranges": int(table["n"].sum()) if table.height else 0})

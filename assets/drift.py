"""Feature drift: PSI of the main features between the training window and the newest data."""

from datetime import datetime, timezone

import polars as pl
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets.resources import LakehouseResource
from outscaled.features.drift import MAIN_FEATURES, feature_drift, newest_window
from outscaled.lakehouse.dbt_iceberg import write_iceberg
from outscaled.lakehouse.loads import read_as_of_cut


@asset(key=AssetKey(["gold", "feature_drift"]), deps=[AssetKey(["gold", "player_features"])], group_name="gold",
       kinds={"iceberg", "polars"},
       description="PSI per main feature, newest 30 days vs everything before; `drift_detected` triggers retraining.")
def feature_drift_asset(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
    catalog = lakehouse.catalog()
    features = read_as_of_cut(catalog, "gold.player_features", ("game_start", *MAIN_FEATURES))
    window = newest_window(features["game_start"])
    drift = feature_drift(features, window).with_columns(
        pl.lit(datetime.now(timezone.utc).replace(tzinfo=None)).alias("computed_at"))
    write_iceberg(catalog, "gold.feature_drift", drift.to_arrow())
    drifted = drift.filter(pl.col("drifted"))["feature"].to_list()
    context.log.info(f"drift: {drifted or 'none'}")
    return MaterializeResult(metadata={
        "drift_detected": bool(drifted),
        "drifted_features": MetadataValue.json(drifted),
        "psi": MetadataValue.json({r["feature"]: round(r["psi"], 4) for r in drift.iter_rows(named=True)}),
        "reference_end": str(window.reference_end),
        "current_rows": int(drift["current_rows"][0]),
    })

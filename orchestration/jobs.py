"""Jobs: named selections of assets that sensors and schedules launch."""

from dagster import AssetSelection, define_asset_job

ingest_bronze_job = define_asset_job(
    "ingest_bronze", selection=AssetSelection.groups("bronze"),
    description="Land and ingest Oracle's Elixir files into the bronze Iceberg tables.")

retrain_job = define_asset_job(
    "retrain", selection=AssetSelection.groups("silver", "gold", "models", "online"),
    description="Rebuild silver and gold, backtest, train, gate new model versions, publish a feature snapshot.")

refresh_features_job = define_asset_job(
    "refresh_features",
    selection=AssetSelection.groups("silver", "gold", "online")
    - AssetSelection.assets(["gold", "feature_drift"], ["gold", "calibration_drift"]),
    description="Rebuild silver and gold and publish a feature snapshot for the serving champions, without "
                "retraining: what new games from the stream need to be served.")

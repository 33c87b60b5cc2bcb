"""Jobs: named selections of assets that sensors and schedules launch."""

from dagster import AssetSelection, ExecutorDefinition, define_asset_job

from outscaled.config import Environment, load_settings


def retrain_executor(environment: Environment) -> ExecutorDefinition | None:
    """In production (OUTSCALED_ENV=prod, the K8sRunLauncher of infra/dagster) every step of the retraining job
    runs in a pod of its own (dagster-k8s's k8s_job_executor), so the backtest and the training get the pod
    their `dagster-k8s/config` tag asks for while dbt and the snapshot keep the run's; elsewhere Dagster's
    default executor (the steps in processes of the run)."""
    if environment is not Environment.PROD:
        return None
    from dagster_k8s import k8s_job_executor

    return k8s_job_executor


ingest_bronze_job = define_asset_job(
    "ingest_bronze", selection=AssetSelection.groups("bronze"),
    description="Land and ingest Oracle's Elixir files into the bronze Iceberg tables.")

retrain_job = define_asset_job(
    "retrain", selection=AssetSelection.groups("silver", "gold", "models", "online"),
    executor_def=retrain_executor(load_settings().environment),
    description="Rebuild silver and gold, backtest, train, gate new model versions, publish a feature snapshot.")

refresh_features_job = define_asset_job(
    "refresh_features",
    selection=AssetSelection.groups("silver", "gold", "online")
    - AssetSelection.assets(["gold", "feature_drift"], ["gold", "calibration_drift"]),
    description="Rebuild silver and gold and publish a feature snapshot for the serving champions, without "
                "retraining: what new games from the stream need to be served.")

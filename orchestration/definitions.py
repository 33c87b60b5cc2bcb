"""The one place that composes assets, checks, jobs, schedules, sensors and resources."""

from dagster import Definitions, load_assets_from_modules

import assets.analytics
import assets.bronze
import assets.drift
import assets.models
import assets.monitoring
import assets.online
import assets.transforms
from assets.checks import gx_checks
from orchestration.jobs import ingest_bronze_job, refresh_features_job, retrain_job
from orchestration.resources import build_resources
from orchestration.schedules import weekly_retrain_schedule
from orchestration.sensors import (
    calibration_drift_sensor, feature_drift_sensor, match_results_stream_sensor, new_bronze_data_sensor,
    watched_folder_sensor,
)

all_assets = load_assets_from_modules([assets.bronze, assets.transforms, assets.drift, assets.models, assets.monitoring,
                                        assets.online, assets.analytics])
all_asset_checks = gx_checks

defs = Definitions(
    assets=all_assets,
    asset_checks=all_asset_checks,
    jobs=[ingest_bronze_job, retrain_job, refresh_features_job],
    schedules=[weekly_retrain_schedule],
    sensors=[watched_folder_sensor, match_results_stream_sensor, new_bronze_data_sensor, feature_drift_sensor,
             calibration_drift_sensor],
    resources=build_resources(),
)

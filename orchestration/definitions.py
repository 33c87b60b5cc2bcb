"""The one place that composes assets, checks, jobs, schedules, sensors and resources."""

from dagster import Definitions, load_assets_from_modules

import assets.bronze
import assets.drift
import assets.transforms
from assets.checks import gx_checks
from orchestration.jobs import ingest_bronze_job
from orchestration.resources import build_resources
from orchestration.sensors import watched_folder_sensor

all_assets = load_assets_from_modules([assets.bronze, assets.transforms, assets.drift])
all_asset_checks = gx_checks

defs = Definitions(
    assets=all_assets,
    asset_checks=all_asset_checks,
    jobs=[ingest_bronze_job],
    sensors=[watched_folder_sensor],
    resources=build_resources(),
)

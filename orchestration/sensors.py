"""Sensors: new files dropped in the watched folder flow into bronze without a code change."""

from __future__ import annotations

from pathlib import Path

from dagster import (
    AssetKey, EventLogEntry, RunRequest, SensorEvaluationContext, SkipReason, asset_sensor, sensor,
)

from orchestration.jobs import ingest_bronze_job, retrain_job
from outscaled.config import load_settings
from outscaled.ingest.landing import SUPPORTED_SUFFIXES
from outscaled.ingest.readers import file_checksum


def new_file_requests(watch_dir: Path) -> list[RunRequest]:
    """One run per file content: the checksum is the run key, so a file is ingested once however often seen."""
    if not watch_dir.exists():
        return []
    requests = []
    for path in sorted(watch_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            requests.append(RunRequest(
                run_key=file_checksum(path),
                run_config={"ops": {"bronze_ingest": {"config": {"paths": [str(path)]}}}},
                tags={"outscaled/source_file": path.name}))
    return requests


@sensor(job=ingest_bronze_job, minimum_interval_seconds=30,
        description="Ingests new Oracle's Elixir files dropped into OUTSCALED_WATCH_DIR (default $OUTSCALED_HOME/inbox).")
def watched_folder_sensor(context: SensorEvaluationContext):
    watch_dir = load_settings().watch_dir
    requests = new_file_requests(watch_dir)
    if not requests:
        yield SkipReason(f"no .csv or .parquet files in {watch_dir}")
    yield from requests


def _metadata(event: EventLogEntry) -> dict:
    materialization = event.asset_materialization
    return {k: v.value for k, v in materialization.metadata.items()} if materialization else {}


@asset_sensor(asset_key=AssetKey(["bronze", "player_games"]), job=retrain_job, minimum_interval_seconds=60,
              description="Retrains when an ingestion wrote new player rows (new bronze partitions).")
def new_bronze_data_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry):
    metadata = _metadata(asset_event)
    if not metadata.get("rows_written"):
        return SkipReason("the latest ingestion wrote no new player rows")
    return RunRequest(run_key=f"bronze-{asset_event.run_id}",
                      tags={"outscaled/reason": f"{metadata['rows_written']} new player rows"})


def _retrain_if_flagged(asset_event: EventLogEntry, prefix: str, describe, skip: str):
    """A retraining run when the drift asset's materialization flagged drift, else the reason to skip."""
    metadata = _metadata(asset_event)
    if not metadata.get("drift_detected"):
        return SkipReason(skip)
    return RunRequest(run_key=f"{prefix}-{asset_event.run_id}", tags={"outscaled/reason": describe(metadata)})


@asset_sensor(asset_key=AssetKey(["gold", "feature_drift"]), job=retrain_job, minimum_interval_seconds=60,
              description="Retrains when the drift asset flags a feature (PSI above the threshold).")
def feature_drift_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry):
    return _retrain_if_flagged(asset_event, "drift", lambda m: f"drift in {m.get('drifted_features')}",
                               "no feature drift flagged")


@asset_sensor(asset_key=AssetKey(["gold", "calibration_drift"]), job=retrain_job, minimum_interval_seconds=60,
              description="Retrains (and recalibrates on the recent window) when the champions' served answers "
                          "drift out of calibration on settled games.")
def calibration_drift_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry):
    return _retrain_if_flagged(asset_event, "calibration", lambda m: f"calibration drift: {m.get('drifted')}",
                               "the served answers are calibrated on the games settled so far")

"""Sensors: new files dropped in the watched folder, and new events on the match-results stream, flow into
bronze without a code change; new bronze data is transformed and served (retrained for files)."""

from __future__ import annotations

from pathlib import Path

from dagster import (
    AssetKey, DagsterRunStatus, EventLogEntry, RunRequest, RunsFilter, SensorEvaluationContext, SkipReason,
    asset_sensor, sensor,
)

from orchestration.jobs import ingest_bronze_job, refresh_features_job, retrain_job
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


STREAM_TAG = "outscaled/source"
_ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


def stream_backlog() -> tuple[int | None, str]:
    """(events waiting on the configured stream, where it lives); None when the stream cannot be reached
    (the embedded Redis is not running: nothing can have been published to it)."""
    from outscaled.stream.connect import open_stream

    settings = load_settings()
    try:
        stream = open_stream(settings, start_redis=False)
    except Exception as error:  # noqa: BLE001  (reported as the reason to skip)
        return None, str(error)
    try:
        return stream.backlog(), stream.description
    except Exception as error:  # noqa: BLE001
        return None, f"{stream.description}: {error}"
    finally:
        stream.close()


@sensor(job=ingest_bronze_job, minimum_interval_seconds=10,
        description="Consumes the match-results stream into bronze (land, ingest, acknowledge) when events are "
                    "waiting and no consuming run is already in progress.")
def match_results_stream_sensor(context: SensorEvaluationContext):
    backlog, where = stream_backlog()
    if backlog is None:
        return SkipReason(f"the stream is not reachable ({where})")
    if backlog == 0:
        return SkipReason(f"no events waiting on {where}")
    active = context.instance.get_runs(RunsFilter(job_name=ingest_bronze_job.name, statuses=_ACTIVE,
                                                  tags={STREAM_TAG: "stream"}), limit=1)
    if active:
        return SkipReason(f"{backlog} events waiting; run {active[0].run_id[:8]} is consuming")
    return RunRequest(run_config={"ops": {"bronze_ingest": {"config": {"from_stream": True}}}},
                      tags={STREAM_TAG: "stream", "outscaled/backlog": str(backlog)})


def _metadata(event: EventLogEntry) -> dict:
    materialization = event.asset_materialization
    return {k: v.value for k, v in materialization.metadata.items()} if materialization else {}


@asset_sensor(asset_key=AssetKey(["bronze", "player_games"]), jobs=[retrain_job, refresh_features_job],
              minimum_interval_seconds=30,
              description="When an ingestion wrote new player rows: retrains after files, and after games from "
                          "the stream rebuilds the features and publishes a snapshot (no retraining).")
def new_bronze_data_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry):
    metadata = _metadata(asset_event)
    if not metadata.get("rows_written"):
        return SkipReason("the latest ingestion wrote no new player rows")
    run = context.instance.get_run_by_id(asset_event.run_id)
    from_stream = bool(run and run.tags.get(STREAM_TAG) == "stream")
    job = refresh_features_job if from_stream else retrain_job
    return RunRequest(run_key=f"bronze-{asset_event.run_id}", job_name=job.name,
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

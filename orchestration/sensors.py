"""Sensors: new files dropped in the watched folder flow into bronze without a code change."""

from __future__ import annotations

from pathlib import Path

from dagster import RunRequest, SensorEvaluationContext, SkipReason, sensor

from orchestration.jobs import ingest_bronze_job
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

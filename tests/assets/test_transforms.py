"""The dbt project as Dagster assets on the Spark target (OUTSCALED_DBT_TARGET=spark): the same asset
graph the DuckDB default runs, materialized through Dagster into the shared Iceberg catalog."""

import shutil
import signal

import polars as pl

import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

from assets.transforms import transforms_dbt
from orchestration.resources import build_resources
from outscaled.ingest.pipeline import ingest_paths
from tests.conftest import SAMPLE_DATA, ingest_process

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="the Spark target needs a Java runtime (java not on PATH)")


def test_dagster_materializes_silver_series_on_spark(home, settings, catalog, monkeypatch):
    ingest_paths(catalog, settings.landing_dir, [SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"], "setup")
    # a second load killed after all its table commits but before it completed: Spark must not read it
    assert ingest_process(home, "killed", [SAMPLE_DATA / "lec_2022_snake_case.csv"],
                          fault="bronze.source_files") == -signal.SIGKILL
    monkeypatch.setenv("OUTSCALED_DBT_TARGET", "spark")
    series = AssetKey(["silver", "series"])
    result = materialize([transforms_dbt], selection=AssetSelection.assets(series).upstream(),
                         resources=build_resources(settings), instance=DagsterInstance.ephemeral())
    assert result.success
    assert series in {e.asset_key for e in result.get_asset_materialization_events()}
    table = catalog.load_table("silver.series")
    assert "spark.app.id" in table.current_snapshot().summary.additional_properties  # written by Spark
    series_rows = pl.from_arrow(table.scan().to_arrow())
    assert series_rows.height > 50
    assert set(series_rows["league"]) <= {"LCK", "LPL"}  # nothing of the killed load (LEC 2022)

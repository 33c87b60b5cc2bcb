"""The Spark target on a Postgres catalog (OUTSCALED_CATALOG_URI=postgresql+psycopg2://…): Iceberg's JDBC
catalog in Spark opens the same PostgreSQL tables pyiceberg writes. Real ingestion of a real file, then
DuckDB and Spark build silver.series into that catalog and agree."""

import shutil

import polars as pl
import pytest

from outscaled.config import load_settings
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.tables import read_table
from tests.conftest import SAMPLE_DATA, environment
from tests.transforms.helpers import assert_equal_frames, dbt_build

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="the Spark target needs a Java runtime (java not on PATH)")


def _series(settings) -> tuple[pl.DataFrame, dict]:
    table = open_catalog(settings).load_table("silver.series")
    return read_table(table).sort("series_id"), table.current_snapshot().summary.additional_properties


def test_duckdb_and_spark_build_into_one_postgres_catalog(home, tmp_path, postgres_url):
    with environment(OUTSCALED_CATALOG_URI=postgres_url, OUTSCALED_WAREHOUSE=(tmp_path / "warehouse").as_uri()):
        settings = load_settings()
        ingest_paths(open_catalog(settings), settings.landing_dir, [SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"],
                     "spark-postgres")
        duckdb_build = dbt_build(home, "--select", "+series")
        assert duckdb_build.returncode == 0, duckdb_build.stdout[-4000:]
        by_duckdb, _ = _series(settings)

        spark_build = dbt_build(home, "--target", "spark", "--select", "+series")
        assert spark_build.returncode == 0, spark_build.stdout[-4000:] + spark_build.stderr[-2000:]
        by_spark, snapshot = _series(settings)
    assert "spark.app.id" in snapshot  # rewritten by Spark, through the Postgres catalog
    assert by_spark.columns == by_duckdb.columns
    assert_equal_frames("silver.series", by_duckdb, by_spark)

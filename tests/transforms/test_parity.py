"""DuckDB and Spark build the same marts from the same bronze tables.

One home, a small real slice (LCK/LPL January-February 2024 with full rows, the drafts file's rows of the same
months, and 2021 games that have team rows only): `dbt build` on DuckDB, then `dbt build --target spark` (dbt-spark session mode, local[2], Iceberg's
Spark runtime from Maven Central, fetched on first use) into the same Iceberg catalog. Every mart must have
the same schema and rows, values equal within float tolerance; Spark's Elo must equal the Python oracle.
"""

import shutil

import polars as pl
import pyarrow.parquet as pq
import pytest

from outscaled.config import load_settings
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.sql import run_query
from tests.conftest import SAMPLE_DATA, slice_games
from tests.transforms.elo_oracle import elo_ratings
from tests.transforms.helpers import TOLERANCE, assert_equal_frames, dbt_build

MARTS = {
    "silver.series": ["series_id"],
    "gold.player_features": ["game_id", "player_key"],
    "gold.team_features": ["game_id", "team_key"],
    "gold.player_state_history": ["player_key", "last_game_id"],
    "gold.team_state_history": ["team_key", "last_game_id"],
    "gold.team_conceded_state_history": ["team_key", "position", "last_game_id"],
    "gold.position_baseline_history": ["league", "position", "day"],
    "gold.patches": ["patch"],
}

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="the Spark target needs a Java runtime (java not on PATH)")


def _read_marts(catalog) -> dict[str, tuple[list, pl.DataFrame, dict]]:
    marts = {}
    for identifier, keys in MARTS.items():
        table = catalog.load_table(identifier)
        schema = [(field.name, str(field.field_type)) for field in table.schema().fields]
        frame = pl.from_arrow(table.scan().to_arrow()).sort(keys)
        marts[identifier] = (schema, frame, table.current_snapshot().summary.additional_properties)
    return marts


@pytest.fixture
def sliced_home(home, tmp_path, shared_data):
    slice_games(SAMPLE_DATA / "2021_team_rows_old_layout.csv", tmp_path / "slice" / "2021_team_rows.csv", games=150)
    shutil.copy(SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv", tmp_path / "slice")
    drafts = pl.read_parquet(shared_data / "reduced" / "drafts_2014_2025.parquet")
    drafts.filter(pl.col("date").str.starts_with("2024-01") | pl.col("date").str.starts_with("2024-02")) \
        .write_parquet(tmp_path / "slice" / "drafts_2024_jan_feb.parquet")
    settings = load_settings()
    ingest_paths(open_catalog(settings), settings.landing_dir, [tmp_path / "slice"], "parity")
    return home


def test_duckdb_and_spark_build_equal_marts(sliced_home):
    duckdb_build = dbt_build(sliced_home)
    assert duckdb_build.returncode == 0, duckdb_build.stdout[-4000:]
    catalog = open_catalog(load_settings())
    by_duckdb = _read_marts(catalog)

    spark_build = dbt_build(sliced_home, "--target", "spark")
    assert spark_build.returncode == 0, spark_build.stdout[-4000:] + spark_build.stderr[-2000:]
    by_spark = _read_marts(open_catalog(load_settings()))

    for identifier in MARTS:
        duckdb_schema, duckdb_frame, _ = by_duckdb[identifier]
        spark_schema, spark_frame, spark_snapshot = by_spark[identifier]
        assert "spark.app.id" in spark_snapshot, f"{identifier} was not rewritten by Spark"
        assert spark_schema == duckdb_schema, identifier
        assert_equal_frames(identifier, duckdb_frame, spark_frame)
    # DuckDB's own Iceberg reader sees the tables Spark wrote.
    assert run_query(catalog, "select count(*) from gold.player_features").fetchone()[0] == \
        by_spark["gold.player_features"][1].height
    assert run_query(catalog, "select count(*) from bronze.drafts").fetchone()[0] > 300

    scratch = sliced_home / "spark" / "warehouse" / "intermediate.db"
    games = pl.from_arrow(pq.read_table(scratch / "int_games")).select("game_id", "game_start", "team_1", "team_2", "winner")
    rated = pl.from_arrow(pq.read_table(scratch / "int_team_elo"))
    expected = elo_ratings(games.to_dicts())
    assert rated.height == len(expected) > 500
    for game_id, team_key, before, after in rated.iter_rows():
        assert (before, after) == pytest.approx(expected[(game_id, team_key)], rel=TOLERANCE)

"""The production catalog option: the same Iceberg tables in a SQL catalog on a real PostgreSQL server
(OUTSCALED_CATALOG_URI=postgresql+psycopg2://…), written by the real ingestion."""

from dataclasses import replace

import psycopg2

from outscaled.config import load_settings
from outscaled.ingest.pipeline import ingest_paths
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.tables import read_table
from tests.conftest import SAMPLE_DATA

REAL_FILE = SAMPLE_DATA / "lck_lpl_2024_jan_feb.csv"


def _ingest(settings):
    catalog = open_catalog(settings)
    ingest_paths(catalog, settings.landing_dir, [REAL_FILE], "catalog-test")
    return catalog


def test_postgres_catalog_holds_the_same_tables_as_the_embedded_one(postgres_url, settings, tmp_path):
    on_postgres = replace(settings, home=tmp_path / "pg-home", catalog_uri=postgres_url,
                          warehouse=(tmp_path / "pg-warehouse").as_uri())
    embedded = _ingest(settings)  # the default: sqlite under the home
    served = _ingest(on_postgres)
    for table in ("bronze.player_games", "bronze.team_games", "bronze.source_files"):
        assert served.load_table(table).location().startswith(on_postgres.warehouse)
    columns = ("game_id", "player_name", "kills", "deaths", "assists", "total_cs")
    expected = read_table(embedded.load_table("bronze.player_games"), columns).sort(columns)
    actual = read_table(served.load_table("bronze.player_games"), columns).sort(columns)
    assert actual.height == 1650 and actual.equals(expected)
    # the catalog's state really is in PostgreSQL: Iceberg's JDBC-catalog tables, one row per table
    with psycopg2.connect(postgres_url.replace("postgresql+psycopg2://", "postgresql://")) as connection:
        with connection.cursor() as cursor:
            cursor.execute("select table_namespace, table_name from iceberg_tables where catalog_name = %s",
                           (on_postgres.catalog_name,))
            assert ("bronze", "player_games") in set(cursor.fetchall())
    # and a second process (a fresh catalog object on the same URI) sees the committed tables
    reopened = open_catalog(replace(load_settings(), home=on_postgres.home, catalog_uri=postgres_url,
                                    warehouse=on_postgres.warehouse))
    assert read_table(reopened.load_table("bronze.player_games"), ("game_id",)).height == 1650

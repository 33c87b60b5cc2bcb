"""Whether older data files hold any of a load's games: DuckDB's scan for local files and pyiceberg's reader
for remote ones give the same answer."""

import pyarrow as pa
import pytest

from outscaled.lakehouse import increments
from outscaled.lakehouse.dbt_iceberg import write_iceberg


def _files(catalog):
    write_iceberg(catalog, "silver.keys", pa.table({"game_id": ["g1", "g2", "g3"], "value": [1, 2, 3]}))
    table = catalog.load_table("silver.keys")
    return table, table.current_snapshot().snapshot_id, list(table.scan().plan_files())


@pytest.mark.parametrize("reader", ["duckdb", "pyiceberg"])
def test_holds_any_finds_a_stored_game_and_only_then(catalog, monkeypatch, reader):
    if reader == "pyiceberg":  # as for files on s3://: no local path, so pyiceberg reads them
        monkeypatch.setattr(increments, "_local_path", lambda location: None)
    table, snapshot, tasks = _files(catalog)
    assert increments._holds_any(table, snapshot, tasks, "game_id", pa.array(["x", "g2"], pa.string()))
    assert not increments._holds_any(table, snapshot, tasks, "game_id", pa.array(["x", "y"], pa.string()))


def test_local_path_of_a_data_file_location():
    assert increments._local_path("file:///w/data/a.parquet") == "/w/data/a.parquet"
    assert increments._local_path("/w/data/a.parquet") == "/w/data/a.parquet"
    assert increments._local_path("s3://bucket/data/a.parquet") is None

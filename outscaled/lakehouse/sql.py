"""Read-only SQL over the lakehouse: DuckDB with every Iceberg table as a `namespace.table` view.

Each view is `iceberg_scan('<current metadata file>')` through DuckDB's own Iceberg reader: at the current
snapshot, or for bronze at the newest complete load and for dbt's marts at the newest build
(`outscaled.lakehouse.loads`), so a load or build still running or killed half-way is never seen. Only read statements are accepted.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
from pyiceberg.catalog import Catalog

from outscaled.lakehouse.loads import Cut, newest_build, newest_cut, reader_snapshot

READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA"}


class ReadOnlyViolation(ValueError):
    """The SQL would change something; the lakehouse SQL entry point only reads."""


def _extension_file(package: str, name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the Python package {package} is missing; reinstall the project")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"


def load_iceberg_extension(connection: duckdb.DuckDBPyConnection) -> None:
    """Load avro + iceberg from the pip packages (the registry of extensions is not reachable offline)."""
    for package, name in (("duckdb_extension_avro", "avro"), ("duckdb_extension_iceberg", "iceberg")):
        connection.execute(f"LOAD '{_extension_file(package, name)}'")


def _local_path(location: str) -> str:
    return location[len("file://"):] if location.startswith("file://") else location


def lakehouse_connection(catalog: Catalog) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with a view per Iceberg table, named `namespace.table`."""
    connection = duckdb.connect(":memory:")
    load_iceberg_extension(connection)
    cut, build = newest_cut(catalog), newest_build(catalog)
    for namespace in catalog.list_namespaces():
        schema = ".".join(namespace)
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for identifier in catalog.list_tables(namespace):
            scan = scan_sql(catalog, identifier, cut, build)
            connection.execute(f'CREATE VIEW "{schema}"."{identifier[-1]}" AS {scan}')
    return connection


def scan_sql(catalog: Catalog, identifier: tuple[str, ...], cut: Cut | None, build: dict[str, int]) -> str:
    """The table as readers must see it (`outscaled.lakehouse.loads`): bronze at the newest complete load (no
    rows before the first), dbt's marts at the newest build, any other table at its current snapshot."""
    name = ".".join(identifier)
    scan = f"iceberg_scan('{_local_path(catalog.load_table(name).metadata_location)}'"
    pinned, snapshot_id = reader_snapshot(catalog, name, cut, build)
    if not pinned:
        return f"SELECT * FROM {scan})"
    if snapshot_id is None:
        return f"SELECT * FROM {scan}) LIMIT 0"
    return f"SELECT * FROM {scan}, snapshot_from_id={snapshot_id})"


def check_read_only(connection: duckdb.DuckDBPyConnection, sql: str) -> None:
    statements = connection.extract_statements(sql)
    if not statements:
        raise ReadOnlyViolation("no SQL statement given")
    for statement in statements:
        kind = statement.type.name
        if kind not in READ_ONLY_STATEMENTS:
            raise ReadOnlyViolation(f"only read statements are allowed here (got {kind}); "
                                    "change tables through the pipeline instead")


def run_query(catalog: Catalog, sql: str) -> duckdb.DuckDBPyRelation | None:
    connection = lakehouse_connection(catalog)
    check_read_only(connection, sql)
    statements = connection.extract_statements(sql)
    for statement in statements[:-1]:
        connection.execute(statement)
    return connection.sql(statements[-1].query)

"""Read-only SQL over the lakehouse: DuckDB with every Iceberg table as a `namespace.table` view.

Each view is `iceberg_scan('<current metadata file>')`, so queries read exactly the table's current
snapshot through DuckDB's own Iceberg reader. Only read statements are accepted.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
from pyiceberg.catalog import Catalog

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
    for namespace in catalog.list_namespaces():
        schema = ".".join(namespace)
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for identifier in catalog.list_tables(namespace):
            table = catalog.load_table(identifier)
            location = _local_path(table.metadata_location)
            connection.execute(f'CREATE VIEW "{schema}"."{identifier[-1]}" AS '
                               f"SELECT * FROM iceberg_scan('{location}')")
    return connection


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

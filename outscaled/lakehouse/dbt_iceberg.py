"""dbt-duckdb plugin: read sources from, and write marts back to, the project's Iceberg catalog.

When dbt opens its DuckDB connection, every bronze table becomes the view `bronze.<table>` over DuckDB's own
Iceberg reader at the newest complete load (`outscaled.lakehouse.loads`), never half a load: the staging
models read only the columns they name, in parallel, where loading a whole source through pyiceberg into
a DuckDB table first read all 169 columns of every row (at 100x of the shared data, 104 s of the build for
player_games and drafts alone). Marts use
`materialized='external'` with `plugin: outscaled_iceberg`: dbt-duckdb writes the model to Parquet, then
`store()` commits that file's rows to the Iceberg table `<schema>.<model>` as one overwrite snapshot
(creating the table, or evolving its schema by name, first). Catalog settings come from the one
environment switch (`outscaled.config`), not from profiles.yml. The plugin also registers the Elo fold
(`outscaled.features.elo`) on dbt's connection, which macros/elo.sql calls.
"""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.duckdb.utils import SourceConfig, TargetConfig
from pyiceberg.catalog import Catalog

from outscaled.config import load_settings
from outscaled.features.elo import register_duckdb_functions
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.loads import newest_build, newest_cut
from outscaled.lakehouse.sql import load_iceberg_extension, scan_sql
from outscaled.lakehouse.writes import without_empty_delete_warning

SOURCE_NAMESPACE = "bronze"


def write_iceberg(catalog: Catalog, identifier: str, data: pa.Table) -> None:
    """Replace the contents of `identifier` with `data` in one snapshot (schema evolved by column name)."""
    data = _without_nanoseconds(data)
    table = catalog.create_table_if_not_exists(identifier, schema=data.schema,
                                               properties={"format-version": "2"})
    current = table.schema().as_arrow()
    if [f.name for f in current] != data.column_names or not current.equals(data.schema, check_metadata=False):
        with table.update_schema(allow_incompatible_changes=True) as update:
            update.union_by_name(data.schema)
        table = catalog.load_table(identifier)
    target = table.schema().as_arrow()
    data = data.select([f.name for f in target if f.name in data.column_names])
    missing = [f for f in target if f.name not in data.column_names]
    for field in missing:
        data = data.append_column(field.name, pa.nulls(data.num_rows, field.type))
    with without_empty_delete_warning():
        table.overwrite(data.select([f.name for f in target]).cast(target))


def _without_nanoseconds(data: pa.Table) -> pa.Table:
    fields = [pa.field(f.name, pa.timestamp("us", f.type.tz) if pa.types.is_timestamp(f.type) else
              (pa.int64() if pa.types.is_integer(f.type) else
               pa.float64() if pa.types.is_floating(f.type) else
               pa.string() if pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type) else f.type))
              for f in data.schema]
    return data.cast(pa.schema(fields))


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._catalog: Catalog | None = None
        external_root = getattr(self.creds, "external_root", None)
        if external_root and "://" not in external_root:
            os.makedirs(external_root, exist_ok=True)  # DuckDB's COPY does not create folders

    def configure_connection(self, conn: Any) -> None:
        register_duckdb_functions(conn)
        create_source_views(conn, self.catalog)

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = open_catalog(load_settings())
        return self._catalog

    def store(self, target_config: TargetConfig) -> None:
        relation = target_config.relation
        data = pq.read_table(target_config.location.path)
        write_iceberg(self.catalog, f"{relation.schema}.{relation.identifier}", data)


def create_source_views(conn: Any, catalog: Catalog, namespace: str = SOURCE_NAMESPACE) -> list[str]:
    """`namespace.<table>` in DuckDB as a view of every Iceberg table of `namespace` as readers must see it (one
    cut for all of them); a table an older build loaded there is replaced. The names of the views."""
    tables = catalog.list_tables(namespace) if (namespace,) in catalog.list_namespaces() else []
    if not tables:
        return []
    load_iceberg_extension(conn)
    cut, build = newest_cut(catalog), newest_build(catalog)
    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{namespace}"')
    names = []
    for identifier in tables:
        name = identifier[-1]
        found = conn.execute("SELECT table_type FROM information_schema.tables WHERE table_catalog = "
                             "current_database() AND table_schema = ? AND table_name = ?", [namespace, name]).fetchall()
        if found and found[0][0] != "VIEW":
            conn.execute(f'DROP TABLE "{namespace}"."{name}"')
        conn.execute(f'CREATE OR REPLACE VIEW "{namespace}"."{name}" AS {scan_sql(catalog, identifier, cut, build)}')
        names.append(name)
    return names

"""Open the Iceberg catalog the settings point at: SQL (sqlite locally, Postgres in production) or REST."""

from __future__ import annotations

from pyiceberg.catalog import Catalog, load_catalog

from outscaled.config import Settings
from outscaled.lakehouse.snapshot_reads import keep_reads_in

NAMESPACES = ("bronze", "silver", "gold")


def open_catalog(settings: Settings) -> Catalog:
    if settings.catalog_type == "sql":
        settings.home.mkdir(parents=True, exist_ok=True)
        if settings.warehouse.startswith("file:"):
            (settings.home / "warehouse").mkdir(parents=True, exist_ok=True)
        properties = {"type": "sql", "uri": settings.catalog_uri, "warehouse": settings.warehouse,
                      # the JDBC catalog layout Iceberg's Java/Spark JdbcCatalog shares (issue 2 of 6)
                      "init_catalog_tables": "true"}
    else:
        properties = {"type": "rest", "uri": settings.catalog_uri, "warehouse": settings.warehouse}
    catalog = load_catalog(settings.catalog_name, **properties)
    keep_reads_in(settings.read_cache_dir)
    for namespace in NAMESPACES:
        catalog.create_namespace_if_not_exists(namespace)
    return catalog

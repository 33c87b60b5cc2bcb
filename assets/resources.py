"""The resources the assets use, below them: `orchestration/` builds them from the settings and composes.

Keeping them here (not in `orchestration/`) lets the dependency arrows point one way: orchestration
imports assets, assets import their resources and the domain code, never the other way round.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dagster import ConfigurableResource
from pyiceberg.catalog import Catalog

from outscaled.config import Settings, load_settings
from outscaled.lakehouse.catalog import open_catalog


class LakehouseResource(ConfigurableResource):
    """The Iceberg catalog (SQL or REST) and the landing area for raw input files."""

    catalog_name: str
    catalog_uri: str
    catalog_type: str
    warehouse: str
    landing_dir: str
    watch_dir: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "LakehouseResource":
        return cls(catalog_name=settings.catalog_name, catalog_uri=settings.catalog_uri,
                   catalog_type=settings.catalog_type, warehouse=settings.warehouse,
                   landing_dir=str(settings.landing_dir), watch_dir=str(settings.watch_dir))

    def catalog(self) -> Catalog:
        return open_catalog(replace(load_settings(), catalog_name=self.catalog_name, catalog_uri=self.catalog_uri,
                                    catalog_type=self.catalog_type, warehouse=self.warehouse,
                                    watch_dir=Path(self.watch_dir)))

"""The resources for one environment, built from the one switch (`outscaled.config.load_settings`).

The resource classes live below the assets that use them (`assets/resources.py`); this module only
chooses their configuration.
"""

from __future__ import annotations

import os

from assets.resources import LakehouseResource
from outscaled.config import Settings, dbt_environment, load_settings


def build_resources(settings: Settings | None = None) -> dict[str, object]:
    from dagster_dbt import DbtCliResource

    from assets.transforms import DBT_EXECUTABLE, transforms_project

    settings = settings or load_settings()
    os.environ["OUTSCALED_HOME"] = str(settings.home)  # dbt's profile and plugin read it in a subprocess
    for_dbt = dbt_environment(settings)
    for name in ("OUTSCALED_PYTHON", "OUTSCALED_DUCKDB_MEMORY_LIMIT"):  # read by dbt's profile and macros
        os.environ[name] = for_dbt[name]
    return {
        "lakehouse": LakehouseResource.from_settings(settings),
        "dbt": DbtCliResource(project_dir=transforms_project, dbt_executable=DBT_EXECUTABLE,
                              target=os.environ.get("OUTSCALED_DBT_TARGET", "duckdb")),
    }

"""Silver and gold: the dbt project in transforms/, loaded as Dagster assets downstream of bronze."""

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from outscaled.config import PROJECT_ROOT

TRANSFORMS_DIR = PROJECT_ROOT / "transforms"
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
transforms_project = DbtProject(project_dir=TRANSFORMS_DIR, profiles_dir=TRANSFORMS_DIR)


def ensure_manifest() -> Path:
    """dagster-dbt needs target/manifest.json before Definitions load; `dbt parse` writes it (a few seconds)."""
    if not transforms_project.manifest_path.exists():
        subprocess.run([DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", str(TRANSFORMS_DIR)],
                       cwd=TRANSFORMS_DIR, check=True, env={**os.environ})
    return transforms_project.manifest_path


class LayerTranslator(DagsterDbtTranslator):
    """Marts are keyed like their Iceberg tables (silver/series, gold/player_features); staging and
    intermediate models, which live only in the engine, are under transforms/."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props.get("schema")
        if schema in ("silver", "gold"):
            return AssetKey([schema, dbt_resource_props["name"]])
        return AssetKey(["transforms", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props.get("schema")
        return "gold" if schema == "gold" else "silver"


@dbt_assets(manifest=ensure_manifest(), project=transforms_project, dagster_dbt_translator=LayerTranslator())
def transforms_dbt(context: AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` (models and their dbt tests) on the target chosen by OUTSCALED_DBT_TARGET (duckdb by default)."""
    yield from dbt.cli(["build"], context=context).stream()

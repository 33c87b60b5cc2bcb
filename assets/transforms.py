"""Silver and gold: the dbt project in transforms/, loaded as Dagster assets downstream of bronze.

dbt's output (the manifest Dagster builds the graph from, each run's compiled SQL, results and logs) is
written under OUTSCALED_HOME, never into transforms/: the checkout may be read-only, and two homes used at
once do not share one target folder.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from outscaled.config import PROJECT_ROOT, Settings, dbt_environment, load_settings
from outscaled.lakehouse.catalog import open_catalog
from outscaled.lakehouse.loads import newest_cut, record_build

TRANSFORMS_DIR = PROJECT_ROOT / "transforms"
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
_NOT_SOURCES = {"target", "logs", "dbt_packages"}  # dbt's own output, if someone ran plain dbt in transforms/


def project_fingerprint() -> str:
    """A hash of every file dbt parses (and of dbt's version): the manifest is current while it is unchanged."""
    digest = hashlib.sha256(version("dbt-core").encode())
    for path in sorted(TRANSFORMS_DIR.rglob("*")):
        relative = path.relative_to(TRANSFORMS_DIR)
        if path.is_file() and relative.parts[0] not in _NOT_SOURCES and path.name != ".user.yml":
            digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_manifest(settings: Settings) -> Path:
    """dagster-dbt builds the asset graph from target/manifest.json, so it must exist before Definitions load.

    `dbt parse` (a few seconds) writes it under the home the first time and again whenever the project's
    files change; it parses into a folder of its own and moves the manifest into place, so processes that
    load the definitions at the same time (`dagster dev`'s code server and webserver) never read half a file.
    """
    target = settings.dbt_target_dir
    manifest, stamp = target / "manifest.json", target / "manifest.fingerprint"
    fingerprint = project_fingerprint()
    if manifest.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return manifest
    target.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="parse-", dir=target))
    try:
        # The manifest is the same graph on every target; parsing on DuckDB needs no JVM to load definitions.
        result = subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--target", "duckdb", "--project-dir", str(TRANSFORMS_DIR),
             "--profiles-dir", str(TRANSFORMS_DIR), "--target-path", str(scratch)],
            cwd=TRANSFORMS_DIR, capture_output=True, text=True,
            env={**os.environ, **dbt_environment(settings), "DBT_LOG_PATH": str(scratch)})
        if result.returncode != 0:
            raise RuntimeError(f"dbt parse of {TRANSFORMS_DIR} failed:\n{(result.stdout + result.stderr)[-3000:]}")
        os.replace(scratch / "manifest.json", manifest)
        (scratch / "fingerprint").write_text(fingerprint)
        os.replace(scratch / "fingerprint", stamp)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


_settings = load_settings()
transforms_project = DbtProject(project_dir=TRANSFORMS_DIR, profiles_dir=TRANSFORMS_DIR,
                                target_path=_settings.dbt_target_dir)


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


@dbt_assets(manifest=ensure_manifest(_settings), project=transforms_project, dagster_dbt_translator=LayerTranslator())
def transforms_dbt(context: AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` (models and their dbt tests) on the target chosen by OUTSCALED_DBT_TARGET (duckdb by default).

    Each run's artifacts and logs go to a folder of its own under the home of this run (dagster-dbt would
    otherwise write them into transforms/target)."""
    settings = load_settings()
    run_target = settings.dbt_target_dir / f"{context.run.run_id[:8]}-build"
    catalog = open_catalog(settings)
    with warnings.catch_warnings():  # dagster-dbt 0.29.27 (the newest) reads its own deprecated `context.op`
        warnings.filterwarnings("ignore", message=r"AssetExecutionContext\.op is deprecated",
                                category=DeprecationWarning, module=r"dagster_dbt\.")
        invocation = dbt.cli(["build", *_bronze_cut_vars(catalog)], context=context, target_path=run_target)
    yield from invocation.stream()
    # Only now, with every selected mart written and tested, do readers move on to this build's marts.
    marts = [".".join(key.path) for key in context.selected_asset_keys if key.path[0] in ("silver", "gold")]
    record_build(catalog, context.run.run_id, marts)


def _bronze_cut_vars(catalog) -> list[str]:
    """`--vars` with the bronze snapshot ids of the newest complete load, for the engines that read the
    Iceberg tables directly (Spark; see the `bronze` macro). Empty before the first complete load."""
    cut = newest_cut(catalog)
    if cut is None:
        return []
    snapshots = {identifier.split(".")[1]: snapshot_id for identifier, snapshot_id in cut.snapshot_ids.items()
                 if snapshot_id is not None}
    return ["--vars", json.dumps({"bronze_snapshots": snapshots})]

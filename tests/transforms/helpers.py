"""Run the dbt project as a user would (plain `dbt build` from transforms/) against a given home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
from pyiceberg.catalog import Catalog

from outscaled.lakehouse.copy import copy_bronze  # noqa: F401  (the tests' way to make a home from another)
from outscaled.lakehouse.tables import read_table

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRANSFORMS = PROJECT_ROOT / "transforms"
DBT = str(Path(sys.executable).parent / "dbt")
TOLERANCE = 1e-9  # relative, for floats the two engines compute in a different order


def dbt_build(home: Path, *args: str) -> subprocess.CompletedProcess:
    """dbt's target and logs go under `home` (as `outscaled` does): tests in other homes do not share them."""
    env = {**os.environ, "OUTSCALED_HOME": str(home), "DBT_TARGET_PATH": str(home / "dbt" / "target"),
           "DBT_LOG_PATH": str(home / "dbt" / "logs"), "OUTSCALED_PYTHON": sys.executable}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([DBT, "build", "--profiles-dir", str(TRANSFORMS), *args], cwd=TRANSFORMS, env=env,
                          capture_output=True, text=True, timeout=600)


def table(catalog: Catalog, identifier: str) -> pl.DataFrame:
    return read_table(catalog.load_table(identifier))


def assert_equal_frames(identifier: str, expected: pl.DataFrame, actual: pl.DataFrame) -> None:
    assert actual.height == expected.height > 0, identifier
    for column in expected.columns:
        left, right = expected[column], actual[column]
        assert (left.is_null() == right.is_null()).all(), f"{identifier}.{column}: nulls differ"
        if left.dtype.is_float():
            gap = ((left - right).abs() / right.abs().clip(lower_bound=1.0)).max()
            assert gap is None or gap <= TOLERANCE, f"{identifier}.{column}: differs by {gap}"
        else:
            assert left.equals(right), f"{identifier}.{column}: values differ"

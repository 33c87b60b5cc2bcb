"""The dbt project's vars (transforms/dbt_project.yml, the one place they are set), for the Python code that
computes what the SQL computes (the live update, the Elo fold)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

_PROJECT = Path(__file__).resolve().parents[2] / "transforms" / "dbt_project.yml"


@functools.cache  # read once: new teams are rated on the request path
def project_vars() -> dict[str, Any]:
    return yaml.safe_load(_PROJECT.read_text())["vars"]


def recent_level_days() -> float:
    """How fast the recent league/position level forgets (the `recent_level_days` var: a day's games weigh
    exp(-days ago / this)); macros/features.sql::recency_weight."""
    return float(project_vars()["recent_level_days"])

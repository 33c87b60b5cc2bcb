"""Elo win expectation. The ratings themselves are computed in the dbt project
(transforms/models/intermediate/int_team_elo.sql, on DuckDB and on Spark), where the update rule lives.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

_PROJECT = Path(__file__).resolve().parents[2] / "transforms" / "dbt_project.yml"


@functools.cache  # read once: new teams are rated on the request path
def initial_rating() -> float:
    """The rating every new team starts at (the dbt project's `elo_initial_rating`, read from it)."""
    return float(yaml.safe_load(_PROJECT.read_text())["vars"]["elo_initial_rating"])


def expected_score(rating: float, opponent_rating: float) -> float:
    """Probability that a team rated `rating` beats one rated `opponent_rating`."""
    return 1.0 / (1.0 + 10.0 ** ((opponent_rating - rating) / 400.0))

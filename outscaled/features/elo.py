"""Elo win expectation. The ratings themselves are computed in the dbt project
(transforms/models/intermediate/int_team_elo.sql, on DuckDB and on Spark), where the update rule lives.
"""

from __future__ import annotations


def expected_score(rating: float, opponent_rating: float) -> float:
    """Probability that a team rated `rating` beats one rated `opponent_rating`."""
    return 1.0 / (1.0 + 10.0 ** ((opponent_rating - rating) / 400.0))

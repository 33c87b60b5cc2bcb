"""The sequential Elo update in plain Python: the specification that transforms/models/intermediate/int_team_elo.sql
(a fold in SQL, run by DuckDB and by Spark) is tested against on real data. Parameters come from the dbt project."""

from __future__ import annotations

from pathlib import Path

import yaml

DBT_PROJECT = Path(__file__).resolve().parents[2] / "transforms" / "dbt_project.yml"


def elo_parameters() -> tuple[float, float]:
    variables = yaml.safe_load(DBT_PROJECT.read_text())["vars"]
    return float(variables["elo_initial_rating"]), float(variables["elo_k_factor"])


def elo_ratings(games: list[dict]) -> dict[tuple[str, str], tuple[float, float]]:
    """(game_id, team_key) -> (elo_before, elo_after); `games` have game_id, game_start, team_1, team_2, winner."""
    initial, k_factor = elo_parameters()
    ratings: dict[str, float] = {}
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for game in sorted(games, key=lambda g: (g["game_start"], g["game_id"])):
        team_1, team_2 = game["team_1"], game["team_2"]
        before_1, before_2 = ratings.get(team_1, initial), ratings.get(team_2, initial)
        after_1, after_2 = before_1, before_2
        if game["winner"] in (team_1, team_2):
            expected_1 = 1.0 / (1.0 + 10.0 ** ((before_2 - before_1) / 400.0))
            delta = k_factor * ((1.0 if game["winner"] == team_1 else 0.0) - expected_1)
            after_1, after_2 = before_1 + delta, before_2 - delta
        ratings[team_1], ratings[team_2] = after_1, after_2
        out[(game["game_id"], team_1)] = (before_1, after_1)
        out[(game["game_id"], team_2)] = (before_2, after_2)
    return out

"""Elo team ratings, updated after each game in time order.

Every team starts at `INITIAL_RATING`; after a game the winner takes K * (1 - expected) points from the
loser, expected = 1 / (1 + 10^((r_opponent - r_team) / 400)). Ratings before a game use only earlier games.
"""

from __future__ import annotations

import pyarrow as pa

INITIAL_RATING = 1500.0
K_FACTOR = 24.0


def expected_score(rating: float, opponent_rating: float) -> float:
    return 1.0 / (1.0 + 10.0 ** ((opponent_rating - rating) / 400.0))


def elo_ratings(games: pa.Table) -> pa.Table:
    """One row per (game, team): elo_before, elo_after. `games` has game_id, game_start, team_1, team_2, winner."""
    rows = sorted(games.select(["game_id", "game_start", "team_1", "team_2", "winner"]).to_pylist(),
                  key=lambda g: (g["game_start"], g["game_id"]))
    ratings: dict[str, float] = {}
    out: dict[str, list] = {"game_id": [], "team_key": [], "elo_before": [], "elo_after": []}
    for game in rows:
        team_1, team_2 = game["team_1"], game["team_2"]
        before_1 = ratings.get(team_1, INITIAL_RATING)
        before_2 = ratings.get(team_2, INITIAL_RATING)
        after_1, after_2 = before_1, before_2
        if game["winner"] in (team_1, team_2):
            score_1 = 1.0 if game["winner"] == team_1 else 0.0
            delta = K_FACTOR * (score_1 - expected_score(before_1, before_2))
            after_1, after_2 = before_1 + delta, before_2 - delta
        ratings[team_1], ratings[team_2] = after_1, after_2
        for team, before, after in ((team_1, before_1, after_1), (team_2, before_2, after_2)):
            out["game_id"].append(game["game_id"])
            out["team_key"].append(team)
            out["elo_before"].append(before)
            out["elo_after"].append(after)
    return pa.table(out, schema=pa.schema([("game_id", pa.string()), ("team_key", pa.string()),
                                           ("elo_before", pa.float64()), ("elo_after", pa.float64())]))

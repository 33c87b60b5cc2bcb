"""Which features each model reads, in which order (the model-row builder is outscaled.features.rows)."""

from __future__ import annotations

import hashlib
import json

import polars as pl

STATS = ("kills", "deaths", "assists", "cs")
POSITIONS = ("top", "jng", "mid", "bot", "sup")
# The per-game statistics whose rolling state a player (PLAYER_STATS) and a team (TEAM_STATS) carry.
PLAYER_STATS = ("kills", "deaths", "assists", "cs", "damage_share", "kill_participation", "gold_share")
TEAM_STATS = ("win", "kills", "deaths", "game_minutes")

# A player's own state (gold.player_state_history and gold.player_features use the same names).
PLAYER_STATE = ["games_played", *[f"{s}_{w}" for s in PLAYER_STATS for w in ("avg_3", "avg_5", "avg_10", "avg_20", "ewm")]]
# A team's form (gold.team_state_history; prefixed team_ / opponent_ in the feature tables).
TEAM_STATE = [f"{s}_{w}" for s in TEAM_STATS for w in ("avg_5", "avg_10", "avg_20", "ewm")]

# The stat models do not read the side: it is known before the series for map 1 at most (later maps' sides
# are chosen by the previous map's loser), and the reduced 2025 files do not carry it.
PLAYER_NUMERIC = [
    "games_played", "days_since_last_game", "map_number", "best_of", "playoffs", "days_since_patch",
    *PLAYER_STATE[1:],
    *[f"position_baseline_{s}" for s in PLAYER_STATS],
    *[f"position_recent_{s}" for s in STATS], "position_baseline_games",
    *[f"opponent_conceded_{s}_avg_10" for s in ("kills", "deaths", "assists", "cs")], "opponent_conceded_games",
    *[f"team_{c}" for c in TEAM_STATE],
    *[f"opponent_{c}" for c in TEAM_STATE],
    "team_elo", "opponent_elo",
]
PLAYER_DERIVED = [*(f"is_{p}" for p in POSITIONS), "elo_diff"]
PLAYER_FEATURES = PLAYER_NUMERIC + PLAYER_DERIVED

TEAM_NUMERIC = [
    "games_played", "opponent_games_played", "days_since_last_game", "map_number", "best_of", "playoffs",
    "days_since_patch",
    *TEAM_STATE,
    *[f"opponent_{c}" for c in TEAM_STATE],
    "elo", "opponent_elo", "elo_diff",
    # Roster Elo (int_player_elo.sql): the mean player rating of the lineup each team fielded in its last game,
    # ratings that follow players across transfers and rebrands, where team Elo restarts.
    "roster_elo", "opponent_roster_elo", "roster_elo_diff",
]
TEAM_FEATURES = TEAM_NUMERIC + ["is_blue"]


def one_row_per_game(team_features: pl.DataFrame) -> pl.DataFrame:
    """The win model sees each game once, from the team whose key sorts first (deterministic)."""
    return team_features.filter(pl.col("team_key") < pl.col("opponent_key"))


def schema_hash(columns: list[str]) -> str:
    return hashlib.sha256(json.dumps(columns).encode()).hexdigest()[:16]

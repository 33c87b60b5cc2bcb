"""Which gold columns each model reads, and how a frame becomes a model matrix. Shared by training,
backtests, evaluation and the prediction service, so offline and online inputs cannot differ."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import polars as pl

STATS = ("kills", "deaths", "assists", "cs")
POSITIONS = ("top", "jng", "mid", "bot", "sup")
_PLAYER_STATS = ("kills", "deaths", "assists", "cs", "damage_share", "kill_participation", "gold_share")
_TEAM_STATS = ("win", "kills", "deaths", "game_minutes")

PLAYER_NUMERIC = [
    "games_played", "days_since_last_game", "map_number", "best_of", "playoffs", "days_since_patch",
    *[f"{s}_{w}" for s in _PLAYER_STATS for w in ("avg_3", "avg_5", "avg_10", "avg_20", "ewm")],
    *[f"position_baseline_{s}" for s in _PLAYER_STATS], "position_baseline_games",
    *[f"opponent_conceded_{s}_avg_10" for s in ("kills", "deaths", "assists", "cs")], "opponent_conceded_games",
    *[f"team_{s}_{w}" for s in _TEAM_STATS for w in ("avg_5", "avg_10", "avg_20", "ewm")],
    *[f"opponent_{s}_{w}" for s in _TEAM_STATS for w in ("avg_5", "avg_10", "avg_20", "ewm")],
    "team_elo", "opponent_elo",
]
PLAYER_DERIVED = [*(f"is_{p}" for p in POSITIONS), "is_blue", "elo_diff"]
PLAYER_FEATURES = PLAYER_NUMERIC + PLAYER_DERIVED

TEAM_NUMERIC = [
    "games_played", "opponent_games_played", "days_since_last_game", "map_number", "best_of", "playoffs",
    "days_since_patch",
    *[f"{s}_{w}" for s in _TEAM_STATS for w in ("avg_5", "avg_10", "avg_20", "ewm")],
    *[f"opponent_{s}_{w}" for s in _TEAM_STATS for w in ("avg_5", "avg_10", "avg_20", "ewm")],
    "elo", "opponent_elo", "elo_diff",
]
TEAM_FEATURES = TEAM_NUMERIC + ["is_blue"]


def player_matrix(frame: pl.DataFrame) -> np.ndarray:
    derived = frame.with_columns(
        *[(pl.col("position") == p).cast(pl.Float64).alias(f"is_{p}") for p in POSITIONS],
        pl.when(pl.col("side") == "Blue").then(1.0).when(pl.col("side") == "Red").then(0.0).alias("is_blue"),
        (pl.col("team_elo") - pl.col("opponent_elo")).alias("elo_diff"),
    )
    return derived.select([pl.col(c).cast(pl.Float64) for c in PLAYER_FEATURES]).to_numpy()


def team_matrix(frame: pl.DataFrame) -> np.ndarray:
    derived = frame.with_columns(
        pl.when(pl.col("side") == "Blue").then(1.0).when(pl.col("side") == "Red").then(0.0).alias("is_blue"))
    return derived.select([pl.col(c).cast(pl.Float64) for c in TEAM_FEATURES]).to_numpy()


def one_row_per_game(team_features: pl.DataFrame) -> pl.DataFrame:
    """The win model sees each game once, from the team whose key sorts first (deterministic)."""
    return team_features.filter(pl.col("team_key") < pl.col("opponent_key"))


def schema_hash(columns: list[str]) -> str:
    return hashlib.sha256(json.dumps(columns).encode()).hexdigest()[:16]

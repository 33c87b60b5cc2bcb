"""The one model-row builder: a subject's state before the series + what the request says -> a model row.

Training, the walk-forward backtest, `outscaled evaluate` and the prediction service all call
`player_rows` / `team_rows`. They differ only in where the blocks come from: the gold tables' columns
offline (`player_inputs_from_gold`), the Redis snapshot and the request online. The state itself is the
same state table either way (gold.*_state_history, taken as of the series' start: outscaled.features.as_of).
Rows are model matrices in PLAYER_FEATURES / TEAM_FEATURES order (NaN = unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import polars as pl

from outscaled.features.schema import (
    PLAYER_FEATURES, PLAYER_STATE, PLAYER_STATS, POSITIONS, STATS, TEAM_FEATURES, TEAM_STATE,
)

# A team's side of a player row: its state columns, then its rating.
TEAM_SIDE = [*TEAM_STATE, "elo"]
# What a team concedes to a position: per-game averages over its last 10 games, then games seen.
CONCEDED = [*(f"{s}_avg_10" for s in ("kills", "deaths", "assists", "cs")), "games_seen"]
# The league/position baseline: per-game averages of every earlier day's games, the recent levels of the
# modelled stats (the same games weighted by recency: macros/features.sql::recency_weight), then games counted.
BASELINE = [*(f"baseline_{s}" for s in PLAYER_STATS), *(f"recent_{s}" for s in STATS), "baseline_games"]

_P = {name: i for i, name in enumerate(PLAYER_FEATURES)}
_T = {name: i for i, name in enumerate(TEAM_FEATURES)}
_DAY = 86_400.0


def epoch_seconds(moment: str | datetime | None) -> float:
    """Seconds since the epoch for a naive-UTC time (as the lakehouse stores them); NaN when unknown."""
    if moment is None:
        return float("nan")
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=timezone.utc).timestamp() if moment.tzinfo is None else moment.timestamp()


@dataclass
class Context:
    """What the request (or, offline, the scheduled game) says, one value per row."""
    as_of: np.ndarray  # the series' start, epoch seconds: every "days since" is counted to it
    map_number: np.ndarray
    best_of: np.ndarray
    playoffs: np.ndarray  # 1.0 / 0.0
    patch_first_seen: np.ndarray  # epoch seconds of the request's patch's first game; NaN unknown


@dataclass
class PlayerInputs:
    """Per row: the player's state and its team's, the opponent's side and what it concedes to the player's
    position, the (league, position) baseline; NaN where unknown (no opponent given, no history)."""
    player: np.ndarray  # n x PLAYER_STATE
    last_game_start: np.ndarray  # epoch seconds of the player's last game before the series
    position: np.ndarray  # index into POSITIONS, -1 when unknown
    team: np.ndarray  # n x TEAM_SIDE
    opponent: np.ndarray  # n x TEAM_SIDE
    conceded: np.ndarray  # n x CONCEDED
    baseline: np.ndarray  # n x BASELINE


_PLAYER_STATE = [_P[c] for c in PLAYER_STATE]
_TEAM = [_P[f"team_{c}"] for c in TEAM_SIDE]
_OPPONENT = [_P[f"opponent_{c}"] for c in TEAM_SIDE]
_CONCEDED = [_P[f"opponent_conceded_{c}"] for c in CONCEDED[:-1]] + [_P["opponent_conceded_games"]]
_BASELINE = [_P[f"position_{c}"] for c in BASELINE[:-1]] + [_P["position_baseline_games"]]
_POSITIONS = [_P[f"is_{p}"] for p in POSITIONS]
_COUNTS = [_P["games_played"], _P["opponent_conceded_games"], _P["position_baseline_games"]]  # unknown = none


def _days(as_of: np.ndarray, then: np.ndarray) -> np.ndarray:
    return (np.asarray(as_of, dtype=float) - np.asarray(then, dtype=float)) / _DAY


def player_rows(inputs: PlayerInputs, context: Context) -> np.ndarray:
    """Stat-model rows (n x PLAYER_FEATURES)."""
    n = len(inputs.player)
    rows = np.empty((n, len(PLAYER_FEATURES)))
    rows[:, _PLAYER_STATE] = inputs.player
    rows[:, _TEAM] = inputs.team
    rows[:, _OPPONENT] = inputs.opponent
    rows[:, _CONCEDED] = inputs.conceded
    rows[:, _BASELINE] = inputs.baseline
    rows[:, _COUNTS] = np.nan_to_num(rows[:, _COUNTS], nan=0.0)
    rows[:, _POSITIONS] = np.asarray(inputs.position)[:, None] == np.arange(len(POSITIONS))
    rows[:, _P["days_since_last_game"]] = _days(context.as_of, inputs.last_game_start)
    rows[:, _P["map_number"]] = context.map_number
    rows[:, _P["best_of"]] = context.best_of
    rows[:, _P["playoffs"]] = context.playoffs
    rows[:, _P["days_since_patch"]] = np.maximum(_days(context.as_of, context.patch_first_seen), 0.0)
    rows[:, _P["elo_diff"]] = rows[:, _P["team_elo"]] - rows[:, _P["opponent_elo"]]
    return rows


def position_index(positions: list[str | None]) -> np.ndarray:
    index = {p: i for i, p in enumerate(POSITIONS)}
    return np.array([index.get(p, -1) for p in positions], dtype=int)


def _epochs(frame: pl.DataFrame, column: str) -> np.ndarray:
    return (frame[column].dt.epoch("us").cast(pl.Float64) / 1e6).fill_null(np.nan).to_numpy()


def _block(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    return frame.select([pl.col(c).cast(pl.Float64).fill_null(np.nan) for c in columns]).to_numpy()


def player_inputs_from_gold(frame: pl.DataFrame) -> tuple[PlayerInputs, Context]:
    """The blocks of gold.player_features rows (state joined as of each series' start by the dbt models)."""
    inputs = PlayerInputs(
        player=_block(frame, PLAYER_STATE), last_game_start=_epochs(frame, "last_game_start"),
        position=position_index(frame["position"].to_list()),
        team=_block(frame, [f"team_{c}" for c in TEAM_SIDE]),
        opponent=_block(frame, [f"opponent_{c}" for c in TEAM_SIDE]),
        conceded=_block(frame, [f"opponent_conceded_{c}" for c in CONCEDED[:-1]] + ["opponent_conceded_games"]),
        baseline=_block(frame, [f"position_{c}" for c in BASELINE[:-1]] + ["position_baseline_games"]))
    return inputs, _context_from_gold(frame)


def _context_from_gold(frame: pl.DataFrame) -> Context:
    return Context(as_of=_epochs(frame, "series_start"), map_number=_block(frame, ["map_number"])[:, 0],
                   best_of=_block(frame, ["best_of"])[:, 0],
                   playoffs=frame["playoffs"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                   patch_first_seen=_epochs(frame, "patch_first_seen"))


@dataclass
class TeamInputs:
    """Per row: a team's and its opponent's side (TEAM_SIDE) and roster Elo (NaN unknown), games played and last
    game; its side of the map (1 blue, 0 red, NaN unknown)."""
    team: np.ndarray
    opponent: np.ndarray
    roster_elo: np.ndarray
    opponent_roster_elo: np.ndarray
    games_played: np.ndarray
    opponent_games_played: np.ndarray
    last_game_start: np.ndarray
    is_blue: np.ndarray


_TEAM_STATE = [_T[c] for c in TEAM_STATE]
_TEAM_OPPONENT_STATE = [_T[f"opponent_{c}"] for c in TEAM_STATE]


def team_rows(inputs: TeamInputs, context: Context) -> np.ndarray:
    """Win-model rows (n x TEAM_FEATURES)."""
    n = len(inputs.team)
    rows = np.full((n, len(TEAM_FEATURES)), np.nan)
    rows[:, _T["games_played"]] = np.nan_to_num(inputs.games_played, nan=0.0)
    rows[:, _T["opponent_games_played"]] = np.nan_to_num(inputs.opponent_games_played, nan=0.0)
    rows[:, _T["days_since_last_game"]] = _days(context.as_of, inputs.last_game_start)
    rows[:, _T["map_number"]] = context.map_number
    rows[:, _T["best_of"]] = context.best_of
    rows[:, _T["playoffs"]] = context.playoffs
    rows[:, _T["days_since_patch"]] = np.maximum(_days(context.as_of, context.patch_first_seen), 0.0)
    rows[:, _TEAM_STATE] = inputs.team[:, :-1]
    rows[:, _TEAM_OPPONENT_STATE] = inputs.opponent[:, :-1]
    rows[:, _T["elo"]] = inputs.team[:, -1]
    rows[:, _T["opponent_elo"]] = inputs.opponent[:, -1]
    rows[:, _T["elo_diff"]] = inputs.team[:, -1] - inputs.opponent[:, -1]
    rows[:, _T["roster_elo"]] = inputs.roster_elo
    rows[:, _T["opponent_roster_elo"]] = inputs.opponent_roster_elo
    rows[:, _T["roster_elo_diff"]] = inputs.roster_elo - inputs.opponent_roster_elo
    rows[:, _T["is_blue"]] = inputs.is_blue
    return rows


def team_inputs_from_gold(frame: pl.DataFrame) -> tuple[TeamInputs, Context]:
    side = frame["side"].to_list()
    inputs = TeamInputs(
        team=_block(frame, TEAM_SIDE), opponent=_block(frame, [f"opponent_{c}" for c in TEAM_SIDE]),
        roster_elo=_block(frame, ["roster_elo"])[:, 0],
        opponent_roster_elo=_block(frame, ["opponent_roster_elo"])[:, 0],
        games_played=_block(frame, ["games_played"])[:, 0],
        opponent_games_played=_block(frame, ["opponent_games_played"])[:, 0],
        last_game_start=_epochs(frame, "last_game_start"),
        is_blue=np.array([1.0 if s == "Blue" else 0.0 if s == "Red" else np.nan for s in side]))
    return inputs, _context_from_gold(frame)


def player_matrix(frame: pl.DataFrame) -> np.ndarray:
    """Model rows of gold.player_features rows (training, backtests, evaluation)."""
    return player_rows(*player_inputs_from_gold(frame))


def team_matrix(frame: pl.DataFrame) -> np.ndarray:
    """Model rows of gold.team_features rows."""
    return team_rows(*team_inputs_from_gold(frame))

"""The "as of now" feature rows: what gold.player_features / gold.team_features would hold for a series
starting now. They are assembled from the same state columns the offline features use
(gold.*_current_state, the state after each subject's latest game), so online and offline agree.

The one definition comes in two steps:
- at snapshot time, `player_base_row` / `team_side` / `team_conceded` hold every value that depends only
  on a subject's state (its form, its team's form, its position baseline, its rating);
- at request time, `complete_player_rows` / `complete_team_rows` fill in, for many rows at once, what the
  request decides: map number, best-of, the opponent, days since the last game and since the patch.
Rows are model matrices in `PLAYER_FEATURES` / `TEAM_FEATURES` order (NaN = unknown).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np

from outscaled.features.schema import POSITIONS, PLAYER_FEATURES, TEAM_FEATURES

Payload = dict[str, Any]
_PLAYER_STATS = ("kills", "deaths", "assists", "cs", "damage_share", "kill_participation", "gold_share")
_WINDOWS = ("avg_3", "avg_5", "avg_10", "avg_20", "ewm")
_TEAM_STATS = ("win", "kills", "deaths", "game_minutes")
TEAM_STATE = [f"{s}_{w}" for s in _TEAM_STATS for w in ("avg_5", "avg_10", "avg_20", "ewm")]
# A team's side of a row: its state columns, then its rating.
TEAM_SIDE = [*TEAM_STATE, "elo"]
# What a team concedes to a position: per-game averages over its last 10 games, then games seen.
CONCEDED = [*(f"{s}_avg_10" for s in ("kills", "deaths", "assists", "cs")), "games_seen"]

_P = {name: i for i, name in enumerate(PLAYER_FEATURES)}
_T = {name: i for i, name in enumerate(TEAM_FEATURES)}
_OPPONENT_SIDE = [_P[f"opponent_{c}"] for c in TEAM_STATE] + [_P["opponent_elo"]]
_OPPONENT_CONCEDED = [_P[f"opponent_conceded_{s}_avg_10"] for s in ("kills", "deaths", "assists", "cs")]


def timestamp(moment: str | datetime | None) -> float:
    """Seconds since the epoch for a naive-UTC time (as the lakehouse stores them); NaN when unknown."""
    if moment is None:
        return float("nan")
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=timezone.utc).timestamp() if moment.tzinfo is None else moment.timestamp()


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def player_base_row(player: Payload, team: Payload | None, baseline: Payload | None) -> list[float]:
    """Every PLAYER_FEATURES value fixed by the player's state after its latest game (NaN elsewhere)."""
    row = [float("nan")] * len(PLAYER_FEATURES)
    row[_P["games_played"]] = _number(player.get("games_played", 0))
    for stat in _PLAYER_STATS:
        for window in _WINDOWS:
            row[_P[f"{stat}_{window}"]] = _number(player.get(f"{stat}_{window}"))
    for stat in _PLAYER_STATS:
        row[_P[f"position_baseline_{stat}"]] = _number((baseline or {}).get(f"baseline_{stat}"))
    row[_P["position_baseline_games"]] = _number(baseline.get("baseline_games", 0)) if baseline else 0.0
    for column in TEAM_STATE:
        row[_P[f"team_{column}"]] = _number((team or {}).get(column))
    row[_P["team_elo"]] = _number((team or {}).get("elo"))
    position = player.get("position")
    for p in POSITIONS:
        row[_P[f"is_{p}"]] = float(position == p)
    return row


def team_side(team: Payload) -> list[float]:
    """The team's values in TEAM_SIDE order."""
    return [_number(team.get(column)) for column in TEAM_SIDE]


def team_conceded(team: Payload) -> dict[str, list[float]]:
    """Per position, what the team concedes (CONCEDED order)."""
    return {position: [_number(values.get(c)) for c in CONCEDED]
            for position, values in (team.get("conceded") or {}).items()}


def _days_since(now: float, then: np.ndarray | float) -> np.ndarray:
    return np.maximum((now - np.asarray(then, dtype=float)) / 86_400, 0.0)


def complete_player_rows(base: np.ndarray, last_game: np.ndarray, opponent_side: np.ndarray,
                         opponent_conceded: np.ndarray, map_number: np.ndarray, best_of: np.ndarray,
                         now: datetime, patch_first_seen: str | None, playoffs: int = 0) -> np.ndarray:
    """Model rows from base rows (n x PLAYER_FEATURES) and the request: `last_game` the player's last game
    (epoch seconds), `opponent_side` (n x TEAM_SIDE, NaN without an opponent), `opponent_conceded` what
    the opponent concedes to the player's position (n x CONCEDED, NaN without one)."""
    rows = np.array(base, dtype=float, copy=True)
    now_ts = timestamp(now)
    rows[:, _P["days_since_last_game"]] = _days_since(now_ts, last_game)
    rows[:, _P["map_number"]] = map_number
    rows[:, _P["best_of"]] = best_of
    rows[:, _P["playoffs"]] = playoffs
    rows[:, _P["days_since_patch"]] = _days_since(now_ts, timestamp(patch_first_seen))
    rows[:, _OPPONENT_CONCEDED] = opponent_conceded[:, :4]
    rows[:, _P["opponent_conceded_games"]] = np.nan_to_num(opponent_conceded[:, 4], nan=0.0)
    rows[:, _OPPONENT_SIDE] = opponent_side
    rows[:, _P["is_blue"]] = np.nan  # the side is not known before the draft
    rows[:, _P["elo_diff"]] = rows[:, _P["team_elo"]] - rows[:, _P["opponent_elo"]]
    return rows


def complete_team_rows(side: np.ndarray, games: np.ndarray, last_game: np.ndarray, opponent_side: np.ndarray,
                       opponent_games: np.ndarray, map_number: np.ndarray, best_of: np.ndarray, now: datetime,
                       patch_first_seen: str | None, playoffs: int = 0) -> np.ndarray:
    """Win-model rows (n x TEAM_FEATURES) for teams against opponents (both n x TEAM_SIDE)."""
    n = len(side)
    rows = np.full((n, len(TEAM_FEATURES)), np.nan)
    now_ts = timestamp(now)
    rows[:, _T["games_played"]] = games
    rows[:, _T["opponent_games_played"]] = opponent_games
    rows[:, _T["days_since_last_game"]] = _days_since(now_ts, last_game)
    rows[:, _T["map_number"]] = map_number
    rows[:, _T["best_of"]] = best_of
    rows[:, _T["playoffs"]] = playoffs
    rows[:, _T["days_since_patch"]] = _days_since(now_ts, timestamp(patch_first_seen))
    rows[:, [_T[c] for c in TEAM_STATE]] = side[:, :-1]
    rows[:, [_T[f"opponent_{c}"] for c in TEAM_STATE]] = opponent_side[:, :-1]
    rows[:, _T["elo"]] = side[:, -1]
    rows[:, _T["opponent_elo"]] = opponent_side[:, -1]
    rows[:, _T["elo_diff"]] = side[:, -1] - opponent_side[:, -1]
    return rows

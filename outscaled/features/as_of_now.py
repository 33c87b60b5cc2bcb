"""The "as of now" feature vectors: what gold.player_features / gold.team_features would hold for a
series starting now. They are assembled from the same state columns the offline features use
(gold.*_current_state, the state after each subject's latest game), so online and offline agree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outscaled.models.features import PLAYER_NUMERIC, TEAM_NUMERIC

Payload = dict[str, Any]
_PLAYER_STATS = ("kills", "deaths", "assists", "cs", "damage_share", "kill_participation", "gold_share")
_TEAM_STATS = ("win", "kills", "deaths", "game_minutes")
_TEAM_STATE = [f"{s}_{w}" for s in _TEAM_STATS for w in ("avg_5", "avg_10", "avg_20", "ewm")]


def _days(now: datetime, then: str | datetime | None) -> float | None:
    if then is None:
        return None
    moment = datetime.fromisoformat(then) if isinstance(then, str) else then
    return max((now - moment).total_seconds() / 86_400, 0.0)


def player_vector(player: Payload, team: Payload | None, opponent: Payload | None, baseline: Payload | None,
                  now: datetime, map_number: int, best_of: int, playoffs: int, patch_first_seen: str | None
                  ) -> dict[str, Any]:
    """A row with every PLAYER_NUMERIC column plus position/side, like a gold.player_features row."""
    row: dict[str, Any] = {c: None for c in PLAYER_NUMERIC}
    row.update({"games_played": player.get("games_played", 0), "days_since_last_game": _days(now, player.get("last_game_start")),
                "map_number": map_number, "best_of": best_of, "playoffs": playoffs,
                "days_since_patch": _days(now, patch_first_seen)})
    for stat in _PLAYER_STATS:
        for window in ("avg_3", "avg_5", "avg_10", "avg_20", "ewm"):
            row[f"{stat}_{window}"] = player.get(f"{stat}_{window}")
    position = player.get("position")
    if baseline:
        for stat in _PLAYER_STATS:
            row[f"position_baseline_{stat}"] = baseline.get(f"baseline_{stat}")
        row["position_baseline_games"] = baseline.get("baseline_games", 0)
    else:
        row["position_baseline_games"] = 0
    conceded = (opponent or {}).get("conceded", {}).get(position or "", {})
    for stat in ("kills", "deaths", "assists", "cs"):
        row[f"opponent_conceded_{stat}_avg_10"] = conceded.get(f"{stat}_avg_10")
    row["opponent_conceded_games"] = conceded.get("games_seen", 0)
    for prefix, source in (("team_", team), ("opponent_", opponent)):
        for column in _TEAM_STATE:
            row[f"{prefix}{column}"] = (source or {}).get(column)
    row["team_elo"] = (team or {}).get("elo")
    row["opponent_elo"] = (opponent or {}).get("elo")
    row["position"] = position
    row["side"] = None  # not known before the draft
    return row


def team_vector(team: Payload, opponent: Payload, now: datetime, map_number: int, best_of: int, playoffs: int,
                patch_first_seen: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in TEAM_NUMERIC}
    row.update({"games_played": team.get("games_played", 0), "opponent_games_played": opponent.get("games_played", 0),
                "days_since_last_game": _days(now, team.get("last_game_start")), "map_number": map_number,
                "best_of": best_of, "playoffs": playoffs, "days_since_patch": _days(now, patch_first_seen)})
    for column in _TEAM_STATE:
        row[column] = team.get(column)
        row[f"opponent_{column}"] = opponent.get(column)
    row["elo"], row["opponent_elo"] = team.get("elo"), opponent.get("elo")
    if row["elo"] is not None and row["opponent_elo"] is not None:
        row["elo_diff"] = row["elo"] - row["opponent_elo"]
    row["side"] = None
    return row

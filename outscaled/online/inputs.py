"""From a request and the snapshot to the model-row builder's inputs, and the assumptions an answer states.

What the request leaves out is filled in the same way every time, and said: the series format (best-of-3,
or 5 for maps past 3), the player's latest league and team, the league's latest patch, no playoffs, and
the league's average opponent (outscaled.features.as_of.average_opponents) when no opponent is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from outscaled.features.rows import (
    BASELINE, CONCEDED, TEAM_SIDE, Context, PlayerInputs, epoch_seconds, position_index,
)
from outscaled.features.elo import initial_rating
from outscaled.features.schema import PLAYER_STATE
from outscaled.online.requests import SingleRequest, echo

_UNKNOWN_SIDE = [np.nan] * len(TEAM_SIDE)
_UNKNOWN_CONCEDED = [np.nan] * len(CONCEDED)
_UNKNOWN_BASELINE = [np.nan] * len(BASELINE)


@dataclass
class Resolved:
    """A request with every unknown filled in: the values the row is built from, and what was assumed."""
    request: SingleRequest
    player: dict[str, Any]
    team: dict[str, Any] | None
    opponent: dict[str, Any] | None  # the named opponent, or the league's average one (None: neither)
    league: str | None
    position: str | None
    patch: str | None
    best_of: int
    playoffs: bool
    assumptions: dict[str, Any] = field(default_factory=dict)

    @property
    def named_opponent(self) -> bool:
        return self.request.opponent is not None


def resolve(request: SingleRequest, player: dict[str, Any], team: dict[str, Any] | None,
            opponent: dict[str, Any] | None, meta: dict[str, Any]) -> Resolved:
    """`team`/`opponent`: the request's team and opponent as looked up (None when not given)."""
    defaults = []
    team = team if request.team else player.get("team")
    if request.team is None:
        defaults.append("team")
    league = request.league or player.get("league") or (team or {}).get("league")
    if request.league is None:
        defaults.append("league")
    position = request.position or player.get("position")
    if request.position is None:
        defaults.append("position")
    patch = request.patch or (meta.get("league_patch") or {}).get(league)
    if request.patch is None:
        defaults.append("patch")
    best_of = request.series_format()
    if request.best_of is None:
        defaults.append("best_of")
    if request.playoffs is None:
        defaults.append("playoffs")
    if request.opponent is None:
        defaults.append("opponent")
        opponent = (meta.get("average_opponents") or {}).get(league)
    assumptions = {"best_of": best_of, "league": league, "team": (team or {}).get("team_name"),
                   "position": position, "patch": patch,
                   "playoffs": bool(request.playoffs), "as_of": meta.get("as_of") or "now",
                   "opponent": (opponent or {}).get("team_name") if opponent else None, "defaults": defaults}
    for role, value in (("team", team), ("opponent", opponent)):
        if value and value.get("new"):
            close = f" (did you mean {', '.join(value['suggestions'])}?)" if value["suggestions"] else ""
            assumptions[f"{role}_note"] = (f"{echo(value['team_name'])} has no games on record: rated as a new team "
                                           f"(initial rating, no form){close}")
    if patch is not None and patch not in (meta.get("patches") or {}):
        assumptions["patch_note"] = f"patch {patch} has no games yet: counted as new (0 days old)"
    return Resolved(request, player, team, opponent, league, position, patch, best_of, bool(request.playoffs),
                    assumptions)


def new_team(name: str, suggestions: list[str]) -> dict[str, Any]:
    """The value of a team with no game on record: the initial rating, no form (as the features of a team's
    first game); `suggestions` are the close names a user may have meant."""
    return {"team_key": name.strip().lower(), "team_name": name, "league": None, "elo": initial_rating(),
            "roster_elo": float("nan"), "games_played": 0, "last_game": float("nan"), "side": [float("nan")] * (len(TEAM_SIDE) - 1)
            + [initial_rating()], "conceded": {}, "new": True, "suggestions": suggestions}


def debutant(request: SingleRequest) -> dict[str, Any]:
    """The snapshot value of a player with no game on record (named as asked, no state, no team of its own)."""
    return {"player_key": request.player.strip().lower(), "player_name": request.player, "team_name": None,
            "position": request.position, "league": None, "games_played": 0, "last_game": float("nan"),
            "state": [0.0] + [float("nan")] * (len(PLAYER_STATE) - 1), "team": None}


def player_inputs(resolved: list[Resolved], meta: dict[str, Any], base_state: np.ndarray) -> PlayerInputs:
    """One row per resolved request (`base_state`: their players' PLAYER_STATE rows)."""
    baselines = meta.get("baselines") or {}
    conceded = []
    for r in resolved:
        values = (r.opponent or {}).get("conceded", {}).get(r.position or "")
        conceded.append(values if values is not None else _UNKNOWN_CONCEDED)
    return PlayerInputs(
        player=base_state,
        last_game_start=np.array([r.player["last_game"] for r in resolved], dtype=float),
        position=position_index([r.position for r in resolved]),
        team=np.array([(r.team or {}).get("side") or _UNKNOWN_SIDE for r in resolved], dtype=float),
        opponent=np.array([(r.opponent or {}).get("side") or _UNKNOWN_SIDE for r in resolved], dtype=float),
        conceded=np.array(conceded, dtype=float),
        baseline=np.array([(baselines.get(r.league) or {}).get(r.position or "") or _UNKNOWN_BASELINE
                           for r in resolved], dtype=float))


def context(resolved: list[Resolved], meta: dict[str, Any], now: datetime, map_number: np.ndarray) -> Context:
    """One row per resolved request (map_number: each one's)."""
    as_of = epoch_seconds(meta["as_of"]) if meta.get("as_of") else epoch_seconds(now)
    patches = meta.get("patches") or {}
    return Context(as_of=np.full(len(resolved), as_of), map_number=np.asarray(map_number, dtype=float),
                   best_of=np.array([r.best_of for r in resolved], dtype=float),
                   playoffs=np.array([float(r.playoffs) for r in resolved]),
                   patch_first_seen=np.array([patches.get(r.patch, as_of) if r.patch else np.nan for r in resolved],
                                             dtype=float))

"""Win probabilities: the win model's rows from two teams' snapshot values and what the request says (the same
row builder as training, outscaled.features.rows.team_rows), a map's probability seen from both teams and both
sides, and a match's answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from outscaled.features.rows import Context, TeamInputs, epoch_seconds, team_rows
from outscaled.models.backtest import Bundle
from outscaled.models.distributions import series_win_probability


def win_rows(meta: dict[str, Any], teams: list[dict], opponents: list[dict], best_of: list[int],
             patch: list[str | None], playoffs: list[bool], is_blue: list[float], now: datetime) -> np.ndarray:
    """Win-model rows of map 1 of each team against its opponent, from their snapshot values (`meta`: the
    snapshot's) and what the request says; a patch with no game yet counts as new (0 days)."""
    patches = meta.get("patches") or {}
    as_of = epoch_seconds(meta["as_of"]) if meta.get("as_of") else epoch_seconds(now)
    inputs = TeamInputs(
        team=np.array([a["side"] for a in teams], dtype=float),
        opponent=np.array([b["side"] for b in opponents], dtype=float),
        roster_elo=np.array([roster_elo(a) for a in teams], dtype=float),
        opponent_roster_elo=np.array([roster_elo(b) for b in opponents], dtype=float),
        games_played=np.array([a.get("games_played") or 0 for a in teams], dtype=float),
        opponent_games_played=np.array([b.get("games_played") or 0 for b in opponents], dtype=float),
        last_game_start=np.array([a.get("last_game") for a in teams], dtype=float),
        is_blue=np.array(is_blue, dtype=float))
    context = Context(
        as_of=np.full(len(teams), as_of), map_number=np.ones(len(teams)),
        best_of=np.array(best_of, dtype=float), playoffs=np.array(playoffs, dtype=float),
        patch_first_seen=np.array([patches.get(x, as_of) if x else np.nan for x in patch], dtype=float))
    return team_rows(inputs, context)


def map_win_probabilities(bundle: Bundle, meta: dict[str, Any], teams: list[dict], opponents: list[dict],
                          best_of: list[int], patch: list[str | None], playoffs: list[bool], now: datetime,
                          sides: list[float] | None = None) -> np.ndarray:
    """P(team wins map 1 against opponent), one win-model call for all pairings, each pairing seen from
    both teams (the model is not symmetric by construction). A side not given is averaged over both."""
    if not teams:
        return np.empty(0)
    n = len(teams)
    sides = sides if sides is not None else [np.nan] * n
    pairs, side_of, owner = [], [], []
    for j in range(n):
        for blue in ((1.0, 0.0) if sides[j] != sides[j] else (sides[j],)):
            pairs += [(teams[j], opponents[j]), (opponents[j], teams[j])]
            side_of += [blue, 1.0 - blue]
            owner += [j, j]
    rows = win_rows(meta, [a for a, _ in pairs], [b for _, b in pairs], [best_of[j] for j in owner],
                    [patch[j] for j in owner], [playoffs[j] for j in owner], side_of, now)
    p = bundle.win.predict(rows)
    seen_from_team = (p[0::2] + 1 - p[1::2]) / 2  # per pairing and side
    totals, counts = np.zeros(n), np.zeros(n)
    np.add.at(totals, owner[0::2], seen_from_team)
    np.add.at(counts, owner[0::2], 1)
    return totals / counts


def match_answer(bundle: Bundle, meta: dict[str, Any], a: dict, b: dict, best_of: int, team_a_side: str | None,
                 league: str | None, patch: str | None, playoffs: bool | None, now: datetime) -> dict[str, Any]:
    """Team a (snapshot value `a`) against team b in a best-of series; the league (default team a's), its patch
    (default the league's latest) and the stage (default regular season) as the request says, else assumed
    and said so."""
    side = {"blue": 1.0, "red": 0.0, None: np.nan}[team_a_side]
    league = league or a.get("league")
    patch = patch or (meta.get("league_patch") or {}).get(league)
    p_map = float(map_win_probabilities(bundle, meta, [a], [b], [best_of], [patch], [bool(playoffs)], now, [side])[0])
    return {"team_a": a.get("team_name"), "team_b": b.get("team_name"), "best_of": best_of,
            "p_team_a_map": round(p_map, 4), "p_team_b_map": round(1 - p_map, 4),
            "p_team_a_series": round(series_win_probability(p_map, best_of), 4),
            "p_team_b_series": round(1 - series_win_probability(p_map, best_of), 4),
            "elo": {"team_a": a.get("elo"), "team_b": b.get("elo")},
            "roster_elo": {"team_a": _known(roster_elo(a)), "team_b": _known(roster_elo(b))},
            "assumptions": {"team_a_side": team_a_side or "unknown: averaged over blue and red",
                            "lineups": "each team's lineup of its last game (roster Elo: its players' ratings)",
                            "league": league, "patch": patch, "playoffs": bool(playoffs),
                            "as_of": meta.get("as_of") or "now"}}


def roster_elo(team: dict) -> float:
    """A team value's roster Elo; NaN when unknown (a snapshot published before roster Elo, a new team)."""
    value = team.get("roster_elo")
    return float("nan") if value is None else float(value)


def _known(value: float) -> float | None:
    return None if value != value else value

"""The prediction logic behind the HTTP service: requests in, answers out, one Redis round trip between.

Kept free of any web framework so it is tested directly and served by BentoML unchanged. This module
composes the parts: Redis access is outscaled.online.store, the request's unknowns outscaled.online.inputs,
the model rows outscaled.features.rows (the same builder training uses), the adjustment layers
outscaled.online.adjust, the maths (means, sums, calibration, the curve; and the thread the sums run in)
outscaled.online.pricing, win probabilities outscaled.online.win, A/B arms outscaled.online.arms, the words
outscaled.online.reasoning.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import redis

from outscaled.features.rows import player_rows
from outscaled.features.schema import PLAYER_STATE
from outscaled.models.backtest import Bundle
from outscaled.models.distributions import probability_maps_played
from outscaled.models.layers import normalise_champion
from outscaled.online import inputs as request_inputs
from outscaled.online.adjust import layer_factors
from outscaled.online import win
from outscaled.online.arms import ANONYMOUS, CHAMPION, ArmChooser, Split
from outscaled.online.inputs import Resolved
from outscaled.online.pricing import MEMO_CAPACITY, ModelMeans, Pricing, over_curve, summarise_soon
from outscaled.online.reasoning import Explanations, caveats, tournament_note
from outscaled.online.requests import RequestError, SingleRequest, echo
from outscaled.online.store import SnapshotStore, Unavailable, normalise

__all__ = ["Models", "NotFound", "Predictor", "Unavailable"]


class NotFound(LookupError):
    def __init__(self, message: str, suggestions: list[str]):
        super().__init__(message)
        self.suggestions = suggestions


@dataclass
class Models:
    bundles: dict[str, Bundle]  # version -> bundle
    serving: dict[str, str]  # model (kills, …, win) -> version


def _distribution_key(request: SingleRequest, version: str) -> tuple:
    """What decides a request's distribution: the model version and everything but its line (the
    tournament is not a feature)."""
    return (version, normalise(request.player), request.stat, request.map_start, request.map_end,
            normalise(request.opponent) if request.opponent else None,
            normalise_champion(request.champion) if request.champion else None, request.best_of,
            request.league, normalise(request.team) if request.team else None, request.patch, request.playoffs,
            request.position)


def this_hour() -> datetime:
    """The moment a live snapshot's answers are computed as of: the start of the current hour (naive UTC).
    Days since a player's last game and since the patch (the only features that move with the clock) move
    by at most 1/24 of a day within it, so the same request within the hour gets the same answer, and its
    model rows are the same (they are memoised by row). Still before the series: nothing leaks."""
    return datetime.now(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)


class Predictor:
    def __init__(self, client: redis.Redis, models: Models, clock=this_hour,
                 loader: Callable[[str], Bundle] | None = None):
        """`loader` loads a model version that a split names and this process has not loaded (in a thread:
        the split takes effect once it is loaded; without a loader, only loaded versions are split to)."""
        self.store = SnapshotStore(client)
        self.models = models
        self.clock = clock
        self.chooser = ArmChooser(client, models.bundles, loader)
        self.splits = self.chooser.splits
        self._state_cache: tuple[int, dict[str, np.ndarray]] = (-1, {})  # per snapshot: player key -> state row
        self.means = ModelMeans(MEMO_CAPACITY)
        self.explanations = Explanations(MEMO_CAPACITY)

    # --- snapshot access (outscaled.online.store) --------------------------------------------------
    def snapshot_id(self) -> str:
        return self.store.snapshot_id()

    def meta(self) -> dict[str, Any]:
        return self.store.meta()

    def search_players(self, query: str = "", limit: int = 20) -> list[dict]:
        return self.store.search_players(query, limit)

    def teams(self) -> list[dict]:
        return self.store.teams()

    # --- requests to model rows ----------------------------------------------------------------------
    def _lookup(self, requests: list[SingleRequest]) -> tuple[str, list[Resolved | NotFound]]:
        """One MGET for every distinct player, team and opponent; per request its Resolved or a NotFound."""
        snapshot = self.store.snapshot_id()
        meta = self.store.meta()
        player_keys = [("p", normalise(r.player)) for r in requests]
        team_keys = [("t", normalise(r.team)) if r.team else None for r in requests]
        opponent_keys = [("t", normalise(r.opponent)) if r.opponent else None for r in requests]
        wanted = list(dict.fromkeys(player_keys + [k for k in team_keys + opponent_keys if k]))
        values = self.store.read_values(snapshot, wanted) if wanted else {}
        found: list[Resolved | NotFound] = []
        for r, player_key, team_key, opponent_key in zip(requests, player_keys, team_keys, opponent_keys):
            player, team, opponent = values[player_key], values.get(team_key), values.get(opponent_key)
            if player is None and r.position is None:
                found.append(NotFound(f"unknown player '{echo(r.player)}' (for a debut, give the player's `position`)",
                                      self.store.closest_players(r.player)))
            else:
                if team_key and team is None:  # a team's debut (or a typo: the answer names the close names)
                    team = request_inputs.new_team(r.team, self.store.closest_teams(r.team))
                if opponent_key and opponent is None:
                    opponent = request_inputs.new_team(r.opponent, self.store.closest_teams(r.opponent))
                found.append(request_inputs.resolve(r, player or request_inputs.debutant(r), team, opponent, meta))
        return snapshot, found

    def _states(self, resolved: list[Resolved]) -> np.ndarray:
        """The players' PLAYER_STATE rows as one matrix; each converted once per snapshot."""
        generation, cache = self._state_cache
        if generation != self.store.generation:
            cache = {}
            self._state_cache = (self.store.generation, cache)
        states = np.empty((len(resolved), len(PLAYER_STATE)))
        for i, r in enumerate(resolved):
            row = cache.get(r.player["player_key"])
            if row is None:
                row = cache[r.player["player_key"]] = np.array(r.player["state"], dtype=float)
            states[i] = row
        return states

    def _rows(self, resolved: list[Resolved], now: datetime) -> tuple[np.ndarray, np.ndarray]:
        """Model rows for every map of every request (outscaled.features.rows), and each row's request."""
        requests = [r.request for r in resolved]
        maps = np.array([r.map_end - r.map_start + 1 for r in requests])
        owner = np.repeat(np.arange(len(requests)), maps)
        first = np.cumsum(maps) - maps
        map_number = np.arange(len(owner)) - first[owner] + np.array([r.map_start for r in requests])[owner]
        meta = self.store.meta()
        per_request = request_inputs.player_inputs(resolved, meta, self._states(resolved))
        per_row = type(per_request)(**{name: value[owner] for name, value in vars(per_request).items()})
        context = request_inputs.context([resolved[i] for i in owner], meta, now, map_number)
        return player_rows(per_row, context), owner

    def feature_rows(self, request: SingleRequest) -> np.ndarray:
        """The model rows (one per map) the service builds for a request, from what Redis holds."""
        _, [found] = self._lookup([request])
        if isinstance(found, NotFound):
            raise found
        return self._rows([found], self.clock())[0]

    def _serving(self, model: str) -> str:
        if model not in self.models.serving:
            raise Unavailable(f"no champion model for {model} yet (see GET /models/status)")
        return self.models.serving[model]

    # --- stat lines ----------------------------------------------------------------------------------
    def single(self, request: SingleRequest, caller: str = ANONYMOUS) -> dict[str, Any]:
        try:
            answer = self.many([request], caller)[0]
        except RequestError as error:  # many() names the field as in a batch: requests[0].champion
            raise RequestError(error.field.split(".", 1)[-1], error.message) from error
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _check_champions(self, requests: list[SingleRequest], versions: list[str]) -> None:
        """An unknown champion is a bad field (422) with the closest names, never a silent factor 1. A champion
        in the snapshot's games but without out-of-fold evidence in the model (e.g. new since training) is
        known: its layers keep factor 1 and the reasoning says there are too few games."""
        self.store.snapshot_id()  # loads the snapshot's champions
        snapshot_champions = self.store.champions
        for i, r in enumerate(requests):
            layers = self.models.bundles[versions[i]].layers
            if not r.champion or layers is None:
                continue
            name = normalise_champion(r.champion)
            if name not in layers.champions and name not in snapshot_champions:
                known = {**snapshot_champions, **layers.champions}
                close = difflib.get_close_matches(name, list(known), n=5)
                names = ", ".join(known[c] for c in close) or "none"
                raise RequestError(f"requests[{i}].champion",
                                   f"unknown champion '{echo(r.champion)}' (closest: {names})")

    # --- A/B and shadow (outscaled.online.arms) ----------------------------------------------------------
    def live_splits(self) -> dict[str, Split]:
        """The splits in force (outscaled.online.arms.ArmChooser.live)."""
        return self.chooser.live()

    def arms(self, requests: list[SingleRequest], caller: str = ANONYMOUS) -> tuple[list[str], list[str]]:
        """Per request: the model version that answers it and its arm (the caller's, sticky per stat)."""
        return self.chooser.choose([r.stat for r in requests], caller, self._serving)

    def shadow(self, requests: list[SingleRequest]) -> list[dict[str, Any] | None]:
        """The challenger's answers to the requests whose stat has a shadow split (None for the others, and
        for what the challenger cannot answer); scored after the caller has its answer, never returned."""
        splits = self.live_splits()
        chosen = [i for i, r in enumerate(requests) if r.stat in splits and splits[r.stat].shadow]
        out: list[dict[str, Any] | None] = [None] * len(requests)
        if chosen:
            answers = self._answer([requests[i] for i in chosen], [splits[requests[i].stat].version for i in chosen],
                                   ["shadow"] * len(chosen))
            for i, answer in zip(chosen, answers):
                out[i] = answer if isinstance(answer, dict) else None
        return out

    def many(self, requests: list[SingleRequest], caller: str = ANONYMOUS) -> list[dict[str, Any] | NotFound]:
        """Answers in order (a NotFound in place of an unknown player or team), each from its caller's arm."""
        for stat in {r.stat for r in requests}:
            self._serving(stat)
        versions, arms = self.arms(requests, caller)
        return self._answer(requests, versions, arms)

    def _answer(self, requests: list[SingleRequest], versions: list[str], arms: list[str]
                ) -> list[dict[str, Any] | NotFound]:
        """Answers from the given model versions. One MGET for all players and teams; requests that differ
        only in their line share one distribution (a slate asks several lines of each player's total); the
        rows of every map of every distribution built at once; one LightGBM call per stat and version;
        contributions once per distinct row; the map-range sums together."""
        self._check_champions(requests, versions)
        snapshot, found = self._lookup(requests)
        answers: list[Any] = [f if isinstance(f, NotFound) else None for f in found]
        served = [i for i, f in enumerate(found) if not isinstance(f, NotFound)]
        if not served:
            return answers
        shared: dict[tuple, int] = {}
        distribution = np.array([shared.setdefault(_distribution_key(requests[i], versions[i]), len(shared))
                                 for i in served])
        first: dict[int, int] = {}  # distribution -> its first request
        for i, d in zip(served, distribution.tolist()):
            first.setdefault(d, i)
        resolved: list[Resolved] = [found[first[d]] for d in range(len(shared))]  # one per distribution
        chosen = [r.request for r in resolved]
        version_of = [versions[first[d]] for d in range(len(shared))]  # per distribution
        now = self.clock()
        rows, owner = self._rows(resolved, now)
        first_row = np.searchsorted(owner, np.arange(len(chosen)))
        groups = np.array([f"{r.stat}@{v}" for r, v in zip(chosen, version_of)])  # (stat, version) of each
        means = np.empty(len(rows))
        lines = np.array([requests[i].line for i in served])
        summaries: dict[int, tuple[float, int, int]] = {}
        p_over = np.empty(len(served))
        reasons: list[list[str]] = [[] for _ in chosen]
        adjustments: list[list[str]] = [[] for _ in chosen]
        asked = list(dict.fromkeys(groups.tolist()))
        summing = []
        for group in asked:
            stat, version = group.split("@", 1)
            bundle = self.models.bundles[version]
            members = np.flatnonzero(groups == group)
            mine = groups[owner] == group
            factor, modes = layer_factors(bundle, stat, resolved, adjustments, members.tolist(),
                                          self.store.champions)
            means[mine] = self.means(bundle, stat, version, rows[mine]) * factor[owner[mine]]
            pending = summarise_soon(Pricing(stat, bundle, chosen, means, first_row, modes, lines, distribution,
                                             summaries, p_over))
            summing += [pending] if pending is not None else []
        for group in asked:
            stat, version = group.split("@", 1)
            self.explanations.explain(self.models.bundles[version].stats[stat], stat, version, rows, first_row,
                                      np.flatnonzero(groups == group), reasons)
        for done in summing:
            done.result()
        p_map = self._p_map_for(resolved, now)
        shared_fields = []  # what every request of a distribution answers alike
        for d, r in enumerate(resolved):
            expected, low, high = summaries[d]
            request = r.request
            games = int(r.player.get("games_played") or 0)
            shared_fields.append((
                r.player.get("player_name"), (r.team or {}).get("team_name") or r.player.get("team_name"),
                [request.map_start, request.map_end], round(expected, 3), [low, high],
                round(probability_maps_played(p_map[d], r.best_of, request.map_end), 4),
                version_of[d], games, r.assumptions,
                reasons[d] + adjustments[d] + caveats(games, request.opponent, r.assumptions.get("opponent"))))
        for i, d, over in zip(served, distribution.tolist(), p_over.tolist()):
            r = requests[i]
            name, team, maps, expected, interval, all_maps, version, games, assumptions, reasoning = shared_fields[d]
            answers[i] = {
                "player": name, "team": team, "stat": r.stat, "line": r.line, "maps": list(maps),
                "expected": expected, "p_over": round(over, 4), "p_under": round(1 - over, 4),
                "pick": "over" if over > 0.5 else "under", "confidence": round(max(over, 1 - over), 4),
                "interval": list(interval), "p_all_maps_played": all_maps, "model_version": version,
                "arm": arms[i],
                "snapshot_id": snapshot, "sample_size": games, "assumptions": assumptions,
                "reasoning": [*reasoning, tournament_note(r.tournament)] if r.tournament else list(reasoning),
            }
        return answers

    # --- win probabilities (outscaled.online.win) ------------------------------------------------------
    def win_rows(self, teams: list[dict], opponents: list[dict], best_of: list[int], patch: list[str | None],
                 playoffs: list[bool], is_blue: list[float], now: datetime) -> np.ndarray:
        """Win-model rows of map 1 of each team against its opponent, as the service builds them."""
        return win.win_rows(self.store.meta(), teams, opponents, best_of, patch, playoffs, is_blue, now)

    def _p_map_for(self, resolved: list[Resolved], now: datetime) -> list[float]:
        """P(the player's team wins a map) where the opponent is named and a win model serves; else 0.5."""
        paired = [j for j, r in enumerate(resolved) if r.named_opponent and r.team]
        p_map = [0.5] * len(resolved)
        if paired and "win" in self.models.serving:
            wins = win.map_win_probabilities(self.models.bundles[self._serving("win")], self.store.meta(),
                                             [resolved[j].team for j in paired],
                                             [resolved[j].opponent for j in paired],
                                             [resolved[j].best_of for j in paired],
                                             [resolved[j].patch for j in paired],
                                             [resolved[j].playoffs for j in paired], now)
            for j, p in zip(paired, wins):
                p_map[j] = float(p)
        return p_map

    def match(self, team_a: str, team_b: str, best_of: int, team_a_side: str | None = None, *,
              league: str | None = None, patch: str | None = None, playoffs: bool | None = None) -> dict[str, Any]:
        """Team a against team b in a best-of series (outscaled.online.win.match_answer)."""
        version = self._serving("win")
        snapshot = self.store.snapshot_id()
        values = self.store.read_values(snapshot, [("t", normalise(team_a)), ("t", normalise(team_b))])
        a, b = values[("t", normalise(team_a))], values[("t", normalise(team_b))]
        for given, payload in ((team_a, a), (team_b, b)):
            if payload is None:
                raise NotFound(f"unknown team '{echo(given)}'", self.store.closest_teams(given))
        answer = win.match_answer(self.models.bundles[version], self.store.meta(), a, b, best_of, team_a_side,
                                  league, patch, playoffs, self.clock())
        return {**answer, "model_version": version, "arm": CHAMPION, "snapshot_id": snapshot}

    # --- the P(over) curve and status ----------------------------------------------------------------
    def curve(self, player: str, stat: str, map_start: int, map_end: int, opponent: str | None = None,
              best_of: int | None = None, caller: str = ANONYMOUS) -> dict[str, Any]:
        if best_of is not None and map_end > best_of:
            raise RequestError("map_end", f"map {map_end} is not played in a best-of-{best_of}")
        request = SingleRequest(player, stat, 0.5, map_start, map_end, opponent=opponent, best_of=best_of)
        self._serving(stat)
        [version], [arm] = self.arms([request], caller)
        snapshot, [found] = self._lookup([request])
        if isinstance(found, NotFound):
            raise found
        bundle = self.models.bundles[version]
        # the patch layer, as in single()
        factor, modes = layer_factors(bundle, stat, [found], [[]], [0], self.store.champions)
        means = bundle.stats[stat].predict_mean(self._rows([found], self.clock())[0]) * factor[0]
        expected, points = over_curve(bundle, stat, modes[0], [float(m) for m in means],
                                      "named" if opponent else "average")
        return {"player": found.player.get("player_name"), "stat": stat, "maps": [map_start, map_end],
                "expected": round(expected, 3), "snapshot_id": snapshot, "assumptions": found.assumptions,
                "model_version": version, "arm": arm, "curve": points}

    def status(self) -> dict[str, Any]:
        try:
            meta = self.store.meta()
            redis_ok = True
        except Unavailable:
            meta, redis_ok = {}, False
        splits = {stat: {"version": s.version, "weight": s.weight, "shadow": s.shadow,
                         "loaded": s.version in self.models.bundles} for stat, s in self.splits.current().items()}
        return {"serving": self.models.serving, "splits": splits, "snapshot_id": meta.get("snapshot_id"),
                "snapshot_as_of": meta.get("as_of"), "snapshot_created_at": meta.get("created_at"),
                "redis": "ok" if redis_ok else "unreachable"}


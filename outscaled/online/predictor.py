"""The prediction logic behind the HTTP service: one Redis round trip, the champion models, the maths.

Kept free of any web framework so it is tested directly and served by BentoML unchanged.
"""

from __future__ import annotations

import difflib
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import redis

from outscaled.features.as_of_now import player_vector, team_vector
from outscaled.models.backtest import Bundle
from outscaled.models.distributions import (
    map_range_distribution, probability_maps_played, series_win_probability,
)
from outscaled.models.features import PLAYER_FEATURES, player_matrix_from_rows, team_matrix_from_rows
from outscaled.online.requests import SingleRequest
from outscaled.online.snapshot import POINTER, key

SHORT_HISTORY = 10
POINTER_TTL_SECONDS = 1.0


class NotFound(LookupError):
    def __init__(self, message: str, suggestions: list[str]):
        super().__init__(message)
        self.suggestions = suggestions


class Unavailable(RuntimeError):
    """Redis cannot be reached (HTTP 503); the service recovers by itself once it is back."""


@dataclass
class Models:
    bundles: dict[str, Bundle]  # version -> bundle
    serving: dict[str, str]  # model (kills, …, win) -> version


def best_of_for(map_end: int) -> int:
    """The shortest format that has map `map_end` (the request does not say the series format)."""
    return 1 if map_end == 1 else 3 if map_end <= 3 else 5


def _normalise(name: str) -> str:
    return name.strip().lower()


class Predictor:
    def __init__(self, client: redis.Redis, models: Models, clock=lambda: datetime.now(timezone.utc).replace(tzinfo=None)):
        self.client = client
        self.models = models
        self.clock = clock
        self._pointer: tuple[str, float] | None = None
        self._meta: dict[str, Any] = {}
        self._index: list[dict] = []
        self._lock = threading.Lock()

    # --- snapshot access ---------------------------------------------------------------------------
    def snapshot_id(self) -> str:
        cached = self._pointer
        if cached and time.monotonic() - cached[1] < POINTER_TTL_SECONDS:
            return cached[0]
        try:
            raw = self.client.get(POINTER)
        except (redis.RedisError, OSError) as error:
            raise Unavailable(f"the feature store (Redis) is unreachable: {error}") from error
        if raw is None:
            raise Unavailable("no feature snapshot has been published yet (run `outscaled materialize`)")
        snapshot_id = raw.decode()
        with self._lock:
            if not self._meta or self._meta.get("snapshot_id") != snapshot_id:
                meta, index = self._read([key(snapshot_id, "meta"), key(snapshot_id, "players")])
                self._meta, self._index = meta or {}, index or []
            self._pointer = (snapshot_id, time.monotonic())
        return snapshot_id

    def _read(self, keys: list[str]) -> list[Any]:
        try:
            values = self.client.mget(keys)
        except (redis.RedisError, OSError) as error:
            self._pointer = None
            raise Unavailable(f"the feature store (Redis) is unreachable: {error}") from error
        return [json.loads(v) if v is not None else None for v in values]

    def meta(self) -> dict[str, Any]:
        self.snapshot_id()
        return self._meta

    def search_players(self, query: str = "", limit: int = 20) -> list[dict]:
        self.snapshot_id()
        q = _normalise(query)
        hits = [p for p in self._index if not q or q in (p["name"] or "").lower() or q in p["key"]]
        return sorted(hits, key=lambda p: (-(p["games"] or 0), p["key"]))[:limit]

    def teams(self) -> list[dict]:
        snapshot = self.snapshot_id()
        return self._read([key(snapshot, "teams")])[0] or []

    def _closest(self, name: str) -> list[str]:
        names = {p["name"] or p["key"] for p in self._index}
        return difflib.get_close_matches(name, list(names), n=5, cutoff=0.5)

    # --- predictions ---------------------------------------------------------------------------------
    def player_payloads(self, player: str, opponent: str | None) -> tuple[str, dict, dict | None, dict | None, dict | None]:
        """One round trip: the player's packed value (with team and baseline) and the opponent team."""
        snapshot = self.snapshot_id()
        player_key = _normalise(player)
        opponent_key = _normalise(opponent) if opponent else None
        payload, opp = self._read([key(snapshot, "p", player_key), key(snapshot, "t", opponent_key or "-")])
        if payload is None:
            raise NotFound(f"unknown player '{player}'", self._closest(player))
        if opponent_key and opp is None:
            names = [t["name"] for t in self.teams()]
            raise NotFound(f"unknown opponent team '{opponent}'", difflib.get_close_matches(opponent, names, n=5))
        return snapshot, payload, payload.get("team"), opp, payload.get("baseline")

    def _map_win_probabilities(self, pairings: list[tuple[dict, dict, int]]) -> list[float]:
        """P(first team wins a map) for each (team, opponent, best_of), in one win-model call."""
        if not pairings:
            return []
        bundle = self.models.bundles[self._serving("win")]
        rows = [team_vector(team, opponent, self.clock(), 1, best_of, 0, self._meta.get("patch_first_seen"))
                for team, opponent, best_of in pairings]
        return [float(p) for p in bundle.win.predict(team_matrix_from_rows(rows))]

    def vectors(self, request: SingleRequest, payloads) -> list[dict[str, Any]]:
        _, player, team, opponent, baseline = payloads
        best_of = best_of_for(request.map_end)
        return [player_vector(player, team, opponent, baseline, self.clock(), k, best_of, 0,
                              self._meta.get("patch_first_seen"))
                for k in range(request.map_start, request.map_end + 1)]

    def _serving(self, model: str) -> str:
        if model not in self.models.serving:
            raise Unavailable(f"no champion model for {model} yet (see GET /models/status)")
        return self.models.serving[model]

    def single(self, request: SingleRequest) -> dict[str, Any]:
        answer = self.many([request])[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def many(self, requests: list[SingleRequest]) -> list[dict[str, Any] | NotFound]:
        """Answers in order (a NotFound in place of an unknown player or team). One MGET for every player and
        opponent, one LightGBM call per stat and per kind (means, contributions, win probability)."""
        for stat in {r.stat for r in requests}:
            self._serving(stat)
        snapshot = self.snapshot_id()
        keys = []
        for r in requests:
            keys += [key(snapshot, "p", _normalise(r.player)), key(snapshot, "t", _normalise(r.opponent) if r.opponent else "-")]
        values = self._read(keys) if keys else []
        answers: list[Any] = [None] * len(requests)
        rows, owner, first_row = [], [], {}
        contexts = {}
        for i, r in enumerate(requests):
            player, opponent = values[2 * i], values[2 * i + 1]
            if player is None:
                answers[i] = NotFound(f"unknown player '{r.player}'", self._closest(r.player))
                continue
            if r.opponent and opponent is None:
                names = [t["name"] for t in self.teams()]
                answers[i] = NotFound(f"unknown opponent team '{r.opponent}'",
                                      difflib.get_close_matches(r.opponent, names, n=5))
                continue
            payloads = (snapshot, player, player.get("team"), opponent, player.get("baseline"))
            contexts[i] = payloads
            first_row[i] = len(rows)
            for vector in self.vectors(r, payloads):
                rows.append(vector)
                owner.append(i)
        if not rows:
            return answers
        matrix = player_matrix_from_rows(rows)
        owner_array = np.array(owner)
        means = np.empty(len(rows))
        contributions: dict[int, np.ndarray] = {}
        for stat in {requests[i].stat for i in contexts}:
            model = self.models.bundles[self.models.serving[stat]].stats[stat]
            mine = np.isin(owner_array, [i for i in contexts if requests[i].stat == stat])
            means[mine] = model.predict_mean(matrix[mine])
            firsts = [i for i in contexts if requests[i].stat == stat]
            for i, contribution in zip(firsts, model.contributions(matrix[[first_row[i] for i in firsts]])):
                contributions[i] = contribution
        # the player's team against the opponent, where both are known and a win model is serving
        paired = [i for i, ctx in contexts.items() if ctx[2] and ctx[3]] if "win" in self.models.serving else []
        p_map = dict(zip(paired, self._map_win_probabilities(
            [(contexts[i][2], contexts[i][3], best_of_for(requests[i].map_end)) for i in paired])))
        for i, (snap, player, team, opponent, _) in contexts.items():
            r = requests[i]
            version = self.models.serving[r.stat]
            model = self.models.bundles[version].stats[r.stat]
            line = map_range_distribution([float(m) for m in means[owner_array == i]], model.nb_size, r.line)
            p_over = float(model.calibrate(np.array([line.p_over]))[0])
            best_of = int(rows[first_row[i]]["best_of"])
            p_all = probability_maps_played(p_map.get(i, 0.5), best_of, r.map_end)
            games = int(player.get("games_played") or 0)
            answers[i] = {
                "player": player.get("player_name"), "team": player.get("team_name"), "stat": r.stat,
                "line": r.line, "maps": [r.map_start, r.map_end],
                "expected": round(line.expected, 3), "p_over": round(p_over, 4), "p_under": round(1 - p_over, 4),
                "pick": "over" if p_over > 0.5 else "under", "confidence": round(max(p_over, 1 - p_over), 4),
                "interval": list(line.interval_80), "p_all_maps_played": round(p_all, 4),
                "model_version": version, "snapshot_id": snap, "sample_size": games,
                "reasoning": self._reasoning(contributions[i], matrix[first_row[i]], r.stat, games,
                                             opponent is not None, r),
            }
        return answers

    def curve(self, player: str, stat: str, map_start: int, map_end: int) -> dict[str, Any]:
        request = SingleRequest(player, stat, 0.5, map_start, map_end)
        self._serving(stat)
        payloads = self.player_payloads(player, None)
        model = self.models.bundles[self.models.serving[stat]].stats[stat]
        means = model.predict_mean(player_matrix_from_rows(self.vectors(request, payloads)))
        base = map_range_distribution([float(m) for m in means], model.nb_size, 0.5)
        top = max(int(base.interval_80[1] * 1.6) + 2, 6)
        step = max(1, top // 60)
        lines = [k + 0.5 for k in range(0, top, step)]
        raw = np.array([base.p_over_line(x) for x in lines])
        calibrated = np.minimum.accumulate(model.calibrate(raw))  # keep the curve monotone after calibration
        return {"player": payloads[1].get("player_name"), "stat": stat, "maps": [map_start, map_end],
                "expected": round(base.expected, 3), "snapshot_id": payloads[0],
                "model_version": self.models.serving[stat],
                "curve": [{"line": x, "p_over": round(float(p), 4)} for x, p in zip(lines, calibrated)]}

    def match(self, team_a: str, team_b: str, best_of: int) -> dict[str, Any]:
        self._serving("win")
        snapshot = self.snapshot_id()
        a, b = self._read([key(snapshot, "t", _normalise(team_a)), key(snapshot, "t", _normalise(team_b))])
        names = [t["name"] for t in self.teams()]
        for given, payload in ((team_a, a), (team_b, b)):
            if payload is None:
                raise NotFound(f"unknown team '{given}'", difflib.get_close_matches(given, names, n=5))
        p_a, p_b_wins = self._map_win_probabilities([(a, b, best_of), (b, a, best_of)])
        p_map = (p_a + 1 - p_b_wins) / 2  # symmetric: the model sees each pairing from both sides
        return {"team_a": a.get("team_name"), "team_b": b.get("team_name"), "best_of": best_of,
                "p_team_a_map": round(p_map, 4), "p_team_b_map": round(1 - p_map, 4),
                "p_team_a_series": round(series_win_probability(p_map, best_of), 4),
                "p_team_b_series": round(1 - series_win_probability(p_map, best_of), 4),
                "elo": {"team_a": a.get("elo"), "team_b": b.get("elo")},
                "model_version": self.models.serving["win"], "snapshot_id": snapshot}

    def _reasoning(self, contribution_row: np.ndarray, values: np.ndarray, stat: str, games: int,
                   has_opponent: bool, request: SingleRequest) -> list[str]:
        contributions = contribution_row[:-1]  # the last column is the bias
        order = np.argsort(-np.abs(contributions))[:3]
        lines = []
        for index in order:
            name, value, effect = PLAYER_FEATURES[index], values[index], contributions[index]
            if name.startswith("is_"):
                subject = f"{'playing' if value == 1 else 'not playing'} {name[3:]}"
            else:
                subject = f"{name.replace('_', ' ')} = {'unknown' if np.isnan(value) else f'{value:.2f}'}"
            lines.append(f"{subject} {'raises' if effect > 0 else 'lowers'} expected {stat} by "
                         f"{abs(np.expm1(effect)) * 100:.0f}%")
        if games < SHORT_HISTORY:
            lines.append(f"short history: {games} game(s) on record, so the league/position baseline weighs heavily")
        if not has_opponent:
            lines.append("no opponent given: opponent strength is unknown to the model")
        if request.champion:
            lines.append("champion is not used by this model version (pre-draft model)")
        return lines

    def status(self) -> dict[str, Any]:
        try:
            meta = self.meta()
            redis_ok = True
        except Unavailable:
            meta, redis_ok = {}, False
        return {"serving": self.models.serving, "snapshot_id": meta.get("snapshot_id"),
                "snapshot_created_at": meta.get("created_at"), "redis": "ok" if redis_ok else "unreachable"}

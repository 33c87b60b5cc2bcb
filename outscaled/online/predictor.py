"""The prediction logic behind the HTTP service: one Redis round trip, the champion models, the maths.

Kept free of any web framework so it is tested directly and served by BentoML unchanged.
"""

from __future__ import annotations

import difflib
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import orjson
import redis

from outscaled.features.as_of_now import CONCEDED, TEAM_SIDE, complete_player_rows, complete_team_rows
from outscaled.models.backtest import Bundle
from outscaled.models.distributions import (
    map_range_distribution, map_range_summaries, probability_maps_played, series_win_probability,
)
from outscaled.features.schema import PLAYER_FEATURES, schema_hash
from outscaled.models.layers import LAYERS, normalise_champion
from outscaled.online.requests import RequestError, SingleRequest
from outscaled.online.snapshot import POINTER, key

SHORT_HISTORY = 10
POINTER_TTL_SECONDS = 1.0
_NO_SIDE = [np.nan] * len(TEAM_SIDE)  # no opponent given
_NO_CONCEDED = [np.nan] * len(CONCEDED)
# how a feature is named in the reasoning: "is_" flags as (what is played, True), the rest in words
_FEATURE_SUBJECTS = [(name[3:], True) if name.startswith("is_") else (name.replace("_", " "), False)
                     for name in PLAYER_FEATURES]


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


_SUMMING_POOL = ThreadPoolExecutor(1, thread_name_prefix="map-range-sums")
_BACKGROUND_FROM = 64  # distributions: below, handing the sums to a thread costs more than it saves


def _tournament_note(tournament: str) -> str:
    return f"tournament '{tournament}' is not a model input: the player's own league baseline is used"


def _distribution_key(request: SingleRequest) -> tuple:
    """What decides a request's distribution: everything but its line (the tournament is not a feature)."""
    return (_normalise(request.player), request.stat, request.map_start, request.map_end,
            _normalise(request.opponent) if request.opponent else None,
            normalise_champion(request.champion) if request.champion else None)


class Predictor:
    def __init__(self, client: redis.Redis, models: Models, clock=lambda: datetime.now(timezone.utc).replace(tzinfo=None)):
        self.client = client
        self.models = models
        self.clock = clock
        self._pointer: tuple[str, float] | None = None
        self._meta: dict[str, Any] = {}
        self._index: list[dict] = []
        self._champions: dict[str, str] = {}  # normalised name -> name, every champion in the snapshot's games
        self._base_row_cache: dict[str, np.ndarray] = {}  # player key -> base row, for the current snapshot
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
                if meta and meta.get("feature_schema") != schema_hash(PLAYER_FEATURES):
                    raise Unavailable(f"snapshot {snapshot_id} was published for another feature schema; "
                                      "publish a new one (`outscaled materialize`) or roll back")
                self._meta, self._index = meta or {}, index or []
                self._champions = {normalise_champion(c): c for c in self._meta.get("champions") or []}
                self._base_row_cache = {}
            self._pointer = (snapshot_id, time.monotonic())
        return snapshot_id

    def _read(self, keys: list[str]) -> list[Any]:
        try:
            values = self.client.mget(keys)
        except (redis.RedisError, OSError) as error:
            self._pointer = None
            raise Unavailable(f"the feature store (Redis) is unreachable: {error}") from error
        return [orjson.loads(v) if v is not None else None for v in values]

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
    def _lookup(self, requests: list[SingleRequest]) -> tuple[str, list[Any]]:
        """One MGET for every distinct player and opponent; per request (player, opponent) or a NotFound."""
        snapshot = self.snapshot_id()
        player_keys = [key(snapshot, "p", _normalise(r.player)) for r in requests]
        opponent_keys = [key(snapshot, "t", _normalise(r.opponent)) if r.opponent else None for r in requests]
        wanted = list(dict.fromkeys(player_keys + [k for k in opponent_keys if k]))
        values = dict(zip(wanted, self._read(wanted))) if wanted else {}
        found: list[Any] = []
        for r, player_key, opponent_key in zip(requests, player_keys, opponent_keys):
            player, opponent = values[player_key], values.get(opponent_key) if opponent_key else None
            if player is None:
                found.append(NotFound(f"unknown player '{r.player}'", self._closest(r.player)))
            elif opponent_key and opponent is None:
                names = [t["name"] for t in self.teams()]
                found.append(NotFound(f"unknown opponent team '{r.opponent}'",
                                      difflib.get_close_matches(r.opponent, names, n=5)))
            else:
                found.append((player, opponent))
        return snapshot, found

    def _rows(self, requests: list[SingleRequest], players: list[dict], opponents: list[dict | None],
              now: datetime) -> tuple[np.ndarray, np.ndarray]:
        """Model rows for every map of every request (the as-of-now feature code), and each row's request."""
        maps = np.array([r.map_end - r.map_start + 1 for r in requests])
        owner = np.repeat(np.arange(len(requests)), maps)
        first = np.cumsum(maps) - maps
        map_number = np.arange(len(owner)) - first[owner] + np.array([r.map_start for r in requests])[owner]
        best_of = np.array([best_of_for(r.map_end) for r in requests], dtype=float)
        side = np.array([o["side"] if o else _NO_SIDE for o in opponents], dtype=float)
        conceded = np.array([(o["conceded"].get(p["position"] or "") or _NO_CONCEDED) if o else _NO_CONCEDED
                             for p, o in zip(players, opponents)], dtype=float)
        rows = complete_player_rows(
            self._base_rows(players)[owner],
            np.array([p["last_game"] for p in players], dtype=float)[owner], side[owner], conceded[owner],
            map_number, best_of[owner], now, self._meta.get("patch_first_seen"))
        return rows, owner

    def _base_rows(self, players: list[dict]) -> np.ndarray:
        """The players' base rows as one matrix; each converted once per snapshot (its values never change)."""
        cache = self._base_row_cache
        base = np.empty((len(players), len(PLAYER_FEATURES)))
        for i, player in enumerate(players):
            row = cache.get(player["player_key"])
            if row is None:
                row = cache[player["player_key"]] = np.array(player["row"], dtype=float)
            base[i] = row
        return base

    def feature_rows(self, request: SingleRequest) -> np.ndarray:
        """The model rows (one per map) the service builds for a request, from what Redis holds."""
        _, [found] = self._lookup([request])
        if isinstance(found, NotFound):
            raise found
        return self._rows([request], [found[0]], [found[1]], self.clock())[0]

    def _map_win_probabilities(self, teams: list[dict], opponents: list[dict], best_of: list[int],
                               now: datetime) -> np.ndarray:
        """P(team wins a map against opponent), one win-model call for all pairings."""
        if not teams:
            return np.empty(0)
        bundle = self.models.bundles[self._serving("win")]
        rows = complete_team_rows(
            np.array([t["side"] for t in teams], dtype=float), np.array([t["games_played"] for t in teams], dtype=float),
            np.array([t["last_game"] for t in teams], dtype=float), np.array([o["side"] for o in opponents], dtype=float),
            np.array([o["games_played"] for o in opponents], dtype=float), np.ones(len(teams)),
            np.array(best_of, dtype=float), now, self._meta.get("patch_first_seen"))
        return bundle.win.predict(rows)

    def _serving(self, model: str) -> str:
        if model not in self.models.serving:
            raise Unavailable(f"no champion model for {model} yet (see GET /models/status)")
        return self.models.serving[model]

    def single(self, request: SingleRequest) -> dict[str, Any]:
        try:
            answer = self.many([request])[0]
        except RequestError as error:  # many() names the field as in a batch: requests[0].champion
            raise RequestError(error.field.split(".", 1)[-1], error.message) from error
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _check_champions(self, requests: list[SingleRequest]) -> None:
        """An unknown champion is a bad field (422) with the closest names, never a silent factor 1. A champion
        in the snapshot's games but without out-of-fold evidence in the model (e.g. new since training) is
        known: its layers keep factor 1 and the reasoning says there are too few games."""
        self.snapshot_id()  # loads the snapshot's champions
        for i, r in enumerate(requests):
            layers = self.models.bundles[self.models.serving[r.stat]].layers
            if not r.champion or layers is None:
                continue
            name = normalise_champion(r.champion)
            if name not in layers.champions and name not in self._champions:
                known = {**self._champions, **layers.champions}
                close = difflib.get_close_matches(name, list(known), n=5)
                names = ", ".join(known[c] for c in close) or "none"
                raise RequestError(f"requests[{i}].champion",
                                   f"unknown champion '{r.champion}' (closest: {names})")

    def many(self, requests: list[SingleRequest]) -> list[dict[str, Any] | NotFound]:
        """Answers in order (a NotFound in place of an unknown player or team). One MGET for all players and
        opponents; requests that differ only in their line share one distribution (a slate asks several
        lines of each player's total); the rows of every map of every distribution built at once; one
        LightGBM call per stat and kind; contributions once per distinct row; the map-range sums together."""
        for stat in {r.stat for r in requests}:
            self._serving(stat)
        self._check_champions(requests)
        snapshot, found = self._lookup(requests)
        answers: list[Any] = [f if isinstance(f, NotFound) else None for f in found]
        served = [i for i, f in enumerate(found) if not isinstance(f, NotFound)]
        if not served:
            return answers
        shared: dict[tuple, int] = {}
        distribution = np.array([shared.setdefault(_distribution_key(requests[i]), len(shared)) for i in served])
        first: dict[int, int] = {}  # distribution -> its first request
        for i, d in zip(served, distribution.tolist()):
            first.setdefault(d, i)
        chosen = [requests[first[d]] for d in range(len(shared))]  # one request per distribution
        players = [found[first[d]][0] for d in range(len(shared))]
        opponents = [found[first[d]][1] for d in range(len(shared))]
        now = self.clock()
        rows, owner = self._rows(chosen, players, opponents, now)
        first_row = np.searchsorted(owner, np.arange(len(chosen)))
        stats = np.array([r.stat for r in chosen])
        means = np.empty(len(rows))
        lines = np.array([requests[i].line for i in served])
        summaries: dict[int, tuple[float, int, int]] = {}
        p_over = np.empty(len(served))
        reasons: list[list[str]] = [[] for _ in chosen]
        adjustments: list[list[str]] = [[] for _ in chosen]
        asked_stats = list(dict.fromkeys(stats.tolist()))
        summing = []
        for stat in asked_stats:
            bundle = self.models.bundles[self.models.serving[stat]]
            mine = stats[owner] == stat
            factor, modes = self._adjust(stat, bundle, chosen, players, adjustments)
            means[mine] = bundle.stats[stat].predict_mean(rows[mine]) * factor[owner[mine]]
            work = (stat, bundle, chosen, means, first_row, modes, lines, distribution, summaries, p_over)
            if len(chosen) >= _BACKGROUND_FROM:  # numpy releases the GIL: the sums run beside the rest; each
                summing.append(_SUMMING_POOL.submit(self._summarise, *work))  # reads only its stat's rows
            else:
                self._summarise(*work)
        for stat in asked_stats:
            self._explain(stat, self.models.bundles[self.models.serving[stat]].stats[stat], rows, first_row,
                          stats, reasons)
        for done in summing:
            done.result()
        p_map = self._p_map_for(chosen, players, opponents, now)
        shared_fields = []  # what every request of a distribution answers alike
        for d, (r, player, opponent) in enumerate(zip(chosen, players, opponents)):
            expected, low, high = summaries[d]
            games = int(player.get("games_played") or 0)
            shared_fields.append((
                player.get("player_name"), player.get("team_name"), [r.map_start, r.map_end], round(expected, 3),
                [low, high], round(probability_maps_played(p_map[d], best_of_for(r.map_end), r.map_end), 4),
                self.models.serving[r.stat], games,
                reasons[d] + adjustments[d] + self._caveats(games, opponent is not None)))
        for k, (i, d, over) in enumerate(zip(served, distribution.tolist(), p_over.tolist())):
            r = requests[i]
            name, team, maps, expected, interval, all_maps, version, games, reasoning = shared_fields[d]
            answers[i] = {
                "player": name, "team": team, "stat": r.stat, "line": r.line, "maps": list(maps),
                "expected": expected, "p_over": round(over, 4), "p_under": round(1 - over, 4),
                "pick": "over" if over > 0.5 else "under", "confidence": round(max(over, 1 - over), 4),
                "interval": list(interval), "p_all_maps_played": all_maps, "model_version": version,
                "snapshot_id": snapshot, "sample_size": games,
                "reasoning": [*reasoning, _tournament_note(r.tournament)] if r.tournament else list(reasoning),
            }
        return answers

    def _adjust(self, stat: str, bundle: Bundle, requests: list[SingleRequest], players: list[dict],
                out: list[list[str]]) -> tuple[np.ndarray, dict[int, str]]:
        """Per request: the layers' factor on every map's mean (1 for other stats) and the calibration mode
        ("meta" before the draft, "post_draft" with a champion; "model" for a bundle without layers); the
        adjustments in words go to `out`."""
        factor = np.ones(len(requests))
        mine = [j for j, r in enumerate(requests) if r.stat == stat]
        if bundle.layers is None:
            for j in mine:
                if requests[j].champion:
                    out[j].append("champion is not used: this model version has no champion layer")
            return factor, {j: "model" for j in mine}
        layers = bundle.layers
        patch = self._meta.get("latest_patch")
        champions = [normalise_champion(requests[j].champion) if requests[j].champion else None for j in mine]
        found = {
            "patch": layers.factors("patch", stat, [(patch, players[j].get("position")) for j in mine]),
            "champion": layers.factors("champion", stat, [(c,) for c in champions]),
            "player_champion": layers.factors("player_champion", stat,
                                              [(players[j].get("player_key"), c) for j, c in zip(mine, champions)]),
        }
        drafted = np.array([c is not None for c in champions])
        factor[mine] = found["patch"][0] * np.where(drafted, found["champion"][0] * found["player_champion"][0], 1.0)
        for k, (j, champion) in enumerate(zip(mine, champions)):
            name = (layers.champions.get(champion) or self._champions.get(champion, champion)) if champion else None
            subjects = {"patch": f"patch {patch} meta for {players[j].get('position')}",
                        "champion": f"champion {name}", "player_champion": f"{players[j].get('player_name')} on {name}"}
            for layer in LAYERS if champion else LAYERS[:1]:
                value, games = found[layer.name][0][k], int(found[layer.name][1][k])
                out[j].append(self._adjustment_text(subjects[layer.name], stat, float(value), games, layer.min_games,
                                                    float(layers.priors[layer.name].get(stat, float("inf")))))
        return factor, {j: "post_draft" if c else "meta" for j, c in zip(mine, champions)}

    @staticmethod
    @functools.lru_cache(maxsize=8192)  # before the draft, every player of a position gets the same patch text
    def _adjustment_text(subject: str, stat: str, value: float, games: int, min_games: int, prior: float) -> str:
        if not np.isfinite(prior):
            return f"{subject}: no adjustment (this layer did not help {stat} out of fold, so it is off)"
        if games < min_games:
            return f"{subject}: too few games for an adjustment ({games} of evidence, {min_games} needed)"
        return f"{subject}: {(value - 1) * 100:+.0f}% expected {stat} ({games} games of evidence)"

    def _summarise(self, stat: str, bundle: Bundle, distributions: list[SingleRequest], means: np.ndarray,
                   first_row: np.ndarray, modes: dict[int, str], lines: np.ndarray, asked: np.ndarray,
                   out: dict[int, tuple[float, int, int]], p_over: np.ndarray) -> None:
        """Per distribution of this stat: expected total and 80% interval (to `out`); per request asking
        one of them (`asked[k]` its distribution): the calibrated P(over its line) (to `p_over[k]`).
        Grouped by map count and calibration mode."""
        model = bundle.stats[stat]
        groups: dict[tuple[int, str], list[int]] = {}
        for d, mode in modes.items():
            groups.setdefault((distributions[d].map_end - distributions[d].map_start + 1, mode), []).append(d)
        for (count, mode), group in groups.items():
            position = np.full(len(distributions), -1)
            position[group] = np.arange(len(group))
            requests = np.flatnonzero(position[asked] >= 0)
            group_means = means[first_row[group][:, None] + np.arange(count)]  # each distribution's maps, in order
            summary = map_range_summaries(group_means, model.nb_size, lines[requests], position[asked[requests]])
            p_over[requests] = model.calibrate(summary.p_over) if mode == "model" else \
                bundle.layers.calibrate(mode, stat, summary.p_over)
            for k, d in enumerate(group):
                out[d] = (float(summary.expected[k]), int(summary.low[k]), int(summary.high[k]))

    def _explain(self, stat: str, model, rows: np.ndarray, first_row: np.ndarray, stats: np.ndarray,
                 out: list[list[str]]) -> None:
        """The top feature contributions (pred_contrib) of each request's first map, once per distinct row."""
        mine = np.flatnonzero(stats == stat)
        distinct: dict[bytes, int] = {}
        which = [distinct.setdefault(rows[first_row[j]].tobytes(), len(distinct)) for j in mine]
        unique_rows = np.empty((len(distinct), rows.shape[1]))
        for row_bytes, index in distinct.items():
            unique_rows[index] = np.frombuffer(row_bytes)
        texts = self._top_contributions(model.contributions(unique_rows), unique_rows, stat)
        for j, index in zip(mine, which):
            out[j] = list(texts[index])

    def _p_map_for(self, requests: list[SingleRequest], players: list[dict], opponents: list[dict | None],
                   now: datetime) -> list[float]:
        """P(the player's team wins a map) where the opponent is known and a win model serves; else 0.5."""
        paired = [j for j, (p, o) in enumerate(zip(players, opponents)) if o and p.get("team")]
        p_map = [0.5] * len(requests)
        if paired and "win" in self.models.serving:
            wins = self._map_win_probabilities([players[j]["team"] for j in paired], [opponents[j] for j in paired],
                                               [best_of_for(requests[j].map_end) for j in paired], now)
            for j, p in zip(paired, wins):
                p_map[j] = float(p)
        return p_map

    def curve(self, player: str, stat: str, map_start: int, map_end: int) -> dict[str, Any]:
        request = SingleRequest(player, stat, 0.5, map_start, map_end)
        self._serving(stat)
        snapshot, [found] = self._lookup([request])
        if isinstance(found, NotFound):
            raise found
        bundle = self.models.bundles[self.models.serving[stat]]
        model = bundle.stats[stat]
        factor, modes = self._adjust(stat, bundle, [request], [found[0]], [[]])  # the patch layer, as in single()
        means = model.predict_mean(self._rows([request], [found[0]], [None], self.clock())[0]) * factor[0]
        base = map_range_distribution([float(m) for m in means], model.nb_size, 0.5)
        top = max(int(base.interval_80[1] * 1.6) + 2, 6)
        step = max(1, top // 60)
        lines = [k + 0.5 for k in range(0, top, step)]
        raw = np.array([base.p_over_line(x) for x in lines])
        calibrated = model.calibrate(raw) if modes[0] == "model" else bundle.layers.calibrate(modes[0], stat, raw)
        calibrated = np.minimum.accumulate(calibrated)  # keep the curve monotone after calibration
        return {"player": found[0].get("player_name"), "stat": stat, "maps": [map_start, map_end],
                "expected": round(base.expected, 3), "snapshot_id": snapshot,
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
        p_a, p_b_wins = self._map_win_probabilities([a, b], [b, a], [best_of, best_of], self.clock())
        p_map = float(p_a + 1 - p_b_wins) / 2  # symmetric: the model sees each pairing from both sides
        return {"team_a": a.get("team_name"), "team_b": b.get("team_name"), "best_of": best_of,
                "p_team_a_map": round(p_map, 4), "p_team_b_map": round(1 - p_map, 4),
                "p_team_a_series": round(series_win_probability(p_map, best_of), 4),
                "p_team_b_series": round(1 - series_win_probability(p_map, best_of), 4),
                "elo": {"team_a": a.get("elo"), "team_b": b.get("elo")},
                "model_version": self.models.serving["win"], "snapshot_id": snapshot}

    @staticmethod
    def _top_contributions(contributions: np.ndarray, values: np.ndarray, stat: str) -> list[list[str]]:
        """Per row: its three largest contributions (by size; the last column, the bias, left out) in words."""
        top = np.argsort(-np.abs(contributions[:, :-1]), axis=1, kind="stable")[:, :3]
        effects = np.take_along_axis(contributions, top, axis=1)
        shown = np.take_along_axis(values, top, axis=1)
        percents = np.abs(np.expm1(effects)) * 100
        effect_words = (" lowers expected " + stat + " by ", " raises expected " + stat + " by ")
        texts = []
        for indices, row_values, row_effects, row_percents in zip(top.tolist(), shown.tolist(), effects.tolist(),
                                                                  percents.tolist()):
            lines = []
            for index, value, effect, percent in zip(indices, row_values, row_effects, row_percents):
                name, is_flag = _FEATURE_SUBJECTS[index]
                if is_flag:
                    subject = ("playing " if value == 1 else "not playing ") + name
                else:
                    subject = name + (" = unknown" if value != value else f" = {value:.2f}")
                lines.append(f"{subject}{effect_words[effect > 0]}{percent:.0f}%")
            texts.append(lines)
        return texts

    @staticmethod
    def _caveats(games: int, has_opponent: bool) -> list[str]:
        lines = []
        if games < SHORT_HISTORY:
            lines.append(f"short history: {games} game(s) on record, so the league/position baseline weighs heavily")
        if not has_opponent:
            lines.append("no opponent given: opponent strength is unknown to the model")
        return lines

    def status(self) -> dict[str, Any]:
        try:
            meta = self.meta()
            redis_ok = True
        except Unavailable:
            meta, redis_ok = {}, False
        return {"serving": self.models.serving, "snapshot_id": meta.get("snapshot_id"),
                "snapshot_created_at": meta.get("created_at"), "redis": "ok" if redis_ok else "unreachable"}

"""Reading the current feature snapshot from Redis: the pointer, the snapshot's meta and index, MGETs.

Every failure to reach Redis is `Unavailable` (HTTP 503); the next call after Redis is back succeeds."""

from __future__ import annotations

import difflib
import threading
import time
from typing import Any

import orjson
import redis

from outscaled.features.schema import PLAYER_FEATURES, schema_hash
from outscaled.models.layers import normalise_champion
from outscaled.online.snapshot import POINTER, key, value_keys

POINTER_TTL_SECONDS = 1.0


class Unavailable(RuntimeError):
    """Redis cannot be reached, or holds no usable snapshot (HTTP 503); recovers by itself once it is back."""


def normalise(name: str) -> str:
    return name.strip().lower()


class SnapshotStore:
    def __init__(self, client: redis.Redis):
        self.client = client
        self._pointer: tuple[str, float] | None = None
        self._meta: dict[str, Any] = {}
        self._index: list[dict] = []
        self._bases: dict[str, str | None] = {}  # snapshot id -> the full snapshot a delta reads from
        self._lock = threading.Lock()
        self.generation = 0  # bumped when the snapshot changes (callers drop what they cached for the old one)
        self.champions: dict[str, str] = {}  # normalised name -> name, every champion in the snapshot's games

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
                meta, index = self.read([key(snapshot_id, "meta"), key(snapshot_id, "players")])
                if meta and meta.get("feature_schema") != schema_hash(PLAYER_FEATURES):
                    raise Unavailable(f"snapshot {snapshot_id} was published for another feature schema; "
                                      "publish a new one (`outscaled materialize`) or roll back")
                self._meta, self._index = meta or {}, index or []
                self._bases[snapshot_id] = self._meta.get("base")
                self.champions = {normalise_champion(c): c for c in self._meta.get("champions") or []}
                self.generation += 1
            self._pointer = (snapshot_id, time.monotonic())
        return snapshot_id

    def refresh(self) -> str:
        """The current snapshot id read from Redis now, not the pointer cached for POINTER_TTL_SECONDS:
        readiness must turn 503 as soon as the feature store is unreachable."""
        self._pointer = None
        return self.snapshot_id()

    def read_values(self, snapshot_id: str, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """Player ("p") and team ("t") values of the snapshot, by (kind, normalised name), in one MGET: a
        delta snapshot's own value where it has one, else its base's (outscaled.online.snapshot)."""
        if snapshot_id not in self._bases:  # a snapshot id this store has not loaded the meta of
            meta = self.read([key(snapshot_id, "meta")])[0] or {}
            self._bases[snapshot_id] = meta.get("base")
        base = self._bases[snapshot_id]
        keys = [value_keys(snapshot_id, base, kind, name) for kind, name in wanted]
        values = self.read([k for group in keys for k in group])
        result, at = {}, 0
        for item, group in zip(wanted, keys):
            result[item] = next((v for v in values[at:at + len(group)] if v is not None), None)
            at += len(group)
        return result

    def read(self, keys: list[str]) -> list[Any]:
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
        q = normalise(query)
        hits = [p for p in self._index if not q or q in (p["name"] or "").lower() or q in p["key"]]
        return sorted(hits, key=lambda p: (-(p["games"] or 0), p["key"]))[:limit]

    def teams(self) -> list[dict]:
        snapshot = self.snapshot_id()
        return self.read([key(snapshot, "teams")])[0] or []

    def closest_players(self, name: str) -> list[str]:
        names = {p["name"] or p["key"] for p in self._index}
        return difflib.get_close_matches(name, list(names), n=5, cutoff=0.5)

    def closest_teams(self, name: str) -> list[str]:
        return difflib.get_close_matches(name, [t["name"] for t in self.teams()], n=5)

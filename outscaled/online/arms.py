"""A/B and shadow: per stat, a challenger model version beside the champion.

A split sends a share (`weight`) of the callers to the challenger; which callers is decided by a hash of
the caller's key id and the stat, so a caller keeps its arm for as long as the split stands (sticky), and
two stats split independently. A shadow split answers every caller from the champion and scores the
challenger on the same requests without returning it (the analytics log keeps both).

Splits live in Redis (`outscaled:splits`, one JSON document), shared by every service worker and read at
most once a second by each; `outscaled models split STAT VERSION WEIGHT [--shadow]` writes them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import redis

SPLITS_KEY = "outscaled:splits"
SPLITS_TTL_SECONDS = 1.0
CHAMPION, CHALLENGER = "champion", "challenger"
ANONYMOUS = "anonymous"  # the caller id when the service runs without authentication


@dataclass(frozen=True)
class Split:
    stat: str
    version: str  # the challenger
    weight: float  # share of callers answered by the challenger (0..1); a shadow split answers none
    shadow: bool = False


def arm_for(caller: str, stat: str, weight: float) -> str:
    """The arm of a caller for a stat: the challenger for a `weight` share of callers, always the same one."""
    digest = hashlib.blake2b(f"{caller}\0{stat}".encode(), digest_size=8).digest()
    return CHALLENGER if int.from_bytes(digest, "big") / 2**64 < weight else CHAMPION


def write_split(client: redis.Redis, split: Split) -> None:
    """Set (weight > 0 or shadow) or clear (weight 0, not shadow) a stat's split."""
    splits = read_splits(client)
    if split.weight > 0 or split.shadow:
        splits[split.stat] = split
    else:
        splits.pop(split.stat, None)
    client.set(SPLITS_KEY, orjson.dumps({stat: asdict(s) for stat, s in splits.items()}))


def read_splits(client: redis.Redis) -> dict[str, Split]:
    raw = client.get(SPLITS_KEY)
    return {stat: Split(**value) for stat, value in orjson.loads(raw).items()} if raw else {}


class SplitCache:
    """The splits as a worker sees them: read from Redis at most every SPLITS_TTL_SECONDS; while Redis is
    unreachable, the last splits read stay in force (the answer's route reports the outage itself)."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self._splits: dict[str, Split] = {}
        self._read_at = float("-inf")

    def current(self) -> dict[str, Split]:
        if time.monotonic() - self._read_at >= SPLITS_TTL_SECONDS:
            try:
                self._splits = read_splits(self.client)
            except (redis.RedisError, OSError, ValueError, TypeError):
                pass
            self._read_at = time.monotonic()
        return self._splits


class ArmChooser:
    """Which model version answers each request: a split's challenger for its share of callers (once this
    process has loaded it), else the stat's champion. `bundles` is the process's loaded versions (version ->
    bundle, shared with the predictor); `loader` loads a version a split names in a thread, and the split takes
    effect once it is loaded (without a loader, only loaded versions are split to)."""

    def __init__(self, client: redis.Redis, bundles: dict[str, Any], loader: Callable[[str], Any] | None = None):
        self.splits = SplitCache(client)
        self.bundles = bundles
        self._loader = loader
        self._loading: set[str] = set()

    def live(self) -> dict[str, Split]:
        """The splits in force: those whose challenger is loaded and answers the stat."""
        live = {}
        for stat, split in self.splits.current().items():
            bundle = self.bundles.get(split.version)
            if bundle is not None and stat in bundle.stats:
                live[stat] = split
            elif bundle is None:
                self._load_in_background(split.version)
        return live

    def choose(self, stats: list[str], caller: str, champion: Callable[[str], str]) -> tuple[list[str], list[str]]:
        """Per stat asked: the model version that answers it and its arm (the caller's, sticky per stat);
        `champion(stat)` names the champion version."""
        splits = self.live()
        versions, arms = [], []
        for stat in stats:
            split = splits.get(stat)
            if split is not None and not split.shadow and arm_for(caller, stat, split.weight) == CHALLENGER:
                versions.append(split.version)
                arms.append(CHALLENGER)
            else:
                versions.append(champion(stat))
                arms.append(CHAMPION)
        return versions, arms

    def _load_in_background(self, version: str) -> None:
        if self._loader is None or version in self._loading:
            return
        self._loading.add(version)

        def load() -> None:
            try:
                self.bundles[version] = self._loader(version)
            except Exception as error:  # a bad version name: the split stays out of force, and says why
                print(f"outscaled: cannot load model version {version} for a split: {error}", flush=True)

        threading.Thread(target=load, name=f"load-{version}", daemon=True).start()

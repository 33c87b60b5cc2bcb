"""Serving new games within seconds: after a micro-batch reaches bronze, the live state update
(outscaled.features.live_state) recomputes what those games touch, and a delta snapshot with only the
changed players and teams is published for the serving champions; the service follows the pointer.

The last build's tables are read once and again only when a newer dbt build is recorded (the refresh job's
full rebuild, which then supersedes every live row); bronze is followed, reading only what each load appended.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import polars as pl
import redis
from pyiceberg.catalog import Catalog

from outscaled.features.live_state import BRONZE_PLAYER_COLUMNS, BRONZE_TEAM_COLUMNS, live_update
from outscaled.lakehouse.follow import FollowedTable
from outscaled.lakehouse.loads import newest_build
from outscaled.models.registry import champions, read_registry
from outscaled.online.snapshot import SnapshotInfo, built_tables, publish


@dataclass
class LiveRefresh:
    snapshot: SnapshotInfo
    games_since_build: int
    players: int
    teams: int
    late_games: list[str]
    seconds: float


class LiveServing:
    def __init__(self, catalog: Catalog, client: redis.Redis):
        self.catalog, self.client = catalog, client
        self._build: dict[str, int] | None = None
        self._built: dict[str, pl.DataFrame] = {}
        self.players = FollowedTable(catalog, "bronze.player_games", tuple(BRONZE_PLAYER_COLUMNS))
        self.teams = FollowedTable(catalog, "bronze.team_games", tuple(BRONZE_TEAM_COLUMNS))

    def _built_tables(self) -> dict[str, pl.DataFrame]:
        build = newest_build(self.catalog)
        if build != self._build or not self._built:
            self._built, self._build = built_tables(self.catalog), build
        return self._built

    def refresh(self) -> LiveRefresh:
        """Bring the served snapshot up to date with bronze (a delta on the newest full snapshot)."""
        started = time.perf_counter()
        built = self._built_tables()
        state = live_update(built, self.players.read(), self.teams.read())
        info = publish(self.client, self.catalog, champions(read_registry(self.catalog)), delta=True,
                       tables=state.tables)
        return LiveRefresh(info, len(state.new_games), len(state.players), len(state.teams), state.late_games,
                           time.perf_counter() - started)

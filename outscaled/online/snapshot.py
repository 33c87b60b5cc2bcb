"""Versioned feature snapshots in Redis, switched atomically.

Every key of a snapshot carries the hash tag {<snapshot id>}, so on Redis Cluster a snapshot lives in
one slot and a prediction's MGET (player, team, opponent, baselines) is one round trip. Readers follow
the pointer `outscaled:current`, which moves only after every key of the new snapshot is written.
The last KEEP snapshots are listed in `outscaled:snapshots`; older ones expire after RETIRED_TTL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import polars as pl
import redis
from pyiceberg.catalog import Catalog

from outscaled.lakehouse.tables import read_table
from outscaled.models.features import PLAYER_FEATURES, schema_hash

POINTER = "outscaled:current"
HISTORY = "outscaled:snapshots"
KEEP = 5
RETIRED_TTL = 7 * 24 * 3600


def key(snapshot_id: str, kind: str, name: str = "") -> str:
    return f"outscaled:{{{snapshot_id}}}:{kind}" + (f":{name}" if name else "")


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.write_json())


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: str
    players: int
    teams: int
    created_at: str


def build_payloads(catalog: Catalog) -> dict[str, Any]:
    players = read_table(catalog.load_table("gold.player_current_state"))
    teams = read_table(catalog.load_table("gold.team_current_state"))
    conceded = read_table(catalog.load_table("gold.team_conceded_current_state"))
    baselines = read_table(catalog.load_table("gold.position_baseline_current"))
    features = read_table(catalog.load_table("gold.player_features"), ("patch", "game_start", "league"))
    latest_patch = features.sort("game_start")["patch"].drop_nulls()[-1]
    patch_first_seen = features.filter(pl.col("patch") == latest_patch)["game_start"].min()
    by_team: dict[str, dict[str, Any]] = {}
    for row in _rows(teams):
        row["conceded"] = {}
        by_team[row["team_key"]] = row
    for row in _rows(conceded):
        if row["team_key"] in by_team:
            by_team[row["team_key"]]["conceded"][row["position"]] = row
    by_league: dict[str, dict[str, Any]] = {}
    for row in _rows(baselines):
        by_league.setdefault(row["league"], {})[row["position"]] = row
    return {"players": {r["player_key"]: r for r in _rows(players)}, "teams": by_team, "baselines": by_league,
            "patch_first_seen": str(patch_first_seen) if patch_first_seen else None, "latest_patch": latest_patch}


def publish(client: redis.Redis, catalog: Catalog, model_versions: dict[str, str]) -> SnapshotInfo:
    payloads = build_payloads(catalog)
    created = datetime.now(timezone.utc)
    snapshot_id = created.strftime("s%Y%m%d%H%M%S%f")
    pipe = client.pipeline(transaction=False)
    for player_key, payload in payloads["players"].items():
        # One packed value per player: its own state, its team's and its league/position baseline, so a
        # prediction needs a single MGET (player + opponent team).
        packed = {**payload, "team": payloads["teams"].get(payload.get("team_key")),
                  "baseline": payloads["baselines"].get(payload.get("league"), {}).get(payload.get("position"))}
        pipe.set(key(snapshot_id, "p", player_key), json.dumps(packed))
    for team_key, payload in payloads["teams"].items():
        pipe.set(key(snapshot_id, "t", team_key), json.dumps(payload))
    for league, payload in payloads["baselines"].items():
        pipe.set(key(snapshot_id, "b", league), json.dumps(payload))
    index = [{"key": k, "name": p.get("player_name"), "team": p.get("team_name"), "league": p.get("league"),
              "position": p.get("position"), "games": p.get("games_played")} for k, p in payloads["players"].items()]
    teams = [{"key": k, "name": t.get("team_name"), "league": t.get("league"), "elo": t.get("elo")}
             for k, t in payloads["teams"].items()]
    meta = {"snapshot_id": snapshot_id, "created_at": created.isoformat(), "feature_schema": schema_hash(PLAYER_FEATURES),
            "model_versions": model_versions, "patch_first_seen": payloads["patch_first_seen"],
            "latest_patch": payloads["latest_patch"], "tournaments": sorted(payloads["baselines"]),
            "players": len(index), "teams": len(teams)}
    pipe.set(key(snapshot_id, "players"), json.dumps(index))
    pipe.set(key(snapshot_id, "teams"), json.dumps(teams))
    pipe.set(key(snapshot_id, "meta"), json.dumps(meta))
    pipe.execute()
    switch_to(client, snapshot_id)
    client.lpush(HISTORY, snapshot_id)
    for retired in client.lrange(HISTORY, KEEP, -1):
        _expire(client, retired.decode())
    client.ltrim(HISTORY, 0, KEEP * 4)
    return SnapshotInfo(snapshot_id, len(index), len(teams), meta["created_at"])


def switch_to(client: redis.Redis, snapshot_id: str) -> None:
    if not client.exists(key(snapshot_id, "meta")):
        raise ValueError(f"snapshot {snapshot_id} is incomplete or expired; see `outscaled snapshots list`")
    client.set(POINTER, snapshot_id)
    for k in client.scan_iter(match=f"outscaled:{{{snapshot_id}}}:*", count=1000):
        client.persist(k)


def _expire(client: redis.Redis, snapshot_id: str) -> None:
    if client.get(POINTER) == snapshot_id.encode():
        return
    for k in client.scan_iter(match=f"outscaled:{{{snapshot_id}}}:*", count=1000):
        client.expire(k, RETIRED_TTL)


def list_snapshots(client: redis.Redis) -> list[dict[str, Any]]:
    current = (client.get(POINTER) or b"").decode()
    result = []
    for raw in client.lrange(HISTORY, 0, -1):
        snapshot_id = raw.decode()
        meta = client.get(key(snapshot_id, "meta"))
        if meta:
            info = json.loads(meta)
            result.append({"snapshot_id": snapshot_id, "current": snapshot_id == current,
                           "created_at": info["created_at"], "players": info["players"],
                           "model_versions": info["model_versions"]})
    return result


def rollback(client: redis.Redis) -> str:
    """Switch to the snapshot published before the current one."""
    ids = [s["snapshot_id"] for s in list_snapshots(client)]
    current = (client.get(POINTER) or b"").decode()
    if current not in ids or ids.index(current) + 1 >= len(ids):
        raise ValueError("no earlier complete snapshot to roll back to")
    previous = ids[ids.index(current) + 1]
    switch_to(client, previous)
    return previous

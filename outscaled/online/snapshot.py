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

import orjson
import polars as pl
import redis
from pyiceberg.catalog import Catalog

from outscaled.features.as_of_now import player_base_row, team_conceded, team_side, timestamp
from outscaled.lakehouse.tables import read_table
from outscaled.features.schema import PLAYER_FEATURES, schema_hash

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
    features = read_table(catalog.load_table("gold.player_features"), ("patch", "game_start", "league", "champion"))
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
            "patch_first_seen": str(patch_first_seen) if patch_first_seen else None, "latest_patch": latest_patch,
            "champions": sorted(features["champion"].drop_nulls().unique().to_list())}


def _team_value(team: dict[str, Any]) -> dict[str, Any]:
    """A team's packed value: names, its side of a model row and what it concedes per position."""
    return {"team_key": team["team_key"], "team_name": team.get("team_name"), "league": team.get("league"),
            "elo": team.get("elo"), "games_played": team.get("games_played") or 0,
            "last_game": timestamp(team.get("last_game_start")), "side": team_side(team),
            "conceded": team_conceded(team)}


def _player_value(player: dict[str, Any], team: dict[str, Any] | None, baseline: dict[str, Any] | None) -> dict[str, Any]:
    """A player's packed value: names, the request-independent part of its model row, its team's side."""
    return {"player_key": player["player_key"], "player_name": player.get("player_name"),
            "team_key": player.get("team_key"), "team_name": player.get("team_name"),
            "position": player.get("position"), "league": player.get("league"),
            "games_played": player.get("games_played") or 0, "last_game_start": player.get("last_game_start"),
            "last_game": timestamp(player.get("last_game_start")), "row": player_base_row(player, team, baseline),
            "team": _team_value(team) if team else None}


def packed_values(payloads: dict[str, Any]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Player and team values as stored in Redis (JSON, NaN written as null)."""
    players = {k: orjson.dumps(_player_value(p, payloads["teams"].get(p.get("team_key")),
                                             payloads["baselines"].get(p.get("league"), {}).get(p.get("position"))))
               for k, p in payloads["players"].items()}
    teams = {k: orjson.dumps(_team_value(t)) for k, t in payloads["teams"].items()}
    return players, teams


def publish(client: redis.Redis, catalog: Catalog, model_versions: dict[str, str]) -> SnapshotInfo:
    payloads = build_payloads(catalog)
    created = datetime.now(timezone.utc)
    snapshot_id = created.strftime("s%Y%m%d%H%M%S%f")
    pipe = client.pipeline(transaction=False)
    # One packed value per player (its state, its team's and its position baseline, ready as the fixed
    # part of a model row) and one per team, so a prediction needs a single MGET (player + opponent).
    players, teams = packed_values(payloads)
    for player_key, value in players.items():
        pipe.set(key(snapshot_id, "p", player_key), value)
    for team_key, value in teams.items():
        pipe.set(key(snapshot_id, "t", team_key), value)
    index = [{"key": k, "name": p.get("player_name"), "team": p.get("team_name"), "league": p.get("league"),
              "position": p.get("position"), "games": p.get("games_played")} for k, p in payloads["players"].items()]
    teams = [{"key": k, "name": t.get("team_name"), "league": t.get("league"), "elo": t.get("elo")}
             for k, t in payloads["teams"].items()]
    meta = {"snapshot_id": snapshot_id, "created_at": created.isoformat(), "feature_schema": schema_hash(PLAYER_FEATURES),
            "model_versions": model_versions, "patch_first_seen": payloads["patch_first_seen"],
            "latest_patch": payloads["latest_patch"], "tournaments": sorted(payloads["baselines"]),
            "champions": payloads["champions"],
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

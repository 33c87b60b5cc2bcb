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

from outscaled.features.as_of import average_opponents, baselines_as_of, conceded_as_of, latest_rows
from outscaled.features.rows import BASELINE, CONCEDED, TEAM_SIDE, epoch_seconds
from outscaled.features.schema import PLAYER_FEATURES, PLAYER_STATE, schema_hash
from outscaled.lakehouse.loads import read_as_of_cut

POINTER = "outscaled:current"
HISTORY = "outscaled:snapshots"
KEEP = 5
RETIRED_TTL = 7 * 24 * 3600


def key(snapshot_id: str, kind: str, name: str = "") -> str:
    return f"outscaled:{{{snapshot_id}}}:{kind}" + (f":{name}" if name else "")


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.write_json())


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: str
    players: int
    teams: int
    created_at: str


_EVER = datetime(9999, 1, 1)  # "as of now": after every game


def build_payloads(catalog: Catalog, as_of: datetime | None = None) -> dict[str, Any]:
    """Every player's and team's state as of `as_of` (naive UTC; None: after every game), the league/position
    baselines, the patches seen, each league's patch and its average opponent, as the service reads them."""
    def table(name: str) -> pl.DataFrame:  # as the newest complete dbt build left it
        return read_as_of_cut(catalog, name)

    team_history = table("gold.team_state_history")
    teams = latest_rows(team_history, ["team_key"], as_of)
    conceded_history = table("gold.team_conceded_state_history")
    players = latest_rows(table("gold.player_state_history"), ["player_key"], as_of)
    conceded = conceded_as_of(conceded_history, teams)
    baselines = baselines_as_of(table("gold.position_baseline_history"), as_of)
    games = read_as_of_cut(catalog, "gold.player_features", ("patch", "game_start", "league", "champion"))
    patches = table("gold.patches")
    if as_of is not None:
        games = games.filter(pl.col("game_start") < as_of)
        patches = patches.filter(pl.col("patch_first_seen") < as_of)
    league_patch = {r["league"]: r["patch"] for r in _rows(
        games.drop_nulls("patch").sort("game_start").group_by("league", maintain_order=True).last())}
    moment = as_of or _EVER
    leagues = sorted(set(league_patch) | set(baselines["league"].to_list()))
    sides, against = average_opponents(team_history, conceded_history,
                                       pl.DataFrame({"league": leagues, "as_of": [moment] * len(leagues)}))
    by_team: dict[str, dict[str, Any]] = {}
    for row in _rows(teams):
        row["conceded"] = {}
        by_team[row["team_key"]] = row
    for row in _rows(conceded):
        by_team[row["team_key"]]["conceded"][row["position"]] = row
    average: dict[str, dict[str, Any]] = {r["league"]: {**r, "conceded": {}} for r in _rows(sides)}
    for row in _rows(against):
        average[row["league"]]["conceded"][row["position"]] = row
    by_league: dict[str, dict[str, Any]] = {}
    for row in _rows(baselines):
        by_league.setdefault(row["league"], {})[row["position"]] = [_number(row.get(c)) for c in BASELINE]
    return {"players": {r["player_key"]: r for r in _rows(players)}, "teams": by_team, "baselines": by_league,
            "average_opponents": average, "league_patch": league_patch,
            "patches": {r["patch"]: epoch_seconds(r["patch_first_seen"]) for r in _rows(patches)},
            "champions": sorted(games["champion"].drop_nulls().unique().to_list()),
            "as_of": as_of.isoformat() if as_of else None}


def _side_value(team: dict[str, Any]) -> dict[str, Any]:
    """What a player row needs of an opponent: its side (TEAM_SIDE) and what it concedes per position."""
    return {"side": [_number(team.get(c)) for c in TEAM_SIDE],
            "conceded": {position: [_number(values.get(c)) for c in CONCEDED]
                         for position, values in (team.get("conceded") or {}).items()}}


def _team_value(team: dict[str, Any]) -> dict[str, Any]:
    """A team's packed value: names, its side of a model row and what it concedes per position."""
    return {"team_key": team["team_key"], "team_name": team.get("team_name"), "league": team.get("league"),
            "elo": team.get("elo"), "games_played": team.get("games_played") or 0,
            "last_game": epoch_seconds(team.get("last_game_start")), **_side_value(team)}


def _player_value(player: dict[str, Any], team: dict[str, Any] | None) -> dict[str, Any]:
    """A player's packed value: names, its state (PLAYER_STATE), its team's value."""
    return {"player_key": player["player_key"], "player_name": player.get("player_name"),
            "team_key": player.get("team_key"), "team_name": player.get("team_name"),
            "position": player.get("position"), "league": player.get("league"),
            "games_played": player.get("games_played") or 0, "last_game_start": player.get("last_game_start"),
            "last_game": epoch_seconds(player.get("last_game_start")),
            "state": [_number(player.get(c)) for c in PLAYER_STATE],
            "team": _team_value(team) if team else None}


def packed_values(payloads: dict[str, Any]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Player and team values as stored in Redis (JSON, NaN written as null)."""
    players = {k: orjson.dumps(_player_value(p, payloads["teams"].get(p.get("team_key"))))
               for k, p in payloads["players"].items()}
    teams = {k: orjson.dumps(_team_value(t)) for k, t in payloads["teams"].items()}
    return players, teams


def average_opponent_values(payloads: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per league, its average opponent as a team value (small: kept in the snapshot's meta)."""
    return {league: {"team_name": f"an average {league} opponent", **_side_value(a)}
            for league, a in payloads["average_opponents"].items()}


def publish(client: redis.Redis, catalog: Catalog, model_versions: dict[str, str],
            as_of: datetime | None = None) -> SnapshotInfo:
    """A new snapshot of the state after every game (or as of `as_of`, to answer as the service would have
    then: replays and the parity test), and the pointer moved to it."""
    payloads = build_payloads(catalog, as_of)
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
            "model_versions": model_versions, "as_of": payloads["as_of"], "baselines": payloads["baselines"],
            "average_opponents": average_opponent_values(payloads),
            "patches": payloads["patches"], "league_patch": payloads["league_patch"],
            "tournaments": sorted(payloads["baselines"]), "champions": payloads["champions"],
            "players": len(index), "teams": len(teams)}
    pipe.set(key(snapshot_id, "players"), json.dumps(index))
    pipe.set(key(snapshot_id, "teams"), json.dumps(teams))
    pipe.set(key(snapshot_id, "meta"), orjson.dumps(meta))  # NaN written as null
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

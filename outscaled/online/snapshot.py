"""Versioned feature snapshots in Redis, switched atomically, full or as deltas.

A full snapshot F writes one value per player and team under the hash tag {F}. A delta snapshot D (the
live path, after a micro-batch of new games) is based on the newest full snapshot F: it writes only the
values that differ from F's, under `outscaled:{F}:x:<D>:…` (same slot as F), and shares every other value
with F. Each snapshot has its own meta, player and team index. Readers follow the pointer
`outscaled:current`, which moves only after every key of the new snapshot is written; for a delta they
read each value as [D's, F's] in one MGET and take the first present (`value_keys`), so a prediction is
still one round trip and, on Redis Cluster, one slot.
The last KEEP snapshots are listed in `outscaled:snapshots`; older ones expire after RETIRED_TTL, except a
full snapshot that a kept delta still reads from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
import polars as pl
import redis
from pyiceberg.catalog import Catalog

from outscaled.features.live_state import GAME_COLUMNS, HISTORY_TABLES
from outscaled.features.as_of import average_opponents, baselines_as_of, conceded_as_of, latest_rows
from outscaled.features.rows import BASELINE, CONCEDED, TEAM_SIDE, epoch_seconds
from outscaled.features.schema import PLAYER_FEATURES, PLAYER_STATE, schema_hash
from outscaled.lakehouse.loads import read_as_of_cut

POINTER = "outscaled:current"
HISTORY = "outscaled:snapshots"
KEEP = 5
RETIRED_TTL = 7 * 24 * 3600


REBASE_AFTER = 2 * KEEP  # snapshots published since a delta's base after which the next one is full
DELTA_REBASE_SHARE = 0.5  # a delta that would rewrite more than this share of the values is published in full


def key(snapshot_id: str, kind: str, name: str = "") -> str:
    return f"outscaled:{{{snapshot_id}}}:{kind}" + (f":{name}" if name else "")


def delta_key(base_id: str, snapshot_id: str, kind: str, name: str) -> str:
    """Where delta `snapshot_id` keeps its own value of a player ("p") or team ("t"): in its base's slot."""
    return key(base_id, f"x:{snapshot_id}:{kind}", name)


def value_keys(snapshot_id: str, base_id: str | None, kind: str, name: str) -> tuple[str, ...]:
    """The keys to read a value of snapshot `snapshot_id` from, first present wins."""
    if base_id is None:
        return (key(snapshot_id, kind, name),)
    return (delta_key(base_id, snapshot_id, kind, name), key(base_id, kind, name))


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
    base: str | None = None  # the full snapshot a delta reads its unchanged values from
    written: int = 0  # player and team values this snapshot wrote (a full one: all of them)


_EVER = datetime(9999, 1, 1)  # "as of now": after every game


def built_tables(catalog: Catalog) -> dict[str, pl.DataFrame]:
    """What a snapshot is built from, as the newest complete dbt build left it: the state histories
    (outscaled.features.live_state.HISTORY_TABLES) and "games" (every player game's league, patch, champion)."""
    tables = {name: read_as_of_cut(catalog, name) for name in HISTORY_TABLES}
    tables["games"] = read_as_of_cut(catalog, "gold.player_features", ("game_id", *GAME_COLUMNS))
    return tables


def build_payloads(catalog: Catalog, as_of: datetime | None = None,
                   tables: dict[str, pl.DataFrame] | None = None) -> dict[str, Any]:
    """Every player's and team's state as of `as_of` (naive UTC; None: after every game), the league/position
    baselines, the patches seen, each league's patch and its average opponent, as the service reads them;
    from `tables` when given (the live state update's), else from the newest build."""
    tables = tables or built_tables(catalog)
    team_history = tables["gold.team_state_history"]
    teams = latest_rows(team_history, ["team_key"], as_of)
    conceded_history = tables["gold.team_conceded_state_history"]
    players = latest_rows(tables["gold.player_state_history"], ["player_key"], as_of)
    conceded = conceded_as_of(conceded_history, teams)
    baselines = baselines_as_of(tables["gold.position_baseline_history"], as_of)
    games = tables["games"]
    patches = tables["gold.patches"]
    if as_of is not None:
        games = games.filter(pl.col("game_start") < as_of)
        patches = patches.filter(pl.col("patch_first_seen") < as_of)
    league_patch = {r["league"]: r["patch"] for r in _rows(
        games.drop_nulls("patch").sort("game_start").group_by("league", maintain_order=True).last())}
    moment = as_of or _EVER
    leagues = sorted(set(league_patch) | set(baselines["league"].to_list()))
    sides, against = average_opponents(team_history, conceded_history,
                                       pl.DataFrame({"league": leagues, "as_of": [moment] * len(leagues)},
                                                    schema={"league": pl.String, "as_of": pl.Datetime("us")}))
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
    """A team's packed value: names, its side of a model row, its roster Elo (the win model's) and what it
    concedes per position."""
    return {"team_key": team["team_key"], "team_name": team.get("team_name"), "league": team.get("league"),
            "elo": team.get("elo"), "roster_elo": _number(team.get("roster_elo")),
            "games_played": team.get("games_played") or 0,
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


def _digest(value: bytes) -> str:
    return hashlib.blake2b(value, digest_size=12).hexdigest()


def publish(client: redis.Redis, catalog: Catalog, model_versions: dict[str, str],
            as_of: datetime | None = None, delta: bool = False,
            tables: dict[str, pl.DataFrame] | None = None) -> SnapshotInfo:
    """A new snapshot of the state after every game (or as of `as_of`, to answer as the service would have
    then: replays and the parity test), and the pointer moved to it. With `delta`, the new snapshot writes
    only the player and team values that differ from the newest full snapshot's (published in full when
    there is none, when it was for other model versions or another feature schema, or when most values
    changed). `tables`: what to build it from instead of the newest build (the live state update's)."""
    payloads = build_payloads(catalog, as_of, tables)
    players, teams = packed_values(payloads)
    base = _delta_base(client, model_versions) if delta and as_of is None else None
    created = datetime.now(timezone.utc)
    snapshot_id = created.strftime("s%Y%m%d%H%M%S%f")
    digests = {"p": {k: _digest(v) for k, v in players.items()}, "t": {k: _digest(v) for k, v in teams.items()}}
    changed: dict[str, dict[str, bytes]] = {"p": players, "t": teams}
    if base is not None:
        base_digests = orjson.loads(client.get(key(base, "digests")) or b"{}")
        changed = {kind: {k: v for k, v in values.items() if base_digests.get(kind, {}).get(k) != digests[kind][k]}
                   for kind, values in (("p", players), ("t", teams))}
        if sum(map(len, changed.values())) > DELTA_REBASE_SHARE * (len(players) + len(teams)):
            base, changed = None, {"p": players, "t": teams}
    pipe = client.pipeline(transaction=False)
    # One packed value per player (its state, its team's and its position baseline, ready as the fixed
    # part of a model row) and one per team, so a prediction needs a single MGET (player + opponent).
    for kind, values in changed.items():
        for name, value in values.items():
            pipe.set(key(snapshot_id, kind, name) if base is None else delta_key(base, snapshot_id, kind, name), value)
    if base is None:
        pipe.set(key(snapshot_id, "digests"), orjson.dumps(digests))
    index = [{"key": k, "name": p.get("player_name"), "team": p.get("team_name"), "league": p.get("league"),
              "position": p.get("position"), "games": p.get("games_played")} for k, p in payloads["players"].items()]
    team_index = [{"key": k, "name": t.get("team_name"), "league": t.get("league"), "elo": t.get("elo")}
                  for k, t in payloads["teams"].items()]
    written = sum(map(len, changed.values()))
    meta = {"snapshot_id": snapshot_id, "created_at": created.isoformat(),
            "feature_schema": schema_hash(PLAYER_FEATURES),
            "model_versions": model_versions, "as_of": payloads["as_of"], "baselines": payloads["baselines"],
            "average_opponents": average_opponent_values(payloads),
            "patches": payloads["patches"], "league_patch": payloads["league_patch"],
            "tournaments": sorted(payloads["baselines"]), "champions": payloads["champions"],
            "players": len(index), "teams": len(team_index), "base": base, "written": written}
    pipe.set(key(snapshot_id, "players"), json.dumps(index))
    pipe.set(key(snapshot_id, "teams"), json.dumps(team_index))
    pipe.set(key(snapshot_id, "meta"), orjson.dumps(meta))  # NaN written as null; written last
    pipe.execute()
    switch_to(client, snapshot_id)
    client.lpush(HISTORY, snapshot_id)
    kept = [s.decode() for s in client.lrange(HISTORY, 0, KEEP - 1)]
    for retired in client.lrange(HISTORY, KEEP, -1):
        _expire(client, retired.decode(), kept)
    client.ltrim(HISTORY, 0, KEEP * 4)
    return SnapshotInfo(snapshot_id, len(index), len(team_index), meta["created_at"], base, written)


def _meta(client: redis.Redis, snapshot_id: str) -> dict[str, Any] | None:
    raw = client.get(key(snapshot_id, "meta"))
    return orjson.loads(raw) if raw else None


def _delta_base(client: redis.Redis, model_versions: dict[str, str]) -> str | None:
    """The full snapshot a new delta builds on: the current one's base (or itself when it is full), if it is
    for the same models and feature schema and still has its digests."""
    current = client.get(POINTER)
    meta = _meta(client, current.decode()) if current else None
    if not meta or meta.get("model_versions") != model_versions \
            or meta.get("feature_schema") != schema_hash(PLAYER_FEATURES):
        return None
    base = meta.get("base") or meta["snapshot_id"]
    recent = [s.decode() for s in client.lrange(HISTORY, 0, REBASE_AFTER - 1)]
    # a base further back than REBASE_AFTER snapshots is replaced by a new full one, so that every base
    # stays in the history list (and is expired in its turn)
    return base if base in recent and client.exists(key(base, "digests")) else None


def _own_keys(client: redis.Redis, snapshot_id: str, base: str | None) -> Iterable[bytes]:
    """Every key snapshot `snapshot_id` reads: its own meta and indexes, its values (a delta's in its
    base's slot) and, for a delta, its base's own keys (not the base's other deltas)."""
    yield from client.scan_iter(match=f"outscaled:{{{snapshot_id}}}:[^x]*", count=1000)
    if base is not None:
        yield from client.scan_iter(match=f"outscaled:{{{base}}}:x:{snapshot_id}:*", count=1000)
        yield from client.scan_iter(match=f"outscaled:{{{base}}}:[^x]*", count=1000)


def switch_to(client: redis.Redis, snapshot_id: str) -> None:
    meta = _meta(client, snapshot_id)
    base = meta.get("base") if meta else None
    if not meta or (base and not client.exists(key(base, "digests"))):
        raise ValueError(f"snapshot {snapshot_id} is incomplete or expired; see `outscaled snapshots list`")
    client.set(POINTER, snapshot_id)
    for k in _own_keys(client, snapshot_id, base):
        client.persist(k)


def _expire(client: redis.Redis, snapshot_id: str, kept: list[str]) -> None:
    """Retire a snapshot: its keys expire after RETIRED_TTL, unless it is current, or it is the base of a
    kept snapshot or of the current one (then only its own indexes and meta stay, with its values)."""
    current = (client.get(POINTER) or b"").decode()
    if snapshot_id == current:
        return
    bases = {(_meta(client, s) or {}).get("base") for s in {*kept, current} if s}
    meta = _meta(client, snapshot_id) or {}
    if snapshot_id in bases:
        return
    base = meta.get("base")
    keys = [*client.scan_iter(match=f"outscaled:{{{snapshot_id}}}:*", count=1000)]
    if base is not None:
        keys += client.scan_iter(match=f"outscaled:{{{base}}}:x:{snapshot_id}:*", count=1000)
    for k in keys:
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
                           "model_versions": info["model_versions"], "base": info.get("base"),
                           "written": info.get("written")})
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

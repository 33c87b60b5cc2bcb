"""Feature snapshots on a real Redis: the embedded server, or Debian's redis-server when
OUTSCALED_TEST_REDIS_URL is set (CI)."""

import json
import os

import pytest
import redis

from outscaled.lakehouse.catalog import open_catalog
from outscaled.online import snapshot
from outscaled.online.redis_server import connect


@pytest.fixture
def client(served_settings):
    url = os.environ.get("OUTSCALED_TEST_REDIS_URL")
    client = redis.Redis.from_url(url) if url else connect(served_settings)
    for k in client.scan_iter(match="outscaled:*", count=1000):
        client.delete(k)
    yield client
    for k in client.scan_iter(match="outscaled:*", count=1000):
        client.delete(k)


def test_publish_switches_atomically_and_rolls_back(client, served_settings):
    catalog = open_catalog(served_settings)
    first = snapshot.publish(client, catalog, {"kills": "v1"})
    second = snapshot.publish(client, catalog, {"kills": "v2"})
    assert client.get(snapshot.POINTER).decode() == second.snapshot_id
    listed = snapshot.list_snapshots(client)
    assert [s["snapshot_id"] for s in listed] == [second.snapshot_id, first.snapshot_id]
    assert listed[0]["current"] and listed[0]["model_versions"] == {"kills": "v2"}
    assert snapshot.rollback(client) == first.snapshot_id
    assert client.get(snapshot.POINTER).decode() == first.snapshot_id
    with pytest.raises(ValueError, match="no earlier complete snapshot"):
        snapshot.rollback(client)


def test_keys_share_the_snapshot_hash_tag_and_one_mget_serves_a_prediction(client, served_settings):
    info = snapshot.publish(client, open_catalog(served_settings), {})
    keys = list(client.scan_iter(match=f"outscaled:{{{info.snapshot_id}}}:*", count=1000))
    assert len(keys) >= info.players + info.teams
    slots = {k.decode().split("{")[1].split("}")[0] for k in keys}
    assert slots == {info.snapshot_id}  # one hash tag: one Redis Cluster slot
    index = json.loads(client.get(snapshot.key(info.snapshot_id, "players")))
    player = index[0]
    values = client.mget([snapshot.key(info.snapshot_id, "p", player["key"]),
                          snapshot.key(info.snapshot_id, "meta")])
    assert all(values) and json.loads(values[0])["player_key"] == player["key"]


def test_incomplete_snapshot_is_never_switched_to(client):
    client.set(snapshot.key("half", "p", "someone"), "{}")  # a writer that died before its meta key
    with pytest.raises(ValueError, match="incomplete"):
        snapshot.switch_to(client, "half")
    assert client.get(snapshot.POINTER) is None


def _all_values(client, snapshot_id: str) -> dict[tuple[str, str], object]:
    """Every player and team value of a snapshot as the service reads them (delta or full)."""
    from outscaled.online.store import SnapshotStore

    store = SnapshotStore(client)
    players = json.loads(client.get(snapshot.key(snapshot_id, "players")))
    teams = json.loads(client.get(snapshot.key(snapshot_id, "teams")))
    wanted = [("p", p["key"]) for p in players] + [("t", t["key"]) for t in teams]
    return store.read_values(snapshot_id, wanted)


def test_a_delta_writes_only_what_changed_and_reads_equal_to_a_full_snapshot(client, served_settings):
    from datetime import datetime

    catalog = open_catalog(served_settings)
    versions = {"kills": "v1"}
    # the base: the state as of 1 Oct 2025; the games after it (the real autumn games) are the change
    base = snapshot.publish(client, catalog, versions, as_of=datetime(2025, 10, 1))
    delta = snapshot.publish(client, catalog, versions, delta=True)
    full = snapshot.publish(client, catalog, versions)  # the same state, every value written
    assert base.base is None and full.base is None and delta.base == base.snapshot_id
    assert 0 < delta.written < full.written == full.players + full.teams

    from_delta, from_full = _all_values(client, delta.snapshot_id), _all_values(client, full.snapshot_id)
    assert from_delta.keys() == from_full.keys() and None not in from_delta.values()
    assert from_delta == from_full  # unchanged values come from the base, changed ones from the delta
    from_base = _all_values(client, base.snapshot_id)
    changed = [k for k in from_full if from_base.get(k) != from_full[k]]
    assert len(changed) == delta.written  # it wrote exactly the values that differ from its base
    own = list(client.scan_iter(match=f"outscaled:{{{base.snapshot_id}}}:x:{delta.snapshot_id}:*", count=1000))
    assert len(own) == delta.written
    assert not list(client.scan_iter(match=f"outscaled:{{{delta.snapshot_id}}}:[pt]:*", count=1000))

    # rollback moves the pointer to the delta, then to its base; each reads as it did
    assert snapshot.rollback(client) == delta.snapshot_id
    assert _all_values(client, delta.snapshot_id) == from_full
    assert snapshot.rollback(client) == base.snapshot_id
    assert _all_values(client, base.snapshot_id) == from_base


def test_retiring_snapshots_keeps_a_base_while_a_kept_delta_reads_from_it(client, served_settings):
    from datetime import datetime

    catalog = open_catalog(served_settings)
    base = snapshot.publish(client, catalog, {}, as_of=datetime(2025, 10, 1))
    deltas = [snapshot.publish(client, catalog, {}, delta=True) for _ in range(snapshot.KEEP + 1)]
    assert {d.base for d in deltas} == {base.snapshot_id}
    assert client.ttl(snapshot.key(base.snapshot_id, "digests")) == -1  # no expiry: the current delta reads it
    assert client.ttl(snapshot.key(deltas[0].snapshot_id, "meta")) > 0  # the oldest delta is retired
    assert all(client.ttl(snapshot.key(d.snapshot_id, "meta")) == -1 for d in deltas[1:])
    # a new base once the old one is REBASE_AFTER snapshots back; the old base then retires like any other
    later = [snapshot.publish(client, catalog, {}, delta=True) for _ in range(snapshot.REBASE_AFTER)]
    assert later[-1].base != base.snapshot_id
    for _ in range(snapshot.KEEP):
        snapshot.publish(client, catalog, {}, delta=True)
    assert client.ttl(snapshot.key(base.snapshot_id, "digests")) > 0

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

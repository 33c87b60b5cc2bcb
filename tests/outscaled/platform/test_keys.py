"""API keys in the SQL table: shown once, stored hashed with a salt, revoked within the cache's TTL, purged;
and the `outscaled keys` commands end to end."""

import hashlib
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa

from outscaled.cli import main
from outscaled.online.redis_server import connect, stop_embedded
from outscaled.platform import keys
from outscaled.platform.auth import Authenticator, Unauthorized
from outscaled.platform.ratelimit import bucket_key


def test_a_key_is_stored_salted_and_hashed_never_in_clear(settings):
    created = keys.create_key(settings, "reader", "alice")
    key_id, secret = keys.split_key(created.key)
    assert key_id == created.record.key_id and len(secret) >= 43  # 32 random bytes, url-safe
    with keys.engine(settings).connect() as connection:
        row = connection.execute(sa.select(keys.api_keys).where(keys.api_keys.c.key_id == key_id)).one()
    stored = " ".join(str(value) for value in row)
    assert secret not in stored
    assert row.digest == hashlib.sha256(bytes.fromhex(row.salt) + secret.encode()).hexdigest()
    other = keys.create_key(settings, "reader")
    assert keys.read_key(settings, other.record.key_id).salt != keys.read_key(settings, key_id).salt


def test_verify_accepts_the_key_and_nothing_close_to_it(settings):
    created = keys.create_key(settings, "admin")
    cache = keys.KeyCache(settings)
    assert cache.verify(created.key).role == "admin"
    key_id, secret = keys.split_key(created.key)
    for wrong in (f"osk_{key_id}_{secret[:-1]}", f"osk_{key_id}_{secret}x", f"osk_{key_id}_", f"osk_000000000000_{secret}",
                  created.key.replace("osk_", "osx_"), "", "osk_"):
        assert cache.verify(wrong) is None, wrong


def test_a_revoked_key_stops_working_within_the_cache_ttl(settings):
    created = keys.create_key(settings, "reader")
    cache = keys.KeyCache(settings, ttl=0.5)
    assert cache.verify(created.key) is not None
    assert keys.revoke_key(settings, created.record.key_id)
    assert not keys.revoke_key(settings, created.record.key_id)  # once
    assert cache.verify(created.key) is not None  # still cached: the TTL is what a revocation waits for
    time.sleep(0.6)
    assert cache.verify(created.key) is None
    assert keys.read_key(settings, created.record.key_id).revoked_at is not None  # listed, with the time


def test_the_cache_does_not_reread_the_table_within_its_ttl(settings):
    created = keys.create_key(settings, "reader")
    cache = keys.KeyCache(settings, ttl=60)
    cache.verify(created.key)
    keys.delete_key(settings, created.record.key_id)
    assert cache.verify(created.key) is not None  # served from memory: no database on the hot path


def test_an_unreachable_key_table_serves_what_was_read_and_is_unavailable_otherwise(settings):
    created = keys.create_key(settings, "reader")
    cache = keys.KeyCache(settings, ttl=0.0)  # every lookup goes to the database
    assert cache.verify(created.key) is not None
    cache.settings = replace(settings, keys_uri="postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert cache.verify(created.key) is not None  # what it read a moment ago
    with pytest.raises(keys.KeyStoreUnavailable):  # a key it never saw: the service answers 503, not 401 or 500
        cache.verify(keys.create_key(settings, "reader").key)


def test_the_authenticator_names_what_is_wrong(settings):
    authenticator = Authenticator(settings)
    created = keys.create_key(settings, "reader")
    assert authenticator.caller(created.key).id == created.record.key_id
    for bad, message in [("osk_abc_def", "unknown or revoked API key"), ("a.b.c", "accepts no JWTs")]:
        try:
            authenticator.caller(bad)
        except Unauthorized as error:
            assert message in str(error)
        else:
            raise AssertionError(bad)


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["keys", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_keys_commands(settings, capsys):
    status, out, err = _cli(capsys, "create", "--role", "reader", "--name", "the demo")
    assert status == 0, err
    key = out.strip()  # stdout is the key alone: KEY=$(outscaled keys create --role reader)
    key_id = keys.split_key(key)[0]
    assert "shown this once" in err
    status, out, _ = _cli(capsys, "list")
    assert key_id in out and "the demo" in out and "reader" in out
    assert key.split("_", 2)[2] not in out
    assert _cli(capsys, "revoke", key)[0] == 0
    assert keys.read_key(settings, key_id).revoked_at is not None
    assert _cli(capsys, "revoke", "nosuchkey")[0] == 1
    client = connect(settings)
    client.hset(bucket_key(f"key:{key_id}"), mapping={"tokens": 1, "at": 0})
    try:
        status, _, err = _cli(capsys, "purge", key_id)
    finally:
        stop_embedded(settings)
    assert status == 0, err
    assert f"purged {key_id}: key record removed, 1 rate-limit entries" in err
    assert keys.read_key(settings, key_id) is None


def test_keys_in_postgres_as_in_production(settings, postgres_url):
    """The same table on a real PostgreSQL server (production's catalog database)."""
    on_postgres = replace(settings, keys_uri=postgres_url)
    created = keys.create_key(on_postgres, "admin", "ops")
    assert keys.KeyCache(on_postgres).verify(created.key).role == "admin"
    assert keys.revoke_key(on_postgres, created.record.key_id)
    [listed] = keys.list_keys(on_postgres)
    assert listed.key_id == created.record.key_id and listed.revoked_at > listed.created_at
    assert listed.created_at.tzinfo is not None
    assert keys.KeyCache(on_postgres).verify(created.key) is None
    assert keys.delete_key(on_postgres, created.record.key_id) and keys.list_keys(on_postgres) == []

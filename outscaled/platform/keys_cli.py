"""`outscaled keys create|list|revoke|purge`: the key table from the command line.

`create` prints the key itself on stdout (the only time it is shown) and what to do with it on stderr, so
`KEY=$(outscaled keys create --role reader)` works. `purge` is the right to deletion: the key is revoked
and its record removed, and its rate-limit state and every logged prediction of it are deleted.
"""

from __future__ import annotations

import argparse
import sys

import redis
from rich.console import Console
from rich.table import Table

from outscaled.config import Settings
from outscaled.platform import keys


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    command = args.keys_command
    if command == "create":
        return _create(settings, console, args.role, args.name or "")
    if command == "list":
        return _list(settings)
    if command == "revoke":
        return _revoke(settings, console, keys.key_id_of(args.key))
    if command == "purge":
        return _purge(settings, console, keys.key_id_of(args.key))
    raise ValueError(f"unknown keys command {command!r}")


def _create(settings: Settings, console: Console, role: str, name: str) -> int:
    created = keys.create_key(settings, role, name)
    sys.stdout.write(created.key + "\n")
    sys.stdout.flush()
    console.print(f"created {role} key {created.record.key_id}" + (f" ({name})" if name else "")
                  + ": the line above is the key, shown this once; send it as `Authorization: Bearer <key>` "
                  "(or open the page at /?key=<key>)", markup=False)
    if not settings.auth:
        console.print("note: OUTSCALED_AUTH=off here, so this service would not ask for it", style="yellow")
    return 0


def _list(settings: Settings) -> int:
    table = Table(title="API keys (the secrets are not stored)")
    for column in ("key_id", "name", "role", "created_at", "revoked_at"):
        table.add_column(column)
    for record in keys.list_keys(settings):
        table.add_row(record.key_id, record.name, record.role, record.created_at.isoformat(timespec="seconds"),
                      record.revoked_at.isoformat(timespec="seconds") if record.revoked_at else "")
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    return 0


def _revoke(settings: Settings, console: Console, key_id: str) -> int:
    if keys.revoke_key(settings, key_id):
        console.print(f"revoked {key_id}: every worker refuses it within {settings.key_cache_seconds:g} s")
        return 0
    record = keys.read_key(settings, key_id)
    console.print(f"{key_id}: " + ("already revoked" if record else "no such key"), style="yellow")
    return 0 if record else 1


def _purge(settings: Settings, console: Console, key_id: str) -> int:
    """Revoke, delete the record, the rate-limit state and the logged predictions; say how much went."""
    from outscaled.online.redis_server import connect
    from outscaled.platform.ratelimit import purge_buckets

    keys.revoke_key(settings, key_id)
    removed_record = keys.delete_key(settings, key_id)
    status = 0
    try:  # a JWT subject has the same id space: its bucket goes too
        buckets = f"{purge_buckets(connect(settings), [f'key:{key_id}', f'jwt:{key_id}'])} rate-limit entries"
    except (redis.RedisError, OSError, RuntimeError) as error:
        buckets, status = f"rate-limit state: Redis unreachable ({error})", 1
    try:
        from outscaled.analytics.store import purge_key
    except ImportError:
        rows = "analytics store: not available"
    else:
        rows = f"{purge_key(settings, key_id)} prediction rows"
    console.print(f"purged {key_id}: " + ("key record removed" if removed_record else "no key record") +
                  f", {buckets}, {rows}", markup=False)
    return status

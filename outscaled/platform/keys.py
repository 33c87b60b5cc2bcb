"""API keys: created with a role, shown once, stored hashed, revoked or purged; a durable SQL table.

A key reads `osk_<key_id>_<secret>`. The key id is public (it names the key in `outscaled keys list`, in
the logs, in the rate-limit and analytics stores); the secret is 256 random bits and is never stored: the
table keeps a random 16-byte salt per key and sha256(salt + secret). No key stretching (bcrypt, scrypt,
argon2): stretching protects guessable passwords, and a 256-bit random secret cannot be guessed however fast
the hash is, so one sha256 keeps verification at about a microsecond on every request.

The table (`outscaled_api_keys`) lives in the SQL catalog's database by default (settings.keys_uri: sqlite
locally, PostgreSQL in production), never only in a cache: Redis may lose its data, the keys must not.
The service checks keys through `KeyCache`, which holds what it read for `key_cache_seconds` (a few
seconds): no database round trip on the hot path, and a revoked key stops working within that time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from outscaled.config import Settings

ROLES = ("reader", "admin")
PREFIX = "osk"

_metadata = sa.MetaData()
api_keys = sa.Table(
    "outscaled_api_keys", _metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, default=""),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),  # hex
    sa.Column("digest", sa.String(128), nullable=False),  # hex sha256(salt + secret)
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    name: str
    role: str
    salt: bytes
    digest: bytes
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class CreatedKey:
    key: str  # the whole key: shown once, never stored
    record: KeyRecord

    @property
    def key_id(self) -> str:
        return self.record.key_id


def engine(settings: Settings) -> sa.Engine:
    """One engine per database for the process, with the table created on first use."""
    with _engines_lock:
        found = _engines.get(settings.keys_uri)
        if found is None:
            url = sa.make_url(settings.keys_uri)
            if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)  # a fresh home
            found = sa.create_engine(settings.keys_uri, pool_pre_ping=True)
            _metadata.create_all(found, checkfirst=True)
            _engines[settings.keys_uri] = found
        return found


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


def split_key(key: str) -> tuple[str, str] | None:
    """(key_id, secret) of a well-formed key, else None. The key id is hex, so the first two underscores
    are the separators (the url-safe secret may hold more)."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not key_id or not secret or len(key) > 200:
        return None
    return key_id, secret


def key_id_of(given: str) -> str:
    """The key id from a whole key or from the id itself (what `revoke` and `purge` accept)."""
    parts = split_key(given)
    return parts[0] if parts else given


def _record(row: sa.Row) -> KeyRecord:
    def aware(moment: datetime | None) -> datetime | None:  # sqlite hands back naive datetimes
        return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment

    return KeyRecord(row.key_id, row.name, row.role, bytes.fromhex(row.salt), bytes.fromhex(row.digest),
                     aware(row.created_at), aware(row.revoked_at))


def create_key(settings: Settings, role: str, name: str = "") -> CreatedKey:
    if role not in ROLES:
        raise ValueError(f"role is one of {', '.join(ROLES)}, got {role!r}")
    key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_bytes(16)
    record = KeyRecord(key_id, name, role, salt, _digest(salt, secret), datetime.now(UTC), None)
    with engine(settings).begin() as connection:
        connection.execute(api_keys.insert().values(
            key_id=key_id, name=name, role=role, salt=salt.hex(), digest=record.digest.hex(),
            created_at=record.created_at, revoked_at=None))
    return CreatedKey(f"{PREFIX}_{key_id}_{secret}", record)


def read_key(settings: Settings, key_id: str) -> KeyRecord | None:
    with engine(settings).connect() as connection:
        row = connection.execute(api_keys.select().where(api_keys.c.key_id == key_id)).first()
    return _record(row) if row else None


def list_keys(settings: Settings) -> list[KeyRecord]:
    with engine(settings).connect() as connection:
        rows = connection.execute(api_keys.select().order_by(api_keys.c.created_at)).all()
    return [_record(row) for row in rows]


def revoke_key(settings: Settings, key_id: str) -> bool:
    """Marks the key revoked (kept in the list, with the time); False when there is no such live key."""
    with engine(settings).begin() as connection:
        result = connection.execute(api_keys.update()
                                    .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                                    .values(revoked_at=datetime.now(UTC)))
    return result.rowcount > 0


def delete_key(settings: Settings, key_id: str) -> bool:
    """Removes the key's record (right to deletion: its name goes too); False when there was none."""
    with engine(settings).begin() as connection:
        return connection.execute(api_keys.delete().where(api_keys.c.key_id == key_id)).rowcount > 0


def matches(record: KeyRecord, secret: str) -> bool:
    return hmac.compare_digest(record.digest, _digest(record.salt, secret))


class KeyStoreUnavailable(RuntimeError):
    """The key table could not be read and nothing about this key is cached (the service answers 503)."""


class KeyCache:
    """The service's view of the key table: each key id is read at most once per `ttl` seconds (unknown
    ids too, so a flood of made-up keys does not reach the database more often). While the database is
    unreachable, what was last read stays in use. Bounded: past
    `max_entries` the oldest half is dropped."""

    def __init__(self, settings: Settings, ttl: float | None = None, max_entries: int = 10_000):
        self.settings = settings
        self.ttl = settings.key_cache_seconds if ttl is None else ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, KeyRecord | None]] = {}

    def lookup(self, key_id: str) -> KeyRecord | None:
        now = time.monotonic()
        entry = self._entries.get(key_id)
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        try:
            record = read_key(self.settings, key_id)
        except (sa.exc.SQLAlchemyError, OSError) as error:
            if entry is not None:  # the database is away: what it said a moment ago beats refusing everyone
                return entry[1]
            raise KeyStoreUnavailable(f"the key store is unreachable ({type(error).__name__})") from error
        if len(self._entries) >= self.max_entries:
            for old in sorted(self._entries, key=lambda k: self._entries[k][0])[: self.max_entries // 2]:
                del self._entries[old]
        self._entries[key_id] = (now, record)
        return record

    def verify(self, key: str) -> KeyRecord | None:
        """The live key's record when `key` is a valid, unrevoked key; None otherwise."""
        parts = split_key(key)
        if parts is None:
            return None
        record = self.lookup(parts[0])
        if record is None or record.revoked_at is not None or not matches(record, parts[1]):
            return None
        return record

"""The analytics store: one DDL and one set of queries for ClickHouse, through clickhouse-connect.

`CLICKHOUSE_URL` set: a ClickHouse server (`http://user:pass@host:8123/db`). Unset: chdb, ClickHouse embedded
in this process, through clickhouse-connect's `chdb://` connection under `$OUTSCALED_HOME/analytics/chdb` — the
same client API, DDL and SQL either way. chdb lets one process open a data path, so the embedded store has one
owner at a time (outscaled.analytics.owner); use `open_store`, never `connect` directly, to reach it.

`predictions` is a ReplacingMergeTree keyed by request id, partitioned by day: a row written twice (a batch
re-delivered after a crash) collapses to one at merge time, and the writer also skips request ids already
stored, so plain counts are exact with one writer (`FINAL` makes them exact in any case).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import orjson
import pyarrow as pa

from outscaled.config import Settings

PREDICTIONS = "predictions"
FEEDBACK = "prediction_feedback"

# Every column a logged prediction has, with its default when the service leaves it out.
ROW_DEFAULTS: dict[str, Any] = {
    "request_id": "", "ts": 0.0, "key_id": "", "endpoint": "", "inputs": "", "player": "", "stat": "",
    "line": None, "map_start": None, "map_end": None, "opponent": "", "outputs": "", "expected": None,
    "p_over": None, "model_version": "", "snapshot_id": "", "arm": "champion", "shadow_outputs": "",
    "shadow_version": "", "latency_ms": 0.0,
}
JSON_COLUMNS = ("inputs", "outputs", "shadow_outputs")

DDL = (
    f"""CREATE TABLE IF NOT EXISTS {PREDICTIONS} (
        request_id String, ts DateTime64(3, 'UTC'), key_id String, endpoint LowCardinality(String),
        inputs String, player String, stat LowCardinality(String), line Nullable(Float64),
        map_start Nullable(UInt8), map_end Nullable(UInt8), opponent String, outputs String,
        expected Nullable(Float64), p_over Nullable(Float64), model_version String, snapshot_id String,
        arm LowCardinality(String), shadow_outputs String, shadow_version String, latency_ms Float64,
        written_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree PARTITION BY toDate(ts) ORDER BY request_id""",
    f"""CREATE TABLE IF NOT EXISTS {FEEDBACK} (
        request_id String, ts DateTime64(3, 'UTC'), key_id String, player String, stat LowCardinality(String),
        line Float64, map_start UInt8, map_end UInt8, maps UInt8, opponent String, model_version String,
        arm LowCardinality(String), p_over Float64, shadow_version String, shadow_p_over Nullable(Float64),
        status LowCardinality(String), series_id String, series_start Nullable(DateTime64(3, 'UTC')),
        actual Nullable(Float64), outcome Nullable(UInt8), hit Nullable(UInt8),
        settled_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree(settled_at) PARTITION BY toDate(ts) ORDER BY request_id""",
)

READ_ONLY_KEYWORDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS"}
_LEADING_NOISE = re.compile(r"^(\s+|--[^\n]*\n?|/\*.*?\*/|\()*", re.S)


class ReadOnlyViolation(ValueError):
    """The SQL would change something; `outscaled analytics` only reads."""


class StoreUnavailable(RuntimeError):
    """The analytics store cannot be reached (the server is down, or the embedded store's owner does not answer)."""


def check_read_only(sql: str) -> None:
    """One read statement (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, EXISTS). The query also runs with
    ClickHouse's `readonly=1`, so the engine refuses a write this check let through."""
    text = _LEADING_NOISE.sub("", sql)
    word = re.match(r"[A-Za-z]+", text)
    if word is None:
        raise ReadOnlyViolation("no SQL statement given")
    if word.group(0).upper() not in READ_ONLY_KEYWORDS:
        raise ReadOnlyViolation(f"only read statements are allowed here (got {word.group(0).upper()}); "
                                "predictions are written by the service, deleted with `outscaled keys purge`")
    if re.search(r";\s*\S", text.rstrip().rstrip(";")):
        raise ReadOnlyViolation("one statement at a time")


class Store(Protocol):
    """What the platform does with the analytics store, wherever it is (here or in its owner process)."""

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None, read_only: bool = False) -> pa.Table: ...

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None: ...

    def insert(self, table: str, rows: list[dict]) -> int: ...


def dsn(settings: Settings) -> str:
    return settings.clickhouse_url or f"chdb://{settings.home / 'analytics' / 'chdb'}"


def connect(settings: Settings):
    """A clickhouse-connect client on the configured store, with the tables created. For chdb only the
    owner process may call this (outscaled.analytics.owner)."""
    import clickhouse_connect

    if settings.clickhouse_url is None:
        from outscaled.analytics.engine import load_chdb

        load_chdb()
        (settings.home / "analytics").mkdir(parents=True, exist_ok=True)
    try:
        client = clickhouse_connect.get_client(dsn=dsn(settings))
    except Exception as error:
        raise StoreUnavailable(f"the analytics store at {_redacted(dsn(settings))} is unavailable: {error}") from error
    for statement in DDL:
        client.command(statement)
    return client


def _redacted(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//…@", url)


def to_json(value: Any) -> bytes:
    """Compact JSON (orjson: numpy values and non-string keys taken; anything else unknown as its str)."""
    return orjson.dumps(value, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def json_each_row(rows: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(to_json(row) + b"\n" for row in rows)


class DirectStore:
    """The store through clients in this process; reconnects after a failure (a server that went away).
    Read-only queries go through a client of their own: chdb keeps a query's `readonly=1` for the rest of
    its session, and the writing client must not inherit it. Calls are serialised: the writer's loop and the
    read server's threads share the clients."""

    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self._clients: dict[bool, Any] = {False: client, True: None}
        self._lock = threading.Lock()

    def _call(self, work, read_only: bool = False):
        with self._lock:
            if self._clients[read_only] is None:
                self._clients[read_only] = connect(self.settings)
            try:
                return work(self._clients[read_only])
            except Exception as error:
                if _is_connection_error(error) and self.settings.clickhouse_url:
                    self._clients[read_only] = None
                    raise StoreUnavailable(str(error)) from error
                raise

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None, read_only: bool = False) -> pa.Table:
        if read_only:
            check_read_only(sql)
            return self._call(lambda c: c.query_arrow(sql, parameters=dict(parameters or {}),
                                                      settings={"readonly": 1}), read_only=True)
        return self._call(lambda c: c.query_arrow(sql, parameters=dict(parameters or {})))

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        self._call(lambda c: c.command(sql, parameters=dict(parameters or {})))

    def insert(self, table: str, rows: list[dict]) -> int:
        if not rows:
            return 0
        block = json_each_row(rows)
        self._call(lambda c: c.raw_insert(table, insert_block=block, fmt="JSONEachRow"))
        return len(rows)

    def close(self) -> None:
        with self._lock:
            for read_only, client in self._clients.items():
                if client is not None:
                    client.close()
                    self._clients[read_only] = None


def _is_connection_error(error: Exception) -> bool:
    from clickhouse_connect.driver.exceptions import OperationalError

    return isinstance(error, (OperationalError, OSError))


ID_CHUNK = 1000  # request ids per lookup: a server takes query parameters in the URL


def stored_request_ids(store: Store, table: str, request_ids: list[str]) -> set[str]:
    """Which of `request_ids` `table` already holds (the writer skips them: nothing is written twice)."""
    found: set[str] = set()
    for start in range(0, len(request_ids), ID_CHUNK):
        chunk = request_ids[start:start + ID_CHUNK]
        table_ = store.query(f"SELECT DISTINCT request_id FROM {table} WHERE request_id IN {{ids:Array(String)}}",
                             {"ids": chunk})
        found.update(table_.column("request_id").to_pylist())
    return found


def count(store: Store, table: str, where: str = "1", parameters: Mapping[str, Any] | None = None) -> int:
    """Rows of `table` matching `where`, each request id once (FINAL)."""
    result = store.query(f"SELECT count() AS n FROM {table} FINAL WHERE {where}", parameters)
    return int(result.column("n")[0].as_py())


PURGED_KEYS = "outscaled:analytics:purged_keys"  # a Redis set: the writer drops these keys' rows still in flight


def purge_key(settings: Settings, key_id: str) -> int:
    """Delete every logged prediction of API key `key_id`, and its settled rows (right to deletion); returns
    how many prediction rows were removed. The key also goes into a Redis set the writer checks, so rows
    still in flight (in a worker's buffer or the stream) are dropped rather than written after the purge.
    The delete waits until it is applied (mutations_sync): a query right after it no longer sees them."""
    import redis

    from outscaled.analytics.owner import open_store
    from outscaled.online.redis_server import connect as connect_redis

    try:
        connect_redis(settings, start=False).sadd(PURGED_KEYS, key_id)
    except (redis.RedisError, OSError):
        pass  # Redis down: nothing is in flight to the store either until it is back; the rows stored go now
    where, parameters = "key_id = {key:String}", {"key": key_id}
    with open_store(settings) as store:
        before = count(store, PREDICTIONS, where, parameters)
        for table in (PREDICTIONS, FEEDBACK):
            store.command(f"ALTER TABLE {table} DELETE WHERE {where} SETTINGS mutations_sync = 2", parameters)
        return before - count(store, PREDICTIONS, where, parameters)


def run_query(settings: Settings, sql: str) -> pa.Table:
    """Read-only SQL on the analytics store (`outscaled analytics`)."""
    from outscaled.analytics.owner import open_store

    check_read_only(sql)
    with open_store(settings) as store:
        return store.query(sql, read_only=True)

"""What the service's workers call to log predictions: off the request path, never failing a request.

`PredictionLog.record(rows)` appends to an in-process buffer and returns (a lock and a list append, ~1 µs a
row). A background thread of the worker serialises the rows and sends them in batches to a Redis stream
(`STREAM`), one entry per batch; the writer process (outscaled.analytics.writer) drains the stream into
ClickHouse. While Redis is down the rows wait in the buffer and the thread retries with a backoff; a full
buffer (`capacity` rows) drops what does not fit and counts it, so a long outage costs memory only up to
a bound. A batch whose XADD timed out may have been added all the same and is sent again: the writer keeps
one row per request id, so that is not a double.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque
from datetime import datetime
from typing import Any

import redis

from outscaled.analytics.store import JSON_COLUMNS, ROW_DEFAULTS, to_json

STREAM = "outscaled:predictions"
LOGGED = "outscaled:analytics:logged"  # rows ever added to the stream (the writer counts those it handled)
HANDLED = "outscaled:analytics:handled"
HEARTBEAT = "outscaled:analytics:heartbeat"  # set by the writer while it drains the stream into a working sink
HEARTBEAT_SECONDS = 10
BATCH_ROWS = 500
FLUSH_INTERVAL = 0.25  # seconds between sends when fewer than BATCH_ROWS are waiting (fewer XADDs, less GIL)
CAPACITY = 200_000  # rows buffered per worker while Redis is down, then dropped (and counted)
MAX_BACKOFF = 2.0


def stream_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the store takes it: every column present, the JSON columns as JSON text, the time in
    epoch seconds (`ts` may be given as a datetime)."""
    out = {name: row.get(name, default) for name, default in ROW_DEFAULTS.items()}
    if isinstance(out["ts"], datetime):  # naive: UTC
        out["ts"] = out["ts"].timestamp() if out["ts"].tzinfo else (out["ts"] - datetime(1970, 1, 1)).total_seconds()
    for name in JSON_COLUMNS:
        value = out[name]
        if not isinstance(value, str):
            out[name] = to_json(value).decode()
    return out


class PredictionLog:
    """One per worker process, on the worker's Redis client (redis-py's pool is thread-safe).

    Counters (`counters()`): `buffered` (rows waiting now), `sent` (rows in the stream), `dropped` (rows
    lost to a full buffer), `send_failures` (XADDs that failed) and `redis_ok` (the last send worked)."""

    def __init__(self, client: redis.Redis, stream: str = STREAM, capacity: int = CAPACITY,
                 batch_rows: int = BATCH_ROWS, interval: float = FLUSH_INTERVAL):
        self.client, self.stream = client, stream
        self.capacity, self.batch_rows, self.interval = capacity, batch_rows, interval
        self.sent = self.dropped = self.send_failures = 0
        self.redis_ok = True
        self._pid: int | None = None
        self._closed = False

    def _start(self) -> None:
        """(Re)start the sender in this process: after a fork the parent's thread and buffer are not ours."""
        self._pid = os.getpid()
        self._buffer: deque[dict] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def record(self, rows: list[dict[str, Any]]) -> None:
        """Queue `rows` (dicts with the columns of outscaled.analytics.store.ROW_DEFAULTS; `ts` defaults to
        now). Never raises, never waits for Redis. The dicts are serialised later: do not change them after."""
        try:
            if self._pid != os.getpid():
                self._start()
            now = time.time()
            with self._lock:
                room = self.capacity - len(self._buffer)
                kept = rows if len(rows) <= room else rows[:max(room, 0)]
                for row in kept:
                    row.setdefault("ts", now)
                self._buffer.extend(kept)
                self.dropped += len(rows) - len(kept)
                self._idle.clear()
                full = len(self._buffer) >= self.batch_rows
            if full:
                self._wake.set()
        except Exception:  # logging must never fail a prediction
            self.dropped += len(rows)

    def counters(self) -> dict[str, Any]:
        buffered = len(self._buffer) if self._pid == os.getpid() else 0
        return {"buffered": buffered, "sent": self.sent, "dropped": self.dropped,
                "send_failures": self.send_failures, "redis_ok": self.redis_ok}

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every recorded row is in the stream (True) or `timeout` passes (False)."""
        if self._pid != os.getpid():
            return True
        self._wake.set()
        return self._idle.wait(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Send what is buffered (for up to `timeout` seconds) and stop the sender."""
        if self._pid != os.getpid() or self._closed:
            return
        self.flush(timeout)
        self._closed = True
        self._wake.set()

    def _run(self) -> None:
        backoff = 0.0
        pending: tuple[int, bytes] | None = None  # the batch being sent, serialised once however often retried
        while not self._closed:
            self._wake.wait(backoff or self.interval)
            self._wake.clear()
            while not self._closed:
                if pending is None:
                    with self._lock:
                        batch = [self._buffer[i] for i in range(min(len(self._buffer), self.batch_rows))]
                        if not batch:
                            self._idle.set()
                            break
                    try:
                        pending = (len(batch), to_json([stream_row(r) for r in batch]))
                    except Exception:  # a row that cannot be serialised: drop the batch, keep the sender alive
                        self._take(len(batch))
                        self.dropped += len(batch)
                        continue
                try:
                    with self.client.pipeline(transaction=True) as pipe:
                        pipe.xadd(self.stream, {"rows": pending[1]})
                        pipe.incrby(LOGGED, pending[0])
                        pipe.execute()
                except Exception:
                    self.send_failures += 1
                    self.redis_ok = False
                    backoff = min(max(backoff * 2, 0.1), MAX_BACKOFF)
                    break
                self._take(pending[0])
                self.sent += pending[0]
                pending, backoff, self.redis_ok = None, 0.0, True

    def _take(self, n: int) -> None:  # the oldest n rows: the batch just sent
        with self._lock:
            for _ in range(n):
                self._buffer.popleft()


def sink_health(client: redis.Redis) -> tuple[bool, int]:
    """(up, backlog) of the analytics sink, for the service's metrics: up while the writer drains the stream
    into a working store (its heartbeat is fresh); backlog: rows logged to the stream and not yet handled
    by the writer (0 when Redis cannot say)."""
    try:
        with client.pipeline(transaction=False) as pipe:
            pipe.exists(HEARTBEAT)
            pipe.get(LOGGED)
            pipe.get(HANDLED)
            alive, logged, handled = pipe.execute()
    except (redis.RedisError, OSError):
        return False, 0
    return bool(alive), max(int(logged or 0) - int(handled or 0), 0)

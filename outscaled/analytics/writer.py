"""The one process that writes logged predictions to the analytics store (`python -m outscaled.analytics.writer`).

It drains the Redis stream the workers append to (outscaled.analytics.log) through a consumer group: a batch
of entries is read, its rows inserted (request ids already stored are skipped), and only then acknowledged
and deleted from the stream. So a sink that is down, a writer killed between the insert and the XACK, or a
Redis restart loses nothing and writes nothing twice: unacknowledged entries stay pending and are read again
(this consumer's pending list first) by the next writer. For the embedded store it is also the store's owner
and answers the other processes' reads on its socket (outscaled.analytics.owner).

`outscaled serve` starts it beside the service (outscaled.online.service_process); it stops on SIGTERM,
SIGINT or SIGHUP after the batch in hand, and when the process that started it dies.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

import orjson
import redis

from outscaled.analytics.log import HANDLED, HEARTBEAT, HEARTBEAT_SECONDS, STREAM
from outscaled.analytics.owner import owning
from outscaled.analytics.store import PREDICTIONS, PURGED_KEYS, Store, stored_request_ids
from outscaled.config import Settings, load_settings
from outscaled.lakehouse.faults import commit_boundary

GROUP = "analytics-writer"
CONSUMER = "writer"  # one writer at a time (the owner lock); a fixed name finds its own pending entries again
ENTRIES_PER_BATCH = 200  # stream entries (each up to outscaled.analytics.log.BATCH_ROWS rows) per insert
# After a batch that did not fill up, wait this long before the next: fewer, larger inserts (each one is a
# ClickHouse part and a request-id look-up). Inserting as entries came (~40 a second at 500 req/s) took the
# writer most of a core, beside the service's workers on the same two.
DRAIN_INTERVAL = 1.0
BLOCK_MS = 500
MAX_BACKOFF = 5.0


def _ensure_group(client: redis.Redis) -> None:
    try:  # from the stream's start: rows added before the first writer ran are written too
        client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def _rows(entries: list) -> tuple[list[dict], int]:
    """The rows of a batch of entries, each request id once (a batch re-sent after a timed-out XADD), and
    how many rows the entries held."""
    rows: dict[str, dict] = {}
    received = 0
    for _, fields in entries:
        if fields is None:  # an entry deleted by hand while pending: nothing to write
            continue
        batch = orjson.loads(fields[b"rows"])
        received += len(batch)
        for row in batch:
            rows.setdefault(row["request_id"], row)
    return list(rows.values()), received


def write_batch(client: redis.Redis, store: Store, entries: list) -> int:
    """Insert the rows of `entries` not stored yet (nor of a purged key), then acknowledge and delete the
    entries; returns the rows inserted. A failure before the acknowledgement leaves the entries pending,
    to be read again."""
    rows, received = _rows(entries)
    keys = sorted({r["key_id"] for r in rows})
    purged = {k for k, gone in zip(keys, client.smismember(PURGED_KEYS, keys) if keys else []) if gone}
    rows = [r for r in rows if r["key_id"] not in purged]  # deleted on request while in flight
    stored = stored_request_ids(store, PREDICTIONS, [r["request_id"] for r in rows])
    fresh = [r for r in rows if r["request_id"] not in stored]
    store.insert(PREDICTIONS, fresh)
    commit_boundary("analytics.predictions")  # the tests' crash point: inserted, not yet acknowledged
    ids = [entry_id for entry_id, _ in entries]
    with client.pipeline(transaction=True) as pipe:
        pipe.xack(STREAM, GROUP, *ids)
        pipe.xdel(STREAM, *ids)
        pipe.incrby(HANDLED, received)
        pipe.execute()
    return len(fresh)


class Writer:
    """The drain loop; `written` and `failures` count rows inserted and failed attempts."""

    def __init__(self, client: redis.Redis, store: Store, stop: threading.Event):
        self.client, self.store, self.stop = client, store, stop
        self.written = self.failures = 0
        self._last_beat = float("-inf")

    def run(self) -> None:
        backoff, group_ready, backlog = 0.0, False, True
        while not self.stop.is_set():
            try:
                if not group_ready:
                    _ensure_group(self.client)
                    group_ready = True
                # our own pending entries first (a crash or a failed insert left them), then new ones
                start = "0" if backlog else ">"
                answer = self.client.xreadgroup(GROUP, CONSUMER, {STREAM: start}, count=ENTRIES_PER_BATCH,
                                                block=None if backlog else BLOCK_MS)
                entries = answer[0][1] if answer else []
                if backlog and not entries:
                    backlog = False
                    continue
                if entries:
                    self.written += write_batch(self.client, self.store, entries)
                self._beat()
                backoff = 0.0
                if entries and len(entries) < ENTRIES_PER_BATCH and not backlog:
                    self.stop.wait(DRAIN_INTERVAL)
            except redis.ResponseError as error:
                if "NOGROUP" in str(error):  # the stream was deleted (FLUSHDB): make the group again
                    group_ready = False
                backoff = self._failed(error, backoff)
                backlog = True
            except Exception as error:  # Redis or the sink down: the entries stay pending; retry
                backoff = self._failed(error, backoff)
                backlog = True

    def _beat(self) -> None:
        """The heartbeat `sink_health` reads: refreshed after each batch written (or an idle read) while the
        sink works; it expires HEARTBEAT_SECONDS after the writer stops or its sink fails."""
        now = time.monotonic()
        if now - self._last_beat >= 1.0:
            self.client.set(HEARTBEAT, str(time.time()), ex=HEARTBEAT_SECONDS)
            self._last_beat = now

    def _failed(self, error: Exception, backoff: float) -> float:
        self.failures += 1
        if self.failures == 1 or self.failures % 50 == 0:
            print(f"outscaled analytics writer: {error} (retrying; rows wait in the stream)", file=sys.stderr,
                  flush=True)
        backoff = min(max(backoff * 2, 0.1), MAX_BACKOFF)
        self.stop.wait(backoff)
        return backoff


def run_writer(settings: Settings, stop: threading.Event) -> None:
    from outscaled.online.redis_server import connect

    client = connect(settings, start=False)
    with owning(settings, stop) as store:
        if store is not None:
            Writer(client, store, stop).run()


def main() -> int:
    from outscaled.online.lifecycle import die_with_parent

    # Orphaned, it is killed outright: a SIGTERM handler runs only between the main thread's bytecodes, which
    # opening or closing the embedded store can hold for long on a busy host (seen in CI: alive 30 s after its
    # parent's SIGKILL). Nothing is lost: a row leaves the Redis log only once stored, and the store's lock
    # is an flock the kernel releases. Its supervisor still stops it gracefully (SIGTERM, batch finished).
    die_with_parent(signal.SIGKILL)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    run_writer(load_settings(), stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Logged predictions reach the analytics store exactly once: worker log -> Redis stream -> writer -> chdb,
with the sink, the writer and Redis going down and coming back."""

from __future__ import annotations

import json
import threading
import time

import pytest

from outscaled.analytics.log import STREAM, PredictionLog, sink_health
from outscaled.analytics.owner import open_store
from outscaled.analytics.store import PREDICTIONS
from outscaled.analytics.writer import GROUP
from outscaled.online.redis_server import connect
from tests.outscaled.analytics.conftest import final_count, start_writer, stored, wait_for_rows


def rows(request: str, n: int, key: str = "key-a") -> list[dict]:
    """A batch request's rows: one per prediction, request id `<id>:<i>`."""
    return [{"request_id": f"{request}:{i}", "key_id": key, "endpoint": "/predict/batch",
             "inputs": {"player": "Faker", "stat": "kills", "line": 3.5 + i, "map_start": 1, "map_end": 2},
             "player": "Faker", "stat": "kills", "line": 3.5 + i, "map_start": 1, "map_end": 2, "opponent": "",
             "outputs": {"p_over": 0.5, "expected": 4.1}, "expected": 4.1, "p_over": 0.5, "model_version": "v1",
             "snapshot_id": "s1", "arm": "champion", "latency_ms": 1.25} for i in range(n)]


def log_requests(log: PredictionLog, first: int, count: int, per_request: int = 3) -> int:
    for r in range(first, first + count):
        log.record(rows(f"req{r}", per_request))
    return count * per_request


def test_every_logged_row_is_stored_once(analytics_settings, writers):
    log = PredictionLog(connect(analytics_settings))
    logged = log_requests(log, 0, 400)  # 1,200 rows
    assert log.flush(10)
    assert log.counters()["sent"] == logged and log.counters()["dropped"] == 0
    client = connect(analytics_settings)
    assert sink_health(client) == (False, logged)  # no writer yet: everything is backlog
    writer = start_writer(writers, analytics_settings)
    assert wait_for_rows(analytics_settings, logged) == (logged, logged)
    with open_store(analytics_settings) as store:  # through the running writer's socket
        row = store.query(f"SELECT * FROM {PREDICTIONS} WHERE request_id = 'req7:2'").to_pylist()[0]
    assert json.loads(row["inputs"])["line"] == 5.5 and row["line"] == 5.5 and row["p_over"] == 0.5
    assert row["arm"] == "champion" and row["key_id"] == "key-a" and row["ts"].year >= 2026
    time.sleep(1)
    assert stored(analytics_settings) == (logged, logged)
    assert client.xlen(STREAM) == 0  # written entries are acknowledged and deleted
    assert sink_health(client) == (True, 0)
    writer.stop()
    client.expire("outscaled:analytics:heartbeat", 1)  # rather than waiting HEARTBEAT_SECONDS
    time.sleep(1.5)
    assert sink_health(client) == (False, 0)


def test_sink_down_then_back_loses_and_doubles_nothing(analytics_settings, writers):
    log = PredictionLog(connect(analytics_settings))
    logged = log_requests(log, 0, 100)
    assert log.flush(10)
    assert stored(analytics_settings) == (0, 0)  # no writer: the rows wait in the stream
    writer = start_writer(writers, analytics_settings)
    assert wait_for_rows(analytics_settings, logged)[0] == logged

    # keep logging while the writer is killed (SIGKILL, mid-batch or not) twice and restarted
    done = threading.Event()
    sent = [0]

    def produce():
        r = 1000
        while not done.is_set():
            sent[0] += log_requests(log, r, 5)
            r += 5
            time.sleep(0.01)

    producer = threading.Thread(target=produce)
    producer.start()
    for _ in range(2):
        time.sleep(1.5)
        writer.kill()
        time.sleep(0.5)
        writer = start_writer(writers, analytics_settings)
    time.sleep(1)
    done.set()
    producer.join()
    assert log.flush(10)
    total = logged + sent[0]
    assert wait_for_rows(analytics_settings, total) == (total, total)
    assert writer.stop() == 0  # SIGTERM: a clean stop
    assert final_count(analytics_settings) == total


def test_a_clickhouse_server_that_is_down_keeps_the_rows_in_the_stream(analytics_settings, writers):
    from outscaled.online.service_process import free_port

    client = connect(analytics_settings)
    log = PredictionLog(client)
    logged = log_requests(log, 0, 50)
    assert log.flush(10)
    down = start_writer(writers, analytics_settings, CLICKHOUSE_URL=f"http://127.0.0.1:{free_port()}")
    deadline = time.monotonic() + 60
    while "retrying; rows wait in the stream" not in down.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "retrying; rows wait in the stream" in down.log.read_text()  # it tried the server and failed
    time.sleep(1)
    assert down.process.poll() is None  # the writer keeps running while its sink is down
    waiting = sum(len(json.loads(fields[b"rows"])) for _, fields in client.xrange(STREAM))
    assert waiting == logged  # and every row still waits in the stream
    assert down.stop() == 0
    start_writer(writers, analytics_settings)  # the sink is back (here: the embedded store)
    assert wait_for_rows(analytics_settings, logged) == (logged, logged)


def test_writer_killed_between_insert_and_ack_redelivers_without_doubles(analytics_settings, writers):
    client = connect(analytics_settings)
    log = PredictionLog(client)
    logged = log_requests(log, 0, 200)
    assert log.flush(10)
    crashed = start_writer(writers, analytics_settings, fault="analytics.predictions")
    assert crashed.process.wait(timeout=60) == -9  # killed itself right after its first insert
    written, _ = stored(analytics_settings)
    assert 0 < written <= logged
    pending = client.xpending(STREAM, GROUP)["pending"]
    assert pending > 0  # the inserted entries were never acknowledged
    start_writer(writers, analytics_settings)
    deadline = time.monotonic() + 60
    while client.xpending(STREAM, GROUP)["pending"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.xpending(STREAM, GROUP)["pending"] == 0  # read again, acknowledged this time
    assert stored(analytics_settings) == (logged, logged)  # and not inserted again


def test_a_batch_sent_twice_is_stored_once(analytics_settings, writers):
    client = connect(analytics_settings)
    log = PredictionLog(client)
    batch = rows("twice", 4)
    log.record(batch)
    assert log.flush(10)
    log.record(rows("twice", 4))  # the same request ids again (an XADD retried after a timeout)
    assert log.flush(10)
    start_writer(writers, analytics_settings)
    assert wait_for_rows(analytics_settings, 4) == (4, 4)
    time.sleep(1)
    assert stored(analytics_settings) == (4, 4)


def test_redis_down_buffers_then_sends_and_a_full_buffer_counts_drops(analytics_settings, writers):
    from outscaled.online.redis_server import start_embedded, stop_embedded

    if analytics_settings.redis_url:
        pytest.skip("needs the embedded redis-server, which the test stops and starts")
    client = connect(analytics_settings)
    client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)  # the stream survives the restart (AOF)
    log = PredictionLog(client, capacity=100)
    stop_embedded(analytics_settings)
    start = time.perf_counter()
    log.record(rows("down", 60))
    log.record(rows("down-2", 60))  # 20 over the capacity
    assert time.perf_counter() - start < 0.05  # Redis being down never blocks the caller
    time.sleep(0.5)
    counters = log.counters()
    assert counters["buffered"] == 100 and counters["dropped"] == 20 and counters["sent"] == 0
    assert counters["redis_ok"] is False and counters["send_failures"] >= 1
    start_embedded(analytics_settings)
    assert log.flush(15)
    assert log.counters()["sent"] == 100 and log.counters()["buffered"] == 0
    start_writer(writers, analytics_settings)
    assert wait_for_rows(analytics_settings, 100) == (100, 100)

"""The analytics store's other entry points: purge by key, `outscaled analytics` (read-only), and the
writer's lifecycle beside the service (it stops with its parent, SIGKILL included, and is restarted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from outscaled.analytics.log import PredictionLog
from outscaled.analytics.owner import open_store
from outscaled.analytics.store import FEEDBACK, PREDICTIONS, purge_key
from outscaled.analytics.supervisor import WriterSupervisor
from outscaled.online.lifecycle import alive
from outscaled.online.redis_server import connect, redis_url
from tests.conftest import PROJECT_ROOT
from tests.outscaled.analytics.conftest import start_writer, stored, wait_for_rows
from tests.outscaled.analytics.test_pipeline import rows


def _log(settings, batches: dict[str, int]) -> int:
    log = PredictionLog(connect(settings))
    for key, requests in batches.items():
        for r in range(requests):
            log.record(rows(f"{key}-{r}", 2, key=key))
    assert log.flush(10)
    return 2 * sum(batches.values())


def test_purge_removes_exactly_that_keys_rows(analytics_settings, writers):
    total = _log(analytics_settings, {"key-a": 30, "key-b": 20})
    start_writer(writers, analytics_settings)
    assert wait_for_rows(analytics_settings, total)[0] == total
    with open_store(analytics_settings) as store:  # a settled row of each key (the asset writes these)
        store.insert(FEEDBACK, [{"request_id": "key-a-0:0", "key_id": "key-a", "status": "settled",
                                 "ts": time.time(), "settled_at": time.time()},
                                {"request_id": "key-b-0:0", "key_id": "key-b", "status": "settled",
                                 "ts": time.time(), "settled_at": time.time()}])
    assert purge_key(analytics_settings, "key-a") == 60  # through the running writer's socket
    assert stored(analytics_settings, "key_id = 'key-a'") == (0, 0)
    assert stored(analytics_settings, "key_id = 'key-b'") == (40, 40)
    with open_store(analytics_settings) as store:
        left = store.query(f"SELECT key_id FROM {FEEDBACK}").column("key_id").to_pylist()
    assert left == ["key-b"]
    assert purge_key(analytics_settings, "key-a") == 0
    late = _log(analytics_settings, {"key-a": 5, "key-c": 5})  # key-a's rows still in flight are not written
    assert wait_for_rows(analytics_settings, 40 + late // 2)[0] == 40 + late // 2
    time.sleep(1)
    assert stored(analytics_settings, "key_id = 'key-a'") == (0, 0)
    assert stored(analytics_settings, "key_id = 'key-c'") == (10, 10)
    writers[-1].stop()
    assert purge_key(analytics_settings, "key-b") == 40  # with no writer: the store opened here
    assert stored(analytics_settings) == (10, 10)


def test_outscaled_analytics_reads_and_refuses_writes(analytics_settings, writers, capsys):
    from outscaled.cli import main

    total = _log(analytics_settings, {"key-a": 5})
    start_writer(writers, analytics_settings)
    assert wait_for_rows(analytics_settings, total)[0] == total
    assert main(["analytics", f"SELECT key_id, count() AS n FROM {PREDICTIONS} GROUP BY key_id",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"key_id": "key-a", "n": 10}]
    for sql in (f"DELETE FROM {PREDICTIONS} WHERE 1", f"ALTER TABLE {PREDICTIONS} DELETE WHERE 1",
                f"SELECT 1; DROP TABLE {PREDICTIONS}", f"INSERT INTO {PREDICTIONS} (request_id) VALUES ('x')",
                f"/* hi */ DROP TABLE {PREDICTIONS}"):
        assert main(["analytics", sql]) == 1, sql
        error = capsys.readouterr().err
        assert "only read statements" in error or "one statement at a time" in error, error
    assert main(["analytics", "SELECT 1 SETTINGS readonly = 0"]) == 1  # the engine refuses lifting it
    capsys.readouterr()
    writers[-1].stop()
    assert main(["analytics", f"SELECT count() AS n FROM {PREDICTIONS}", "--format", "csv"]) == 0  # no writer
    assert capsys.readouterr().out.split() == ["n", str(total)]


def test_the_writer_is_restarted_and_dies_with_its_parent(analytics_settings):
    environment = {**os.environ, "OUTSCALED_HOME": str(analytics_settings.home),
                   "REDIS_URL": redis_url(analytics_settings)}
    with WriterSupervisor(analytics_settings, environment, interval=0.1) as supervisor:
        first = supervisor.process.pid
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while supervisor.restarts == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert supervisor.restarts == 1 and supervisor.process.pid != first and alive(supervisor.process.pid)
        second = supervisor.process.pid
    assert not alive(second)  # stopped with the block

    parent = subprocess.Popen(
        [sys.executable, "-c", "import os, sys, time; from outscaled.config import load_settings; "
         "from outscaled.analytics.supervisor import WriterSupervisor\n"
         "with WriterSupervisor(load_settings(), dict(os.environ)) as s:\n"
         "    print(s.process.pid, flush=True); time.sleep(600)"],
        cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, text=True)
    writer = int(parent.stdout.readline())
    assert alive(writer)
    parent.kill()  # SIGKILL: no finally, no atexit
    parent.wait()
    deadline = time.monotonic() + 30  # it finishes opening or closing the embedded store first (slow on a busy CI host)
    while alive(writer) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(writer)

"""Real Redis (the embedded redis-server on a fresh home, or OUTSCALED_TEST_REDIS_URL) and real writer
processes on a fresh analytics store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from outscaled.analytics.log import HANDLED, HEARTBEAT, LOGGED, STREAM
from outscaled.analytics.store import PREDICTIONS, PURGED_KEYS, count
from outscaled.config import Settings, load_settings
from outscaled.lakehouse.faults import FAULT_VARIABLE
from tests.conftest import PROJECT_ROOT


@pytest.fixture
def analytics_settings(home, monkeypatch) -> Iterator[Settings]:
    from outscaled.online.redis_server import connect, stop_embedded

    if os.environ.get("OUTSCALED_TEST_REDIS_URL"):
        monkeypatch.setenv("REDIS_URL", os.environ["OUTSCALED_TEST_REDIS_URL"])
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("CLICKHOUSE_URL", raising=False)
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)  # with REDIS_URL nothing else makes it before the writer's log
    client = connect(settings)
    keys = (STREAM, PURGED_KEYS, LOGGED, HANDLED, HEARTBEAT)
    client.delete(*keys)  # a shared server may hold another test's stream, purges and counters
    yield settings
    client.delete(*keys)
    if not settings.redis_url:
        stop_embedded(settings)


class WriterProcess:
    """`python -m outscaled.analytics.writer` on the test's home; `fault` names the commit boundary after
    which it SIGKILLs itself (outscaled.lakehouse.faults)."""

    def __init__(self, settings: Settings, fault: str | None = None, **variables: str):
        from outscaled.online.redis_server import redis_url

        environment = {**os.environ, "OUTSCALED_HOME": str(settings.home), "REDIS_URL": redis_url(settings),
                       **variables}
        environment.pop(FAULT_VARIABLE, None)
        if fault:
            environment[FAULT_VARIABLE] = fault
        self.log = settings.home / "writer-test.log"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "outscaled.analytics.writer"],
                                            cwd=PROJECT_ROOT, env=environment, stderr=log)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> int:
        self.process.kill()
        return self.process.wait(timeout=30)


@pytest.fixture
def writers(analytics_settings) -> Iterator[list[WriterProcess]]:
    started: list[WriterProcess] = []
    yield started
    for writer in started:
        if writer.process.poll() is None:
            writer.kill()


def start_writer(writers: list[WriterProcess], settings: Settings, fault: str | None = None,
                 **variables: str) -> WriterProcess:
    writer = WriterProcess(settings, fault, **variables)
    writers.append(writer)
    return writer


def stored(settings: Settings, where: str = "1") -> tuple[int, int]:
    """(rows, distinct request ids) in `predictions`, as plain counts (no FINAL: doubles would show)."""
    from outscaled.analytics.owner import open_store

    with open_store(settings) as store:
        table = store.query(f"SELECT count() AS n, uniqExact(request_id) AS u FROM {PREDICTIONS} WHERE {where}")
        return int(table.column("n")[0].as_py()), int(table.column("u")[0].as_py())


def wait_for_rows(settings: Settings, expected: int, timeout: float = 60.0) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while True:
        found = stored(settings)
        if found[0] >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def final_count(settings: Settings) -> int:
    from outscaled.analytics.owner import open_store

    with open_store(settings) as store:
        return count(store, PREDICTIONS)

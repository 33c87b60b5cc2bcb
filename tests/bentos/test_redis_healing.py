"""The embedded redis-server heals: killed (-9) while requests run, the platform starts it again and the
predictions come back with the same snapshot, from the same worker processes; /ready says 503 with the
reason while the feature store is unreachable, /health (liveness) stays 200."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from outscaled.online.lifecycle import alive, descendants
from outscaled.online.redis_server import start_embedded, stop_embedded
from tests.bentos.conftest import call

RESUME_WITHIN_SECONDS = 5


def _workers() -> list[int]:
    """The service's worker processes: below this test process (running_service started them)."""
    return sorted(pid for pid in descendants(os.getpid())
                  if b"_bentoml_impl.worker" in Path(f"/proc/{pid}/cmdline").read_bytes())


def _redis_pid(settings) -> int:
    return int((settings.home / "redis" / "redis.pid").read_text())


def test_killed_redis_is_restarted_and_predictions_resume(service, star):
    base_url, settings = service
    body = {"player": star, "stat": "kills", "line": 3.5, "map_start": 1, "map_end": 2}
    status, before = call(base_url, "/predict/single", body)
    assert status == 200
    workers, killed = _workers(), _redis_pid(settings)
    assert len(workers) >= 1

    answers: list[tuple[float, float, int, dict]] = []  # (sent, answered, status, body)
    done = threading.Event()

    def load() -> None:  # requests keep running through the kill
        while not done.is_set():
            sent = time.monotonic()
            status, answer = call(base_url, "/predict/single", body)
            answers.append((sent, time.monotonic(), status, answer))
            time.sleep(0.02)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        time.sleep(0.5)
        os.kill(killed, signal.SIGKILL)
        while alive(killed):  # until it is gone: a request sent before this may have been answered by it
            time.sleep(0.001)
        killed_at = time.monotonic()
        time.sleep(RESUME_WITHIN_SECONDS + 1)
    finally:
        done.set()
        thread.join()

    after = [(t - killed_at, s, a) for sent, t, s, a in answers if sent > killed_at]  # sent to a dead server
    assert {s for _, s, _ in after} <= {200, 503}, after  # never a 500 or a dropped connection
    assert all("Redis" in a["error"] for _, s, a in after if s == 503)
    first_ok = next(t for t, s, _ in after if s == 200)
    assert first_ok < RESUME_WITHIN_SECONDS
    broken = [(round(t, 3), s, a if s != 200 else {k: v for k, v in a.items() if v != before.get(k)})
              for t, s, a in after if t >= first_ok and (s != 200 or a != before)]
    assert not broken, (round(first_ok, 3), broken[:5])  # from then on, the same snapshot's answer
    assert not alive(killed) and _redis_pid(settings) != killed  # a new server, started by the platform
    assert _workers() == workers  # no service restart


def test_ready_reports_an_unreachable_feature_store(service):
    base_url, settings = service
    assert call(base_url, "/ready")[0] == 200
    stop_embedded(settings)  # stopped on purpose: the supervisor leaves it stopped (Restart=on-failure)
    try:
        status, answer = call(base_url, "/ready")
        assert status == 503 and "Redis" in answer["error"]
        assert call(base_url, "/health") == (200, {"alive": True})
    finally:
        start_embedded(settings)
    assert call(base_url, "/ready")[0] == 200

"""Start and stop the BentoML service as a process (for `outscaled serve`, the demo and the tests).

The service cannot outlive the process that started it: `bentoml serve` gets a parent-death signal, and
its workers (which circus starts in sessions of their own) set one for themselves when they import
bentos.service (OUTSCALED_STOP_WITH_PARENT), and a process-tree guardian ends whatever of the service is
still alive a few seconds after its parent is gone, however it went (outscaled.online.lifecycle). While it
runs, the embedded redis-server is supervised (restarted when it dies; outscaled.online.redis_server.Supervisor),
and so is the analytics writer that drains the workers' logged predictions into the analytics store
(outscaled.analytics.supervisor)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from outscaled.analytics.supervisor import WriterSupervisor
from outscaled.config import PROJECT_ROOT, Settings
from outscaled.online.lifecycle import ProcessTreeGuardian, dies_with_this_process, wait_or_stop
from outscaled.online.redis_server import Supervisor, redis_url

NOTHING_TO_SERVE = "no champion models in gold.model_registry; train first (outscaled materialize)"
STOP_GRACE_SECONDS = 5.0  # SIGTERM to `bentoml serve`, then SIGKILL (its workers then get their own signal)
TREE_GRACE_SECONDS = 5.0  # then whatever the service started that is still alive: SIGTERM, then SIGKILL

BENTOML = str(Path(sys.executable).parent / "bentoml")


def free_port() -> int:
    """A loopback port nobody is listening on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command(port: int) -> list[str]:
    return [BENTOML, "serve", "bentos.service:Outscaled", "--port", str(port), "--host", "127.0.0.1"]


def _environment(settings: Settings) -> dict[str, str]:
    return {**os.environ, "OUTSCALED_HOME": str(settings.home), "REDIS_URL": redis_url(settings),
            "BENTOML_HOME": str(settings.home / "bentoml"), "BENTOML_DO_NOT_TRACK": "True",
            "OUTSCALED_STOP_WITH_PARENT": "1"}


def require_champions(settings: Settings) -> None:
    """Refuse to start a service that has nothing to serve: its workers would fail to load and be
    restarted over and over while the port accepts connections and answers none."""
    from outscaled.lakehouse.catalog import open_catalog
    from outscaled.models.registry import champions, read_registry

    if not champions(read_registry(open_catalog(settings))):
        raise RuntimeError(NOTHING_TO_SERVE)


def _start(settings: Settings, port: int, **options) -> subprocess.Popen:
    return subprocess.Popen(_command(port), cwd=PROJECT_ROOT, env=_environment(settings),
                            preexec_fn=dies_with_this_process(signal.SIGTERM), **options)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (circus stops the workers), SIGKILL after STOP_GRACE_SECONDS."""
    process.terminate()
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_answering(url: str, process: subprocess.Popen, timeout: float,
                         what: str = "the prediction service") -> None:
    """Poll `url` until it answers 200; fail at once if `process` exits first, or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f} s")


def wait_ready(base_url: str, process: subprocess.Popen, workers: int = 1, timeout: float = 120.0) -> None:
    """Until `workers` different worker processes have answered /ready (each poll is a new connection,
    which any worker that has finished starting may accept). A worker still building its models accepts
    nothing, so a client that opened its connections at the first ready answer would keep every one of
    them on the workers that were up: the benchmarks' loads went to one worker of two that way."""
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    while len(seen) < workers and time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the prediction service exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/ready", timeout=2) as response:
                seen.add(int(json.loads(response.read())["worker"]))
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    if len(seen) < workers:
        raise RuntimeError(f"only {len(seen)} of {workers} service workers were ready within {timeout:.0f} s")


@contextmanager
def running_service(settings: Settings, port: int, log_path: Path | None = None):
    """The service (in its own process group, away from the caller's terminal) until the block exits."""
    require_champions(settings)
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    with ProcessTreeGuardian(TREE_GRACE_SECONDS), Supervisor(settings), \
            WriterSupervisor(settings, _environment(settings)):
        process = _start(settings, port, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_ready(f"http://127.0.0.1:{port}", process, settings.service_workers)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(process)
            if log_path:
                log.close()


def serve_forever(settings: Settings, port: int) -> int:
    """`outscaled serve`: runs until the service exits or this process gets SIGTERM, SIGINT or SIGHUP."""
    require_champions(settings)
    with ProcessTreeGuardian(TREE_GRACE_SECONDS), Supervisor(settings), \
            WriterSupervisor(settings, _environment(settings)):
        process = _start(settings, port)
        print(f"serving on http://127.0.0.1:{port} (page at /, API at /predict/…); Ctrl-C to stop", flush=True)
        return wait_or_stop(process, lambda: _stop(process))

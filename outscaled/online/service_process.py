"""Start and stop the BentoML service as a process (for `outscaled serve`, the demo and the tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from outscaled.config import PROJECT_ROOT, Settings
from outscaled.online.redis_server import redis_url, start_embedded

BENTOML = str(Path(sys.executable).parent / "bentoml")


def free_port() -> int:
    """A loopback port nobody is listening on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command(port: int) -> list[str]:
    return [BENTOML, "serve", "bentos.service:Outscaled", "--port", str(port), "--host", "127.0.0.1"]


def _environment(settings: Settings) -> dict[str, str]:
    if not settings.redis_url:
        start_embedded(settings)
    return {**os.environ, "OUTSCALED_HOME": str(settings.home), "REDIS_URL": redis_url(settings),
            "BENTOML_HOME": str(settings.home / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"}


def wait_ready(base_url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the prediction service exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the prediction service was not ready within {timeout:.0f} s")


@contextmanager
def running_service(settings: Settings, port: int, log_path: Path | None = None):
    """The service in its own process group; stopped (with its workers) on exit."""
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(_command(port), cwd=PROJECT_ROOT, env=_environment(settings), stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
        if log_path:
            log.close()


def serve_forever(settings: Settings, port: int) -> int:
    print(f"serving on http://127.0.0.1:{port} (page at /, API at /predict/…); Ctrl-C to stop")
    return subprocess.call(_command(port), cwd=PROJECT_ROOT, env=_environment(settings))

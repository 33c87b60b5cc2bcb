"""The embedded redis-server on one home: started once however many processes and supervisors ask for it
at the same time, and restarted once after it dies (real redis-server processes)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from outscaled.config import load_settings
from outscaled.online.lifecycle import TREE_VARIABLE, alive, marked
from outscaled.online.redis_server import Supervisor, start_embedded, stop_embedded
from tests.conftest import environment


def _servers(home: Path) -> list[int]:
    """Live redis-server processes of this home (redis-server works in its --dir, the home's redis/)."""
    folder = (home / "redis").resolve()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                is_redis = Path(f"/proc/{entry}/comm").read_text().strip().startswith("redis")
                in_home = is_redis and Path(f"/proc/{entry}/cwd").resolve() == folder
            except OSError:
                continue
            if in_home and alive(int(entry)):
                found.append(int(entry))
    return found


@pytest.fixture
def settings(tmp_path):
    with environment(OUTSCALED_HOME=str(tmp_path), REDIS_URL=None):
        settings = load_settings()
        yield settings
        stop_embedded(settings)


STARTER = """
import sys, time
from outscaled.config import load_settings
from outscaled.online.redis_server import start_embedded
start_embedded(load_settings())
print("up", flush=True)
time.sleep(30)
"""


def test_processes_starting_it_at_once_start_one_server(settings):
    starters = [subprocess.Popen([sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "OUTSCALED_HOME": str(settings.home)})
                for _ in range(4)]
    try:
        assert [p.stdout.readline().strip() for p in starters] == ["up"] * 4
        assert len(_servers(settings.home)) == 1
    finally:
        for p in starters:
            p.kill()
            p.wait()


def test_two_supervisors_restart_a_killed_server_once(settings):
    start_embedded(settings)
    [first] = _servers(settings.home)
    with Supervisor(settings, interval=0.05) as one, Supervisor(settings, interval=0.05) as two:
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (one.restarts + two.restarts):
            time.sleep(0.05)
        time.sleep(1.0)  # long enough for a second, wrong restart to show
        servers = _servers(settings.home)
        assert one.restarts + two.restarts == 1
        assert len(servers) == 1 and servers != [first]


def test_the_server_keeps_the_process_tree_token_a_guardian_finds_it_by(settings):
    """redis-server rewrites its process title over its environment unless told not to: a guardian sweeping
    for its token (outscaled.online.lifecycle.marked) must still find the server."""
    token = f"redis-test-{os.getpid()}"
    with environment(**{TREE_VARIABLE: token}):
        start_embedded(settings)
    [server] = _servers(settings.home)
    assert marked(token) == [server]

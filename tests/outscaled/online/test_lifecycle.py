"""Every process the platform starts stops with its parent: a real `outscaled serve` (BentoML and its
workers, the embedded redis-server), a real `outscaled ui` (`dagster dev` and its process group), a real
`outscaled consume --follow` (the embedded redis-server it starts) and the consumer `outscaled replay` starts
(`outscaled consume --follow --live`, started the way the replay starts it), each after SIGTERM and after
SIGKILL of its parent, checked pid by pid through /proc within STOP_WITHIN_SECONDS of the signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from outscaled.config import load_settings
from outscaled.lakehouse.catalog import open_catalog
from outscaled.models.registry import champions, read_registry
from outscaled.online.lifecycle import TREE_VARIABLE, alive, descendants
from outscaled.online.redis_server import connect, embedded_url, stop_embedded
from outscaled.online.service_process import NOTHING_TO_SERVE, free_port, wait_until_answering
from outscaled.online.snapshot import publish
from tests.conftest import environment, proc_status

PROJECT_ROOT = Path(__file__).resolve().parents[3]
STOP_WITHIN_SECONDS = 10


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture(scope="module")
def serve_environment(served_home, tmp_path_factory) -> dict[str, str]:
    """A home of its own (so its embedded redis-server is the one `outscaled serve` starts, not the one
    the other service tests share) that reads served_home's catalog, warehouse and model store, with the
    snapshot published into its own Redis (kept in the append-only file while no server runs)."""
    home = tmp_path_factory.mktemp("lifecycle") / "home"
    home.mkdir()
    (home / "bentoml").symlink_to(served_home / "bentoml", target_is_directory=True)
    values = {"OUTSCALED_HOME": str(home), "OUTSCALED_CATALOG_URI": f"sqlite:///{served_home / 'catalog.db'}",
              "OUTSCALED_WAREHOUSE": (served_home / "warehouse").as_uri(), "REDIS_URL": None}
    with environment(**values):
        settings = load_settings()
        catalog = open_catalog(settings)
        publish(connect(settings), catalog, champions(read_registry(catalog)))
        stop_embedded(settings)
    env = {**os.environ, **{k: v for k, v in values.items() if v is not None}, "OUTSCALED_SERVICE_WORKERS": "2"}
    env.pop("REDIS_URL", None)
    return env


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stop_and_check(process: subprocess.Popen, sig: int) -> list[str]:
    """Send `sig` to the parent process only; returns the processes still alive STOP_WITHIN_SECONDS after
    the signal (the parent itself, and its descendants as listed before the signal), as "pid: command line".
    Whatever is left is killed by pid, so one failure does not leak into the suite."""
    tree = descendants(process.pid)
    commands = {pid: _cmdline(pid) for pid in [process.pid, *tree]}
    deadline = time.monotonic() + STOP_WITHIN_SECONDS  # one deadline for the parent and its children alike
    os.kill(process.pid, sig)
    while time.monotonic() < deadline and (process.poll() is None or any(alive(pid) for pid in tree)):
        time.sleep(0.1)
    left = ([process.pid] if process.poll() is None else []) + [pid for pid in tree if alive(pid)]
    states = {pid: _signal_state(pid) for pid in left}  # why a process outlived its signal, before it is killed
    for pid in left:
        _kill(pid)
    process.wait()
    return [f"{pid}: {commands[pid]} [{states[pid]}]" for pid in left]


def _signal_state(pid: int) -> str:
    """The kernel's view of a process: its state and its blocked, ignored and pending signals (hex masks)."""
    try:
        fields = proc_status(f"/proc/{pid}/status", ("State", "SigBlk", "SigIgn", "SigPnd", "ShdPnd"))
    except OSError:
        return "gone"
    return " ".join(f"{name}={value}" for name, value in fields.items())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_serve_stops_with_its_parent(serve_environment, sig):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "outscaled.cli", "serve", "--port", str(port)],
                               cwd=PROJECT_ROOT, env=serve_environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/ready", process, 240, "outscaled serve")
        tree = descendants(process.pid)
        commands = [_cmdline(pid) for pid in tree]
        assert any("redis-server" in c for c in commands), commands  # started by serve, un-daemonized
        assert any("bentoml serve" in c for c in commands), commands
        assert any("outscaled.analytics.writer" in c for c in commands), commands  # drains the logged predictions
        assert sum("_bentoml_impl.worker" in c for c in commands) == 2, commands
        assert _stop_and_check(process, sig) == []
    finally:
        if process.poll() is None:
            process.kill()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
    redis_dir = Path(serve_environment["OUTSCALED_HOME"]) / "redis"
    assert (redis_dir / "appendonly.aof").stat().st_size > 0  # the snapshot stays for the next start


ORPHAN = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as a worker stuck in its graceful shutdown would
with open(sys.argv[1] + ".tmp", "w") as handle:
    handle.write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""
MIDDLE = """
import subprocess, sys
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], start_new_session=True)
"""  # exits at once: the orphan is re-parented away from the guarded process
GUARDED = """
import subprocess, sys, time
from outscaled.online.lifecycle import ProcessTreeGuardian
with ProcessTreeGuardian(1.0):
    subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2], sys.argv[3]], check=True)
    time.sleep(600)
"""


def test_guardian_ends_a_reparented_orphan_that_ignores_sigterm(tmp_path):
    """The process-tree guardian's own case: a grandchild in a session of its own, re-parented away from
    the platform process and deaf to SIGTERM, still ends (SIGKILL after the grace) when that process is
    SIGKILLed."""
    pid_file = tmp_path / "orphan.pid"
    process = subprocess.Popen([sys.executable, "-c", GUARDED, MIDDLE, ORPHAN, str(pid_file)], cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        orphan = int(pid_file.read_text())
        assert orphan not in descendants(process.pid)  # out of the tree: neither pgid nor ppid can find it
        deadline = time.monotonic() + STOP_WITHIN_SECONDS  # counted from the signal
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_WITHIN_SECONDS)
        while time.monotonic() < deadline and alive(orphan):
            time.sleep(0.1)
        survived = alive(orphan)
        if survived:
            os.kill(orphan, signal.SIGKILL)
        assert not survived
    finally:
        if process.poll() is None:
            process.kill()


def test_serve_refuses_to_start_with_nothing_to_serve(home):
    result = subprocess.run([sys.executable, "-m", "outscaled.cli", "serve", "--port", str(free_port())],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == f"error: {NOTHING_TO_SERVE}"
    assert not (home / "redis" / "redis.pid").exists()  # nothing was started


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_ui_stops_with_its_parent(home, sig):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "outscaled.cli", "ui", "--port", str(port)],
                               cwd=PROJECT_ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/server_info", process, 240, "outscaled ui")
        commands = [_cmdline(pid) for pid in descendants(process.pid)]
        assert any("dagster dev" in c for c in commands), commands
        assert any("dagster-webserver" in c or "dagster_webserver" in c for c in commands), commands
        assert _stop_and_check(process, sig) == []
    finally:
        if process.poll() is None:
            process.kill()


@pytest.fixture
def consumer_settings(home, monkeypatch):
    """The test's home with the default stream, Redis Streams on the home's embedded redis-server (which
    the consumer starts itself)."""
    for name in ("REDIS_URL", "OUTSCALED_STREAM", "OUTSCALED_STREAM_TOPIC"):
        monkeypatch.delenv(name, raising=False)
    return load_settings()


def _wait_consuming(process: subprocess.Popen, settings, log: Path, timeout: float = 240) -> None:
    """Until the consumer is in its poll loop: a client of the home's embedded redis-server is in (or last
    ran) XREADGROUP. Fails at once if the process exits first."""
    client = redis.Redis.from_url(embedded_url(settings), socket_timeout=2, socket_connect_timeout=2)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the consumer's parent exited with status {process.returncode}: "
                                   f"{log.read_text()[-2000:]}")
            try:
                if any(c.get("cmd") == "xreadgroup" for c in client.client_list()):
                    return
            except (redis.RedisError, OSError):
                pass
            time.sleep(0.2)
    finally:
        client.close()
    raise RuntimeError(f"the consumer did not poll its stream within {timeout:.0f} s: {log.read_text()[-2000:]}")


def _tree_marker(pid: int) -> str | None:
    """The process-tree token(s) `pid` was started with (None: none)."""
    prefix = TREE_VARIABLE.encode() + b"="
    for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix):].decode()
    return None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_consumer_stops_with_its_parent(consumer_settings, tmp_path, sig):
    """`outscaled consume --follow` and the embedded redis-server it starts for its stream."""
    log = tmp_path / "consume.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "outscaled.cli", "consume", "--follow"], cwd=PROJECT_ROOT,
                                   env=dict(os.environ), stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        _wait_consuming(process, consumer_settings, log)
        commands = [_cmdline(pid) for pid in descendants(process.pid)]
        assert any("redis-server" in c for c in commands), commands  # started by the consumer, un-daemonized
        assert _stop_and_check(process, sig) == []
    finally:
        if process.poll() is None:
            process.kill()


REPLAY_PARENT = """
import sys, time
from pathlib import Path
from outscaled.config import load_settings
from outscaled.online.lifecycle import ProcessTreeGuardian, honour_stop_signals
from outscaled.replay import REPLAY_GRACE_SECONDS, start_consumer
honour_stop_signals()  # as the `outscaled` command does at start
if sys.argv[2] == "guarded":  # as `outscaled replay` starts it, under its process-tree guardian
    with ProcessTreeGuardian(REPLAY_GRACE_SECONDS):
        start_consumer(load_settings(), Path(sys.argv[1]))
        time.sleep(600)
else:  # the parent-death signal alone
    start_consumer(load_settings(), Path(sys.argv[1]))
    time.sleep(600)
"""


@pytest.mark.parametrize(("sig", "guarded"), [(signal.SIGTERM, True), (signal.SIGKILL, True), (signal.SIGKILL, False)],
                         ids=["SIGTERM", "SIGKILL", "SIGKILL-parent-death-signal-only"])
def test_replay_consumer_stops_with_the_replay(consumer_settings, tmp_path, sig, guarded):
    """The live consumer `outscaled replay` starts (outscaled.replay.start_consumer, the replay's own code, in a
    process that stands for the replay) and the embedded redis-server it starts: the consumer carries the
    guardian's token (the scratch home's environment keeps it), and both stop when the replay is stopped or
    killed, by their parent-death signals alone too."""
    log = tmp_path / "consumer.log"
    process = subprocess.Popen([sys.executable, "-c", REPLAY_PARENT, str(log), "guarded" if guarded else "bare"],
                               cwd=PROJECT_ROOT, env=dict(os.environ), stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        _wait_consuming(process, consumer_settings, log)
        tree = descendants(process.pid)
        commands = {pid: _cmdline(pid) for pid in tree}
        consumer = [pid for pid, c in commands.items() if "outscaled consume --follow --live" in c]
        server = [pid for pid, c in commands.items() if "redis-server" in c]
        assert len(consumer) == 1 and len(server) == 1, commands
        if guarded:  # (redis-server writes its process title over its environment: its parent-death signal ends it)
            assert _tree_marker(consumer[0]), commands[consumer[0]]
        assert _stop_and_check(process, sig) == []
    finally:
        if process.poll() is None:
            process.kill()


def _deaf_to_sigterm() -> None:
    """A parent's state while it starts a child: SIGTERM blocked and ignored (both are inherited across exec)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@pytest.mark.parametrize("takes_them_back", [True, False], ids=["honoured", "inherited"])
def test_sigterm_stops_a_command_started_deaf_to_it(takes_them_back):
    """`outscaled` takes SIGTERM back at start (honour_stop_signals): started by a parent that had it blocked
    and ignored, it still stops on SIGTERM; the same process without that call does not."""
    program = ("import sys, time\nfrom outscaled.online.lifecycle import honour_stop_signals\n"
               f"{'honour_stop_signals()' if takes_them_back else 'pass'}\nprint('ready', flush=True)\ntime.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", program], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                               preexec_fn=_deaf_to_sigterm)
    try:
        assert process.stdout.readline() == b"ready\n"
        process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = None
        assert status == (-signal.SIGTERM if takes_them_back else None)
    finally:
        process.kill()
        process.wait()


def test_an_in_process_dagster_run_leaves_sigterm_as_it_found_it():
    # `outscaled` runs its Dagster jobs in process (cli._run_assets), inside sigterm_kept(). A background job
    # inherits SIGINT ignored, and Dagster points SIGTERM at SIGINT's handler when a run ends.
    from dagster import asset, materialize

    from outscaled.online.lifecycle import sigterm_kept

    @asset
    def one() -> int:
        return 1

    sigint, sigterm = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        assert materialize([one]).success
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN  # what Dagster leaves on its own
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with sigterm_kept():
            assert materialize([one]).success
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, sigint)
        signal.signal(signal.SIGTERM, sigterm)

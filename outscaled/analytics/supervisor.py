"""Run the analytics writer beside the service: started with it, restarted when it dies, stopped with it.

The writer is a child of the supervisor's thread with a parent-death signal (outscaled.online.lifecycle), so
it cannot outlive the platform process, SIGKILL included; it runs in a session of its own so a Ctrl-C at the
terminal reaches the platform, which then stops it. A writer that dies (killed, crashed) loses nothing: its
unacknowledged entries stay pending in the stream and the next one writes them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

from outscaled.config import PROJECT_ROOT, Settings
from outscaled.online.lifecycle import dies_with_this_process

STOP_GRACE_SECONDS = 10.0


def log_path(settings: Settings) -> Path:
    return settings.home / "analytics" / "writer.log"


class WriterSupervisor:
    """`with WriterSupervisor(settings, environment):` a writer process runs for the block."""

    def __init__(self, settings: Settings, environment: dict[str, str], interval: float = 0.5):
        self.settings, self.environment, self.interval = settings, environment, interval
        self.restarts = 0
        self.process: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="analytics-writer-supervisor", daemon=True)

    def __enter__(self) -> WriterSupervisor:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _spawn(self) -> subprocess.Popen:
        path = log_path(self.settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as log:
            return subprocess.Popen([sys.executable, "-m", "outscaled.analytics.writer"], cwd=PROJECT_ROOT,
                                    env=self.environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True, preexec_fn=dies_with_this_process(signal.SIGKILL))

    def _watch(self) -> None:
        backoff = self.interval
        self.process = self._spawn()
        self._started.set()
        while not self._stop.wait(backoff):
            if self.process.poll() is None:
                backoff = self.interval
                continue
            print(f"outscaled: the analytics writer exited with status {self.process.returncode}; restarting it "
                  f"(see {log_path(self.settings)})", file=sys.stderr, flush=True)
            self.process = self._spawn()
            self.restarts += 1
            backoff = min(backoff * 2, 10.0)
        self._end()

    def _end(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # the writer finishes the batch in hand, then exits
        try:
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

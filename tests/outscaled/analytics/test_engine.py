"""The embedded engine leaves the process's signals as it found them: a crash after the store was opened prints
Python's traceback (faulthandler), and processes started afterwards do not inherit a blocked SIGPIPE."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

# A process of its own: faulthandler on, the embedded store opened (outscaled.analytics.store.connect), then the
# SIGPIPE mask of this thread and of a child printed, then a read of address 0.
PROGRAM = """
import ctypes, faulthandler, subprocess, sys
faulthandler.enable()
from outscaled.analytics.store import connect
from outscaled.config import load_settings
client = connect(load_settings())
client.command("INSERT INTO predictions (request_id, ts) VALUES ('probe', now())")
assert client.query("SELECT count() FROM predictions").result_rows == [(1,)]
def pipe_blocked(status):
    mask = next(line for line in status.splitlines() if line.startswith("SigBlk"))
    return bool(int(mask.split()[1], 16) & (1 << 12))  # SIGPIPE is signal 13
child = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True).stdout
print("sigpipe blocked here:", pipe_blocked(open("/proc/thread-self/status").read()), "in a child:", pipe_blocked(child),
      flush=True)
ctypes.string_at(0)
"""


def test_a_crash_after_opening_the_store_prints_the_python_traceback(tmp_path):
    env = {**os.environ, "OUTSCALED_HOME": str(tmp_path / "home")}
    env.pop("CLICKHOUSE_URL", None)
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert "sigpipe blocked here: False in a child: False" in done.stdout, done.stdout + done.stderr
    assert done.returncode == -signal.SIGSEGV, done.stderr[-2000:]
    assert "Fatal Python error: Segmentation fault" in done.stderr, done.stderr[-2000:]
    assert 'File "<string>", line 15' in done.stderr, done.stderr[-2000:]  # the line that crashed, by Python

"""Child processes that stop with the platform process that started them, however it stops.

Two mechanisms, because the children differ:

- **A parent-death signal** (Linux `prctl(PR_SET_PDEATHSIG)`): the kernel signals the child when its parent
  dies, SIGKILL included. Used for the processes the platform execs itself (redis-server, `bentoml serve`)
  and by the service's workers for themselves at import: circus starts each worker in its own session,
  so a kill of the service's process group never reaches them and they would be re-parented to PID 1.
  The kernel ties the signal to the *thread* that forked the child, so start such children from a thread
  that lives as long as they should (the main thread, or a supervisor's thread).
- **A guardian** for a tree that stays in one process group but ignores SIGTERM and SIGINT for a while
  (`dagster dev`, ~15 s): a small process, in its own session, that waits for a pipe from the parent to
  close (the kernel closes it when the parent exits, SIGKILL included) and then ends the whole group:
  SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
# Loaded once, before any fork: the pre-exec hook then only calls into libc (no imports, no allocation of
# locks that another thread might hold at fork time).
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Have the kernel send `sig` to this process when its parent exits; send it now if the parent is
    already gone (re-parented to init between the fork and this call). A no-op off Linux."""
    if _prctl is None:
        return
    if _prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() == 1:
        os.kill(os.getpid(), sig)


def dies_with_this_process(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` for `subprocess.Popen`: the child gets `sig` when the calling thread's process exits."""
    parent = os.getpid()

    def preexec() -> None:
        if _prctl is None:
            return
        _prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), sig)

    return preexec


def _stat(pid: int | str) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) from /proc/PID/stat, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rpartition(b")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0].decode(), int(fields[1]), int(fields[2])


def alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie, dead but not yet reaped by its parent, is not)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _processes() -> dict[int, tuple[str, int, int]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) is not None:
            found[int(entry)] = stat
    return found


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` in the process tree (children, their children, …), from /proc."""
    children: dict[int, list[int]] = {}
    for child, (state, parent, _) in _processes().items():
        if state != "Z":
            children.setdefault(parent, []).append(child)
    found, frontier = [], [pid]
    while frontier:
        below = children.get(frontier.pop(), [])
        found.extend(below)
        frontier.extend(below)
    return found


def group_alive(pgid: int) -> bool:
    return any(group == pgid and state != "Z" for state, _, group in _processes().values())


def end_group(pgid: int, grace: float) -> None:
    """SIGTERM to process group `pgid`, then SIGKILL to what is left of it after `grace` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and group_alive(pgid):
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class GroupGuardian:
    """A guardian process (see the module docstring) for one process group.

    Started before the group, so that the group never runs unguarded: if this process dies before
    `arm`, the guardian sees the pipe close with no group named and just exits (start the group's leader
    with `dies_with_this_process` to cover that moment). `release` after ending the group yourself, so the
    guardian does not signal a process group id the system may have given to someone else since."""

    def __init__(self, grace: float):
        read, self._write = os.pipe()  # not inheritable: only the guardian holds the read end
        subprocess.Popen([sys.executable, "-m", "outscaled.online.lifecycle", str(read), str(grace)],
                         pass_fds=(read,), stdin=subprocess.DEVNULL, start_new_session=True)
        os.close(read)

    def arm(self, pgid: int) -> None:
        os.write(self._write, f"{pgid}\n".encode())

    def release(self) -> None:
        os.write(self._write, b"released\n")
        os.close(self._write)


class Stopped(Exception):
    """SIGTERM, SIGINT or SIGHUP arrived while waiting for a child."""


def wait_or_stop(process: subprocess.Popen, stop: Callable[[], None]) -> int:
    """Wait for `process`; a SIGTERM, SIGINT or SIGHUP to this process runs `stop()` (which must end the
    child within a bounded time) instead of leaving the child behind. Returns the child's exit status, or
    0 after a requested stop."""
    def interrupt(signum, frame):
        raise Stopped(signum)

    stops = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {s: signal.signal(s, interrupt) for s in stops}
    try:
        return process.wait()
    except (Stopped, KeyboardInterrupt):
        for s in stops:
            signal.signal(s, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        stop()
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _guardian(fd: int, grace: float) -> None:
    with os.fdopen(fd, "rb") as pipe:
        lines = pipe.read().split()  # returns at end of file: the parent has exited or released the group
    if len(lines) == 1:
        end_group(int(lines[0]), grace)


if __name__ == "__main__":
    _guardian(int(sys.argv[1]), float(sys.argv[2]))

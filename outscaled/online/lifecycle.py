"""Child processes that stop with the platform process that started them, however it stops.

Two mechanisms, because the children differ:

- **A parent-death signal** (Linux `prctl(PR_SET_PDEATHSIG)`): the kernel signals the child when its parent
  dies, SIGKILL included. Used for the processes the platform execs itself (redis-server, `bentoml serve`)
  and by the service's workers for themselves at import: circus starts each worker in its own session,
  so a kill of the service's process group never reaches them and they would be re-parented to PID 1.
  The kernel ties the signal to the *thread* that forked the child, so start such children from a thread
  that lives as long as they should (the main thread, or a supervisor's thread).
- **A guardian** for everything the platform process started, however deep and whatever it does with
  signals (`dagster dev` ignores SIGTERM and SIGINT for ~15 s; a service worker may be stuck in its graceful
  shutdown): the platform process marks its environment with a token that every process it starts inherits
  (`OUTSCALED_PROCESS_TREE`, read back from /proc/PID/environ, so re-parented orphans are still found and a
  reused pid never is), and a small guardian process in its own session waits for a pipe from the parent to
  close (the kernel closes it when the parent exits, SIGKILL included); then it ends every process carrying
  the token: SIGTERM, then SIGKILL after a grace period. The parent ends them the same way itself when it
  stops normally (`ProcessTreeGuardian.__exit__`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator

_PR_SET_PDEATHSIG = 1
# Loaded once, before any fork: the pre-exec hook then only calls into libc (no imports, no allocation of
# locks that another thread might hold at fork time).
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def honour_stop_signals() -> None:
    """Make SIGTERM stop this process whatever it inherited: the stop signals unblocked (a signal mask is
    inherited across exec, so a parent that had one blocked while it started us would leave us deaf to it)
    and SIGTERM's disposition back to the default where it was inherited as ignored. SIGINT and SIGHUP keep
    an inherited "ignore" (a background job, `nohup`). Called by the `outscaled` command at start."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def sigterm_kept() -> Iterator[None]:
    """SIGTERM's disposition as it was before the block, whatever the block did to it. For an in-process
    Dagster run: when one ends, Dagster points SIGTERM at SIGINT's handler (dagster._utils.interrupts,
    "for k8s"), and a background job (`cmd &` in a script, `nohup`) inherits SIGINT ignored, so the process
    would then ignore SIGTERM, and every child it started afterwards would inherit that across exec."""
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if threading.current_thread() is threading.main_thread() and before is not None:
            signal.signal(signal.SIGTERM, before)


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


TREE_VARIABLE = "OUTSCALED_PROCESS_TREE"


def _tokens(pid: int) -> set[str]:
    """The process-tree tokens in the environment `pid` was started with (empty when it has none, is gone,
    or is someone else's)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environ = handle.read()
    except OSError:
        return set()
    prefix = TREE_VARIABLE.encode() + b"="
    for entry in environ.split(b"\0"):
        if entry.startswith(prefix):
            return set(entry[len(prefix):].decode(errors="replace").split(":"))
    return set()


def marked(token: str) -> list[int]:
    """Every live process (other than this one) started with `token` in its process-tree variable."""
    me = os.getpid()
    return [pid for pid, (state, _, _) in _processes().items()
            if pid != me and state != "Z" and token in _tokens(pid)]


def end_marked(token: str, grace: float) -> list[int]:
    """SIGTERM to every process marked with `token`, then SIGKILL to those still alive after `grace`
    seconds, and to any started meanwhile (a second scan). Returns the pids it SIGKILLed."""
    terminated = marked(token)
    for pid in terminated:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(pid) for pid in terminated):
        time.sleep(0.1)
    killed = []
    for pid in marked(token):
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass
    return killed


class ProcessTreeGuardian:
    """`with ProcessTreeGuardian(grace):` every process started in the block (by any thread of this
    process, and whatever they start) carries this guardian's token, and ends when this process does: by
    the guardian process if this one is killed outright, by `__exit__` (after the block has stopped them
    in its own orderly way, whatever is left) otherwise. Guardians nest: the tokens accumulate."""

    def __init__(self, grace: float):
        self.grace = grace
        self.token = uuid.uuid4().hex
        self._previous = os.environ.get(TREE_VARIABLE)
        read, self._write = os.pipe()  # not inheritable: only the guardian holds the read end
        subprocess.Popen([sys.executable, "-m", "outscaled.online.lifecycle", str(read), self.token, str(grace)],
                         pass_fds=(read,), stdin=subprocess.DEVNULL, start_new_session=True)
        os.close(read)

    def __enter__(self) -> ProcessTreeGuardian:
        os.environ[TREE_VARIABLE] = f"{self._previous}:{self.token}" if self._previous else self.token
        return self

    def end(self) -> None:
        """End every process of the tree now (SIGTERM, SIGKILL after the grace period)."""
        end_marked(self.token, self.grace)

    def __exit__(self, *exc) -> None:
        if self._previous is None:
            os.environ.pop(TREE_VARIABLE, None)
        else:
            os.environ[TREE_VARIABLE] = self._previous
        try:
            self.end()
        finally:
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

    previous = {s: signal.signal(s, interrupt) for s in STOP_SIGNALS}
    try:
        return process.wait()
    except (Stopped, KeyboardInterrupt):
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        stop()
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _guardian(fd: int, token: str, grace: float) -> None:
    with os.fdopen(fd, "rb") as pipe:
        released = pipe.read()  # returns at end of file: the parent has exited or released the tree
    if not released:
        end_marked(token, grace)


if __name__ == "__main__":
    _guardian(int(sys.argv[1]), sys.argv[2], float(sys.argv[3]))

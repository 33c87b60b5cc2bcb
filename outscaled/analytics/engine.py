"""Loading chdb (the embedded ClickHouse engine) without letting it take over the process's signals.

chdb's engine installs process-wide handlers for SIGSEGV, SIGABRT, SIGILL, SIGBUS, SIGFPE, SIGTSTP, SIGSYS and
SIGTRAP as soon as it is imported. In a Python process they replace `faulthandler` (a crash then prints no
traceback, only "Segmentation fault") and whatever the host set up for itself. Every process that may open the
embedded store loads it through `load_chdb`: chdb is told not to install handlers, the ones its import installed
are reset, the calling thread's signal mask is put back (the import blocks SIGPIPE in it, and every process
started from that thread would inherit the block), and `faulthandler` (when it was on) is switched on again.
Python-level handlers (SIGINT, SIGTERM…) are untouched by these steps.
"""

from __future__ import annotations

import faulthandler
import signal
import sys
import threading

_loaded = False
_lock = threading.Lock()


def load_chdb() -> None:
    """Import chdb with its signal handlers off (idempotent, thread-safe)."""
    global _loaded
    with _lock:
        if _loaded:
            return
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])  # this thread's signal mask, before chdb's import
        import chdb

        engine = chdb._chdb  # the engine's own switches (chdb ≥ 4.4)
        engine.set_signal_handlers_enabled(0)  # before any connection: none installs handlers again
        engine.reset_signal_handlers()  # the ones the import installed go back to SIG_DFL
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # the import blocked SIGPIPE here; children inherit masks
        if faulthandler.is_enabled():  # it was on, and chdb's import replaced its handlers: install them again
            faulthandler.disable()
            faulthandler.enable(file=sys.__stderr__, all_threads=True)
        _loaded = True

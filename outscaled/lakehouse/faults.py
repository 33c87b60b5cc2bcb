"""A fault-injection hook at every commit boundary of a load, for the tests that kill a real ingest.

`OUTSCALED_FAULT_AFTER_COMMIT=<boundary>` makes the process SIGKILL itself right after that commit, as a
crash or an OOM kill would: no `finally`, no flush. Boundaries are the table identifiers
(`bronze.player_games`, …) and `bronze.loads:started` / `bronze.loads:complete`. Unset, it does nothing.
"""

from __future__ import annotations

import os
import signal

FAULT_VARIABLE = "OUTSCALED_FAULT_AFTER_COMMIT"


def commit_boundary(name: str) -> None:
    if os.environ.get(FAULT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)

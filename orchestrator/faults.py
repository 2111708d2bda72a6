"""Fault injection points for crash tests.

``SOPHIA_FAULTS="after_pending=exit,after_lock=sleep:3"`` makes the process exit (as if
killed: no cleanup, exit status 137) or pause at the named point; ``wait:/path`` pauses until
that file exists (at most 120 s), so a test can hold a process at a point deterministically. Unset, a point costs one
dictionary lookup. Points: ``after_lock``, ``after_pending``, ``after_call``, ``after_outcome`` (the outcome is
recorded; an undo's read-back verdict is not yet).
"""

from __future__ import annotations

import os
import time

__all__ = ["fault_point"]


def fault_point(name: str) -> None:
    """Exit or sleep here if ``SOPHIA_FAULTS`` asks for it."""
    spec = os.environ.get("SOPHIA_FAULTS")
    if not spec:
        return
    for item in spec.split(","):
        point, _, action = item.strip().partition("=")
        if point != name:
            continue
        if action == "exit":
            os._exit(137)
        if action.startswith("sleep:"):
            time.sleep(float(action.split(":", 1)[1]))
        if action.startswith("wait:"):
            gate = action.split(":", 1)[1]
            deadline = time.monotonic() + 120
            while not os.path.exists(gate) and time.monotonic() < deadline:
                time.sleep(0.05)

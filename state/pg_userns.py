"""Run a command as an unprivileged user that, outside, is still the caller (root): a user namespace.

PostgreSQL refuses to run as root. Run by root as ``python -I pg_userns.py UID -- CMD ARGS…``,
this script enters a new user namespace in which ``UID`` (``nobody``'s uid) stands for the
caller's uid and gid, becomes ``UID`` there and execs ``CMD``. The server then sees a non-root
effective uid and a data directory owned by itself, while the kernel checks file access as the
outside uid without any capability: the owner's permissions on root's files (so a 0700
``/root/.sophia-iac`` or ``/root/.venv`` is reachable), the "other" permissions everywhere else.

``python -I pg_userns.py UID --probe`` only checks that the namespace can be made. Exit code 97
means the kernel (or a container's seccomp profile) refused it.

Standard library only, and run by path with ``-I``: it needs nothing from the project's import
path, and runs in a fresh single-threaded process (``unshare(CLONE_NEWUSER)`` refuses threads).
"""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWUSER = 0x10000000
#: The exit code for "the kernel refused the user namespace".
UNAVAILABLE = 97


def enter(inner_uid: int) -> None:
    """Enter a new user namespace where ``inner_uid`` maps to the caller, and become ``inner_uid``."""
    outer_uid, outer_gid = os.geteuid(), os.getegid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUSER) != 0:
        err = ctypes.get_errno()
        raise PermissionError(err, f"unshare(CLONE_NEWUSER): {os.strerror(err)}")
    # Mapping our own ids needs setgroups() denied first (user_namespaces(7)).
    for name, text in (("setgroups", "deny"), ("uid_map", f"{inner_uid} {outer_uid} 1"),
                       ("gid_map", f"{inner_uid} {outer_gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    os.setresgid(inner_uid, inner_uid, inner_uid)
    os.setresuid(inner_uid, inner_uid, inner_uid)


def main(argv: list[str]) -> int:
    """``UID --probe`` or ``UID -- CMD ARGS…``."""
    if len(argv) < 2 or argv[1] not in ("--probe", "--") or (argv[1] == "--" and len(argv) < 3):
        print("usage: pg_userns.py UID (--probe | -- CMD [ARGS…])", file=sys.stderr)
        return 2
    try:
        enter(int(argv[0]))
    except OSError as exc:
        print(f"pg_userns: no user namespace: {exc}", file=sys.stderr)
        return UNAVAILABLE
    if argv[1] == "--probe":
        return 0
    try:
        os.execv(argv[2], argv[2:])
    except OSError as exc:
        print(f"pg_userns: can't run {argv[2]}: {exc}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

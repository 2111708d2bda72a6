"""Lease locks: one resource, one writer.

A lock row per ``platform:target`` with a holder, a random token (fencing: only the holder's
token releases it) and an expiry. A lease whose expiry has passed, or whose holder process on
this host is gone, is stale and may be taken over.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from orchestrator.errors import BusyError
from state.models import Lock, utcnow
from state.pg_watchdog import pid_alive

if TYPE_CHECKING:
    from state.store import Store

__all__ = ["Lease", "LockManager", "lock_key"]

HOST = socket.gethostname()


def lock_key(platform: str, target: str | None) -> str:
    """``platform:target`` (targets compare case-insensitively)."""
    return f"{platform}:{(target or '*').lower()}"


@dataclass(frozen=True)
class Lease:
    """Locks held together by one run."""

    keys: tuple[str, ...]
    token: str
    holder: str


class LockManager:
    """Acquire and release leases in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def is_stale(self, lock: Lock) -> bool:
        """Expired, or held by a process on this host that no longer exists."""
        if lock.expires_at <= utcnow():
            return True
        return lock.host == HOST and lock.pid > 0 and not pid_alive(lock.pid)

    def acquire(self, keys: list[str], *, holder: str, run_id: str | None, ttl_seconds: int) -> Lease:
        """Take every lock in ``keys`` or none of them.

        Raises:
            BusyError: naming the holder, its run and when the lease expires.
        """
        token = secrets.token_hex(16)
        taken: list[str] = []
        try:
            for key in sorted(set(keys)):
                self._take(key, token=token, holder=holder, run_id=run_id, ttl_seconds=ttl_seconds)
                taken.append(key)
        except BusyError:
            self._drop(taken, token)
            raise
        return Lease(tuple(taken), token, holder)

    def _take(self, key: str, *, token: str, holder: str, run_id: str | None, ttl_seconds: int) -> None:
        for _attempt in range(2):
            now = utcnow()
            row = Lock(
                key=key, holder=holder, run_id=run_id, token=token, host=HOST, pid=os.getpid(),
                acquired_at=now, expires_at=now + timedelta(seconds=ttl_seconds),
            )
            try:
                with self.store.session() as s:
                    s.add(row)
                return
            except IntegrityError:
                pass
            with self.store.session() as s:
                current = s.get(Lock, key)
                if current is None:
                    continue
                if self.is_stale(current):
                    self._delete(s, key, current.token)
                    continue
                raise BusyError(
                    f"busy, held by {current.holder} (run {current.run_id}) since "
                    f"{current.acquired_at:%Y-%m-%d %H:%M:%S} UTC: {key}",
                    hint=f"wait for that run to finish; the lease expires at {current.expires_at:%H:%M:%S} UTC",
                    details={"key": key, "holder": current.holder, "run_id": current.run_id},
                )
        raise BusyError(f"busy: could not take the lock {key}", hint="try again in a moment", details={"key": key})

    @staticmethod
    def _delete(s: Session, key: str, token: str) -> None:
        s.exec(delete(Lock).where(col(Lock.key) == key, col(Lock.token) == token))  # type: ignore[call-overload]

    def _drop(self, keys: list[str], token: str) -> None:
        with self.store.session() as s:
            for key in keys:
                self._delete(s, key, token)

    def release(self, lease: Lease) -> None:
        """Release a lease (only rows still carrying its token)."""
        self._drop(list(lease.keys), lease.token)

    def held(self) -> list[Lock]:
        """Every lock row, stale or not."""
        with self.store.session() as s:
            return list(s.exec(select(Lock)).all())

    def holder_alive(self, key: str) -> bool:
        """Whether a live, unexpired lease is held on ``key``."""
        with self.store.session() as s:
            current = s.get(Lock, key)
        return current is not None and not self.is_stale(current)

"""Drift without webhooks: compare what each platform shows with the inventory baseline.

Most adapters take no webhooks, so a change made on the platform itself (a console, ``psql``)
would go unseen. A scan lists every resource a platform shows (its ``get_status`` inventory)
and compares it, resource by resource, with the baseline in the inventory table:

* unchanged → nothing (fields only one side has are added quietly: not a change);
* changed, appeared or disappeared, and one of our change records explains it → the
  baseline is refreshed;
* otherwise → drift, recorded through :class:`~orchestrator.drift.DriftDetector` (the same
  path as webhooks: revert derivation, echo check, one open record per resource and state),
  and only then is the baseline moved to what the platform shows.

The first full listing of a platform *is* its baseline (resources that predate us are not
"created out of band"); a marker row (resource type ``~baseline``) records that it was taken.
A platform that can't be listed (unhealthy, not configured) is skipped, never read as
"everything was deleted"; resource types a listing does not include are left alone.

Scans run on demand (``sophia-iac drift scan``), from ``status`` (which records what it sees
the same way), and every ``SOPHIA_DRIFT_SCAN_SECONDS`` in the webhook worker
(:class:`ScanSchedule`). Concurrent scans of one platform are serialised by a lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.base import ObservedChange
from orchestrator.drift import _VOLATILE, DriftDetector
from orchestrator.errors import BusyError, SophiaError
from state.inbox import Inbox
from state.models import Drift, InventoryItem, utcnow

if TYPE_CHECKING:
    from adapters.base import PlatformAdapter
    from orchestrator.deps import AdapterPool
    from state.store import Store

__all__ = ["BASELINE_TYPE", "ScanReport", "ScanSchedule", "baseline_platforms", "record_listing", "scan"]

log = logging.getLogger(__name__)

#: The inventory row that says a platform's baseline was taken from a full listing.
BASELINE_TYPE = "~baseline"

#: How long one platform's scan may hold its lease.
LEASE_SECONDS = 300

Notify = Callable[[Drift], Awaitable[Any]]


@dataclass
class ScanReport:
    """What one platform's scan found."""

    platform: str
    compared: int = 0
    refreshed: int = 0
    baseline_taken: bool = False
    drift: list[Drift] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (drift in full, as the drift listing shows it)."""
        from orchestrator.drift_revert import drift_view

        return {"platform": self.platform, "compared": self.compared, "refreshed": self.refreshed,
                "baseline_taken": self.baseline_taken, "drift": [drift_view(d) for d in self.drift],
                "error": self.error}


def _differs(before: dict[str, Any] | None, now: dict[str, Any] | None) -> bool:
    """Existence differs, or a field both sides have (and that is not volatile) differs."""
    if before is None or now is None:
        return (before is None) != (now is None)
    return any(before[k] != now[k] for k in (set(before) & set(now)) - _VOLATILE)


def _baseline(store: Store, platform: str) -> tuple[dict[tuple[str, str], InventoryItem], bool]:
    """The platform's inventory rows by (type, lower-cased name), and whether a baseline was taken."""
    from sqlmodel import select

    with store.session() as s:
        rows = s.exec(select(InventoryItem).where(InventoryItem.platform == platform)).all()
    taken = any(r.resource_type == BASELINE_TYPE for r in rows)
    return {(r.resource_type, r.name.lower()): r for r in rows if r.resource_type != BASELINE_TYPE}, taken


def baseline_platforms(store: Store) -> list[str]:
    """Platforms with anything in the inventory (what a scan without names covers).

    A platform's last ``status`` check alone (its ``~status`` row) doesn't count: an unconfigured
    platform checked once is not one to scan.
    """
    from sqlmodel import select

    from orchestrator.readonly import STATUS_TYPE

    with store.session() as s:
        return sorted(set(s.exec(select(InventoryItem.platform).where(InventoryItem.resource_type != STATUS_TYPE)
                                 ).all()))


def record_listing(store: Store, adapter: PlatformAdapter, inventory: Mapping[str, Sequence[Mapping[str, Any]]]
                   ) -> ScanReport:
    """Compare a full listing (``{type: [state, …]}``) with the baseline; record drift, then refresh it."""
    platform = adapter.name
    report = ScanReport(platform)
    try:
        lease = store.locks.acquire([f"{platform}:~drift-scan"], holder="drift-scan", run_id=None,
                                    ttl_seconds=LEASE_SECONDS)
    except BusyError:
        report.error = "another scan of this platform is running"
        return report
    try:
        _compare(store, adapter, inventory, report)
    finally:
        store.locks.release(lease)
    return report


def _compare(store: Store, adapter: PlatformAdapter, inventory: Mapping[str, Sequence[Mapping[str, Any]]],
             report: ScanReport) -> None:
    platform = adapter.name
    known, taken = _baseline(store, platform)
    detector = DriftDetector(store, Inbox(store))
    changes: list[ObservedChange] = []
    since: dict[str, datetime] = {}
    for resource_type, items in inventory.items():
        shown = {str(item["name"]).lower(): dict(item) for item in items if item.get("name") is not None}
        names = set(shown) | {name for (rtype, name) in known if rtype == resource_type}
        for name in sorted(names):
            row, now = known.get((resource_type, name)), shown.get(name)
            before = dict(row.attributes or {"name": row.name}) if row else None
            report.compared += 1
            if row is None and not taken:
                store.upsert_inventory_item(platform, resource_type, str(now["name"]) if now else name, now)
                report.refreshed += 1
                continue
            if not _differs(before, now):
                if now is not None and before != now:
                    store.upsert_inventory_item(platform, resource_type, row.name if row else name, now)
                continue
            label = row.name if row else str((now or {}).get("name", name))
            verb = "created" if before is None else "deleted" if now is None else "updated"
            changes.append(ObservedChange(resource_type, label, now, verb=verb, actor=None))
            if row is not None:
                since[label] = row.refreshed_at
    if changes:
        report.drift = detector.apply(adapter, changes, inbox_id=None, since=since)
        report.refreshed += len(changes) - len(report.drift)
    if not taken:
        store.upsert_inventory_item(platform, BASELINE_TYPE, "~", {"taken_at": utcnow().isoformat()})
        report.baseline_taken = True


async def _scan_one(store: Store, adapters: AdapterPool, platform: str) -> ScanReport:
    try:
        adapter = adapters.get(platform)
        if not adapter.read_back:  # its status lists what sophia recorded: comparing that with itself proves nothing
            return ScanReport(platform, error=f"not scanned: {platform} has no read-back, so there is nothing to compare")
        status = await adapter.get_status()
    except SophiaError as exc:
        return ScanReport(platform, error=f"{exc.code}: {exc}")
    if not status.healthy:
        return ScanReport(platform, error=f"not scanned: {status.message or 'unhealthy'}")
    try:
        return await asyncio.to_thread(record_listing, store, adapter, status.inventory)
    except Exception as exc:
        log.exception("drift scan of %s failed", platform)
        return ScanReport(platform, error=f"{type(exc).__name__}: {exc}")


async def scan(store: Store, adapters: AdapterPool, platforms: Sequence[str] | None = None,
               notify: Notify | None = None) -> list[ScanReport]:
    """Scan the named platforms (default: every platform in the inventory); notify new drift."""
    names = list(platforms) if platforms else await asyncio.to_thread(baseline_platforms, store)
    reports = [await _scan_one(store, adapters, name) for name in names]
    for report in reports:
        for drift in report.drift:
            if notify is not None:
                await notify(drift)
    return reports


class ScanSchedule:
    """Runs :func:`scan` in the background every ``seconds`` (0 = never); the worker calls :meth:`start`."""

    def __init__(self, store: Store, adapters: AdapterPool, *, seconds: float, notify: Notify | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.adapters, self.seconds, self.notify, self.clock = store, adapters, seconds, notify, clock
        self._last: float | None = None
        self._task: asyncio.Task[list[ScanReport]] | None = None

    @classmethod
    def for_worker(cls, worker: Any) -> ScanSchedule:
        """The schedule for an inbox worker (``SOPHIA_DRIFT_SCAN_SECONDS``, its store, adapters, notifier)."""
        seconds = float(getattr(worker.adapters.settings, "drift_scan_seconds", 0) or 0)
        return cls(worker.store, worker.adapters, seconds=seconds, notify=worker._notify)

    def start(self) -> asyncio.Task[list[ScanReport]] | None:
        """Start a scan if one is due and none is running; returns its task (None when nothing started)."""
        if self.seconds <= 0 or (self._task is not None and not self._task.done()):
            return None
        now = self.clock()
        if self._last is not None and now - self._last < self.seconds:
            return None
        self._last = now
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self._task

    async def _run(self) -> list[ScanReport]:
        try:
            reports = await scan(self.store, self.adapters, notify=self.notify)
        except Exception:
            log.exception("scheduled drift scan failed")
            return []
        for report in reports:
            if report.drift or report.error:
                log.info("drift scan %s: %d drift, %s", report.platform, len(report.drift), report.error or "ok")
        return reports

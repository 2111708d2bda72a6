"""Quick read-only answers for the CLI, straight from the state file (no SQLAlchemy, no LangGraph).

``history``, ``runs``, ``approvals`` and a cached ``status`` are asked dozens of times a day;
starting the service for them costs more than the answer. Each function here returns exactly
what the matching :class:`~orchestrator.service.OrchestratorService` method returns, read with
:class:`state.reader.StateReader`. :func:`open_reader` says whether the quick path may answer:
the state is an existing SQLite file at the head revision, and a starting service would have
nothing to reconcile first. Otherwise the CLI starts the service, as before.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.errors import NotFoundError

if TYPE_CHECKING:
    from orchestrator.config import Settings
    from state.reader import StateReader

__all__ = ["STATUS_TYPE", "approvals", "cached_status", "history", "open_reader", "runs", "view"]

#: The inventory bookkeeping row that keeps a platform's last health check (``status``).
STATUS_TYPE = "~status"


def open_reader(settings: Settings | str) -> StateReader | None:
    """A reader when the quick path may answer, else None (start the service instead).

    ``settings`` may be the state URL itself (the fast path reads it without ``Settings``).
    """
    from state.reader import StateReader

    reader = StateReader.open(settings if isinstance(settings, str) else settings.state_url)
    if reader is not None and reader.unsettled():
        reader.close()
        return None
    return reader


def history(reader: StateReader, *, platform: str | None = None, target: str | None = None,
            since: str | None = None, limit: int = 50, status: str | None = None,
            before: str | None = None) -> list[dict[str, Any]]:
    """As :meth:`OrchestratorService.history`: recorded changes, newest first (older than ``before``)."""
    from orchestrator.since import parse_since

    try:
        return reader.changes(platform=platform, target=target, status=status,
                              since=parse_since(since) if since else None, limit=limit, before=before)
    except LookupError:
        raise NotFoundError(f"no change {before}", hint="page on from a change id `history` listed") from None


def runs(reader: StateReader, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """As :meth:`OrchestratorService.runs`: recent runs, newest first."""
    return reader.runs(status=status, limit=limit)


def view(reader: StateReader, run_id: str) -> dict[str, Any]:
    """As :meth:`OrchestratorService.view`: a run with its change records and approval answers."""
    data = reader.run(run_id)
    if data is None:
        raise NotFoundError(f"no run {run_id}", hint="list runs with `sophia-iac history`")
    data["run_id"] = data.pop("id")
    data["changes"] = list(reversed(reader.changes(run_id=run_id, limit=500)))
    return data | {"approvals": reader.answers(run_id)}


def approvals(reader: StateReader) -> list[dict[str, Any]]:
    """As :meth:`OrchestratorService.approvals`: runs awaiting approval, with expiry."""
    now = datetime.now(UTC)
    out = []
    for run in reader.runs(status="awaiting_approval", limit=500):
        ask = dict((run["result"] or {}).get("awaiting") or {})
        expires = ask.get("expires_at")
        ask["expired"] = bool(expires) and datetime.fromisoformat(str(expires)) <= now
        created = datetime.fromisoformat(run["created_at"]).isoformat()
        out.append(ask | {"run_id": run["id"], "text": run["text"], "created_at": created})
    return out


def cached_status(reader: StateReader, platform: str | None, known: list[str]) -> list[dict[str, Any]] | None:
    """Each platform as its last check saw it, with the inventory as our changes and scans left it.

    Like :meth:`OrchestratorService.status`, plus ``cached: true`` and ``inventory_as_of`` (the
    newest inventory row's time); ``checked_at`` is the last check's time. A platform never
    checked has ``healthy: null``. None when nothing is cached for what was asked (the named
    platform, or any platform at all): then only a live check can answer.
    """
    rows = reader.inventory(platform)
    checks = {r["platform"]: r["attributes"] or {} for r in rows if r["resource_type"] == STATUS_TYPE}
    if not checks:
        return None
    out = []
    for name in [platform] if platform else known:
        items = [r for r in rows if r["platform"] == name and not r["resource_type"].startswith("~")]
        inventory: dict[str, list[dict[str, Any]]] = {}
        for row in items:
            inventory.setdefault(row["resource_type"], []).append({"name": row["name"]} | (row["attributes"] or {}))
        check = checks.get(name) or {"platform": name, "healthy": None, "configured": None,
                                     "message": "not checked yet", "details": {}, "checked_at": None, "drift": []}
        out.append(check | {"platform": name, "inventory": inventory, "cached": True,
                            "inventory_as_of": max((r["refreshed_at"] for r in items), default=None,
                                                       key=datetime.fromisoformat)})
    return out

"""Read-only answers shared by the graph and the surfaces: status, history, help."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from orchestrator.errors import SophiaError
from orchestrator.tracing import adapter_span

if TYPE_CHECKING:
    from orchestrator.deps import Deps

__all__ = ["help_text", "history", "platform_status"]


async def _one_status(deps: Deps, platform: str) -> dict[str, Any]:
    try:
        adapter = deps.adapters.get(platform)
        with adapter_span("get_status", platform) as current:
            status = await adapter.get_status()
            if current is not None and not status.healthy:
                current.set_attribute("sophia.outcome", "unhealthy")
    except SophiaError as exc:
        data = {"platform": platform, "healthy": False, "configured": False, "message": str(exc), "inventory": {},
                "drift": []}
        await asyncio.to_thread(_keep_check, deps, data)
        return data
    drift: list[str] = []
    if status.healthy and status.inventory:
        # What status sees goes through the drift scan: a difference nobody recorded is drift
        # first, and only then the new baseline (never a silent overwrite).
        from orchestrator.drift_scan import record_listing

        report = await asyncio.to_thread(record_listing, deps.store, adapter, status.inventory)
        drift = [d.id for d in report.drift]
    data = asdict(status)
    data["drift"] = drift
    data["checked_at"] = status.checked_at.isoformat()
    await asyncio.to_thread(_keep_check, deps, data)
    return data


def _keep_check(deps: Deps, data: dict[str, Any]) -> None:
    """Keep this check (all but the inventory, which has its own rows) for the CLI's cached ``status``."""
    from datetime import UTC, datetime

    from orchestrator.readonly import STATUS_TYPE

    check = {k: v for k, v in data.items() if k != "inventory"}
    check.setdefault("details", {})
    check.setdefault("checked_at", datetime.now(UTC).isoformat())
    deps.store.upsert_inventory_item(data["platform"], STATUS_TYPE, "~", json.loads(json.dumps(check, default=str)))


async def platform_status(deps: Deps, platform: str | None) -> list[dict[str, Any]]:
    """Health and inventory of one platform, or of every installed one (refreshes the inventory)."""
    from adapters.registry import adapter_class, known_platforms

    if platform:
        adapter_class(platform)  # unknown platform → NotFoundError naming the known ones
    names = [platform] if platform else known_platforms()
    return list(await asyncio.gather(*(_one_status(deps, name) for name in names)))


def history(
    deps: Deps, *, platform: str | None = None, target: str | None = None, since: str | None = None, limit: int = 50,
    status: str | None = None, before: str | None = None,
) -> list[dict[str, Any]]:
    """Recorded changes, newest first (only those older than the change ``before``: the next page)."""
    from orchestrator.since import parse_since

    changes = deps.store.ledger.list(
        platform=platform, target=target, since=parse_since(since) if since else None, limit=limit, status=status,
        before=before,
    )
    return [c.model_dump(mode="json", exclude={"prev_hash", "hash"}) for c in changes]


def help_text(topic: str | None = None) -> str:
    """What you can say, with examples from the catalog."""
    from adapters.registry import all_specs

    specs = [s for s in all_specs() if topic is None or s.platform == topic]
    lines = ["Say what you want changed, e.g.:"]
    lines += [f"  {s.examples[0]!r}  → {s.id}" for s in specs[:12] if s.examples]
    lines += ["Built-ins: status [platform], history, undo [change id | the last change to X | everything on X since T],",
              "approve RUN_ID, reject RUN_ID, help [platform]. `sophia-iac actions` lists every action."]
    return "\n".join(lines)

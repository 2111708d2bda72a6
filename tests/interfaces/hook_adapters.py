"""Adapters with ``handle_webhook``, registered only in these tests.

The vendors' own adapters are being written on other branches, so the webhook path is tested
with these (said here so nobody mistakes them for product code):

* :class:`HookedPgVector` — the real pgvector adapter plus a webhook that reports index
  state. Signed like GitHub (HMAC-SHA256 over the body), secret ``SOPHIA_PGVECTOR_WEBHOOK_SECRET``.
  Drift tests change a real index out of band and revert it through the real pipeline.
* :class:`VendorHook` subclasses named ``github`` / ``vercel`` / ``linear`` — verify with the
  shared verifiers (:mod:`adapters.webhooks`) exactly as a vendor adapter would, and report
  ``{"resource": {"type", "name", "state"}}`` from the body as an observed change. A body
  ``{"fail": N}`` makes the handler raise for the first N attempts (DLQ tests), ``{"sleep": S}``
  makes it wait S seconds (``"sleep_once": true``: on the first attempt only); every call
  is appended to ``$SOPHIA_HOME/hook_calls.log`` or, on PostgreSQL, the ``hook_calls`` table.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, ClassVar

from adapters.ai.pgvector import PgVectorAdapter
from adapters.base import (
    ObservedChange,
    PlatformAdapter,
    PlatformStatus,
    State,
    WebhookRequest,
    WebhookResult,
)
from adapters.catalog import ActionCall, Stack
from adapters.credentials import webhook_secret
from adapters.webhooks import VerifiedWebhook, verify, verify_github

__all__ = ["HookedPgVector", "VendorHook", "install", "record_call"]

REGISTRY = {
    "pgvector": "tests.interfaces.hook_adapters:HookedPgVector",
    "github": "tests.interfaces.hook_adapters:GitHubHook",
    "vercel": "tests.interfaces.hook_adapters:VercelHook",
    "linear": "tests.interfaces.hook_adapters:LinearHook",
}


def install() -> None:
    """Register the test adapters (also used by subprocess workers)."""
    from adapters import registry

    registry.BUILTIN.update(REGISTRY)
    registry._table.cache_clear()


def record_call(platform: str, delivery_id: str) -> int:
    """Append one handler call; returns how many calls this delivery has had (this one included)."""
    url = os.environ.get("HOOK_CALLS_PG")
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS hook_calls (platform text, delivery_id text, pid int)")
            conn.execute("INSERT INTO hook_calls VALUES (%s, %s, %s)", (platform, delivery_id, os.getpid()))
            row = conn.execute("SELECT count(*) FROM hook_calls WHERE platform = %s AND delivery_id = %s",
                               (platform, delivery_id)).fetchone()
            return int(row[0]) if row else 0
    log = Path(os.environ["SOPHIA_HOME"]) / "hook_calls.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as fh:
        fh.write(json.dumps([platform, delivery_id]) + "\n")
    return sum(1 for line in log.read_text().splitlines() if json.loads(line) == [platform, delivery_id])


class HookedPgVector(PgVectorAdapter):
    """pgvector with a GitHub-signed webhook reporting ``{"index": {...state}}`` or a deletion."""

    supports_webhooks: ClassVar[bool] = True

    @classmethod
    def verify_webhook(cls, request: WebhookRequest) -> VerifiedWebhook:
        verified = verify_github(request, webhook_secret("pgvector"))
        return VerifiedWebhook("pgvector", verified.delivery_id, verified.event_type, verified.payload)

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        hook = self.verify_webhook(request)
        record_call("pgvector", hook.delivery_id)
        index = hook.payload.get("index") or {}
        name = str(index.get("name", ""))
        state: State = None if hook.payload.get("deleted") else dict(index)
        verb = "deleted" if state is None else str(hook.payload.get("action", "updated"))
        actor = (hook.payload.get("sender") or {}).get("login")
        return WebhookResult("pgvector", hook.delivery_id, hook.event_type,
                             [ObservedChange("index", name, state, verb=verb, actor=actor)],
                             summary=f"index {name} {verb}")


class VendorHook(PlatformAdapter):
    """A webhook-only adapter for one vendor's signing scheme (no actions)."""

    name: ClassVar[str] = "vendor"
    stack: ClassVar[Stack] = Stack.DEV
    supports_webhooks: ClassVar[bool] = True

    def predict(self, call: ActionCall, before: State) -> State:
        return None

    async def get_status(self) -> PlatformStatus:
        return PlatformStatus(self.name, healthy=True)

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        # Freshness is judged against arrival: the inbox may process a delivery later.
        hook = verify(self.name, request, webhook_secret(self.name), now=request.received_at.timestamp())
        calls = record_call(self.name, hook.delivery_id)
        delay = float(hook.payload.get("sleep", 0))
        if hook.payload.get("sleep_once") and calls > 1:  # only the first attempt is slow
            delay = 0.0
        if delay:
            await asyncio.sleep(delay)
        if calls <= int(hook.payload.get("fail", 0)):
            raise RuntimeError(f"handler failure {calls} for {hook.delivery_id}")
        resource: dict[str, Any] = hook.payload.get("resource") or {}
        changes = []
        if resource.get("name"):
            changes.append(ObservedChange(str(resource.get("type", "item")), str(resource["name"]),
                                          resource.get("state"), verb=str(resource.get("verb", "updated"))))
        return WebhookResult(self.name, hook.delivery_id, hook.event_type, changes,
                             summary=f"{hook.event_type}: {len(changes)} change(s)")


class GitHubHook(VendorHook):
    name: ClassVar[str] = "github"


class VercelHook(VendorHook):
    name: ClassVar[str] = "vercel"


class LinearHook(VendorHook):
    name: ClassVar[str] = "linear"

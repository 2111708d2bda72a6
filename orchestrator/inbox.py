"""Webhook ingestion: verify → store once → acknowledge; workers process the inbox later.

:func:`ingest` is the whole synchronous part of ``POST /webhooks/{platform}``: the sender's
signature (and freshness, where it signs a time) is checked on the raw bytes, then the
delivery is inserted into the inbox keyed by ``(platform, delivery_id)``. A duplicate
changes nothing. Only then does the edge answer 2xx. This is the one dedup layer: ids live in
the database, not in process memory, so a retry that lands on another process (or after a
restart) is still recognised (RELIABILITY.md §2.4); adapters don't keep their own.

:class:`InboxWorker` claims rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
worker processes share the inbox; a single loop on SQLite), calls the adapter's
``handle_webhook`` with the request exactly as received (including when it was received, so
freshness is judged against arrival, not processing), applies the reported changes to the
inventory, records drift and tells Slack. A handler that keeps failing is retried with
exponential backoff and moved to the dead letters after ``max_attempts``.

Webhook payloads are data: nothing here hands their text to a parser or the pipeline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from adapters.base import WebhookRejectedError, WebhookRequest
from orchestrator.errors import ConfigError, NotFoundError, SophiaError
from state.inbox import Inbox

if TYPE_CHECKING:
    from adapters.webhooks import VerifiedWebhook
    from orchestrator.deps import AdapterPool
    from state.models import Drift, InboxEvent
    from state.store import Store

__all__ = [
    "MAX_BODY_BYTES",
    "DriftNotifier",
    "InboxWorker",
    "Ingested",
    "WorkerConfig",
    "ingest",
    "run_worker_thread",
    "verify_delivery",
]

log = logging.getLogger(__name__)

#: Larger bodies are refused before verification (no sender we accept comes close).
MAX_BODY_BYTES = 5 * 1024 * 1024


class DriftNotifier(Protocol):
    """Something that tells people about drift (the Slack app implements it)."""

    async def notify_drift(self, drift: Drift) -> bool:
        """Post the drift; True if it was delivered."""
        ...


@dataclass(frozen=True)
class Ingested:
    """The outcome of one delivery at the edge."""

    platform: str
    delivery_id: str
    event_type: str
    inbox_id: int | None
    duplicate: bool


def verify_delivery(platform: str, request: WebhookRequest) -> VerifiedWebhook:
    """Check a delivery with the platform's scheme.

    An adapter class may define ``verify_webhook(request) -> VerifiedWebhook`` (a classmethod
    or staticmethod) for senders :mod:`adapters.webhooks` has no verifier for; otherwise the
    shared verifier for ``platform`` runs with its one webhook-secret setting
    (:func:`adapters.credentials.webhook_secret_ref`), the setting its ``handle_webhook``
    reads in the worker too.

    Raises:
        NotFoundError: unknown platform, one that accepts no webhooks, or one whose webhook
            secret is not configured here.
        WebhookRejectedError: bad, missing or stale signature.
    """
    from adapters.registry import adapter_class

    cls = adapter_class(platform)
    if not cls.supports_webhooks:
        raise NotFoundError(f"{platform} does not accept webhooks",
                            hint="check the webhook URL's platform name")
    custom = getattr(cls, "verify_webhook", None)
    from adapters.credentials import webhook_secret, webhook_secret_ref
    from adapters.webhooks import VERIFIERS, verify

    if not callable(custom) and platform not in VERIFIERS:
        raise NotFoundError(f"no webhook verifier for {platform}",
                            hint=f"webhooks are verified for: {', '.join(sorted(VERIFIERS))}")
    try:
        if callable(custom):
            verified: VerifiedWebhook = custom(request)
            return verified
        return verify(platform, request, webhook_secret(platform))
    except ConfigError as exc:
        # No secret here: this server does not take the platform's webhooks (and says how to).
        raise NotFoundError(f"{platform} webhooks are not configured on this server",
                            hint=exc.hint or f"set {webhook_secret_ref(platform).env_var}") from exc


def ingest(inbox: Inbox, platform: str, request: WebhookRequest) -> Ingested:
    """Verify and store one delivery (the synchronous part of the webhook endpoint).

    The stored body is the verifier's ``stored_body`` when it gives one (a body with its
    credential replaced, e.g. Figma's passcode), else the raw bytes.
    """
    if len(request.body) > MAX_BODY_BYTES:
        raise WebhookRejectedError(f"{platform} webhook rejected: body larger than {MAX_BODY_BYTES} bytes",
                                   hint="deliveries this large are not accepted")
    verified = verify_delivery(platform, request)
    body = request.body if verified.stored_body is None else verified.stored_body
    inbox_id, new = inbox.add(platform, verified.delivery_id, verified.event_type, dict(request.headers),
                              body, received_at=request.received_at)
    return Ingested(platform, verified.delivery_id, verified.event_type, inbox_id, not new)


@dataclass
class WorkerConfig:
    """How the inbox worker claims, retries and gives up."""

    max_attempts: int = 5
    backoff_seconds: float = 5.0
    lease_seconds: float = 300.0
    batch: int = 10
    poll_seconds: float = 1.0
    prune_every_seconds: float = 3600.0
    #: How often the worker settles ``pending``/``needs_reconcile`` changes by read-back (0: never),
    #: when the adapters' settings don't say (``SOPHIA_RECONCILE_SECONDS``).
    reconcile_every_seconds: float = 300.0

    @classmethod
    def from_settings(cls, settings: Any) -> WorkerConfig:
        """The lease and poll interval from ``SOPHIA_WEBHOOK_LEASE_SECONDS`` / ``SOPHIA_WEBHOOK_POLL_SECONDS``."""
        return cls(lease_seconds=float(getattr(settings, "webhook_lease_seconds", cls.lease_seconds)),
                   poll_seconds=float(getattr(settings, "webhook_poll_seconds", cls.poll_seconds)))


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class InboxWorker:
    """Claims inbox rows and processes them through the adapters' ``handle_webhook``."""

    store: Store
    adapters: AdapterPool
    notifier: DriftNotifier | None = None
    config: WorkerConfig = field(default_factory=WorkerConfig)
    name: str = field(default_factory=_worker_name)

    def __post_init__(self) -> None:
        from orchestrator.drift import DriftDetector

        self.inbox = Inbox(self.store)
        self.detector = DriftDetector(self.store, self.inbox)
        self.processed = 0
        self.failed = 0

    async def process(self, event: InboxEvent) -> tuple[str, list[Drift]]:
        """Handle one event: adapter → inventory → drift; returns a summary and the new drift."""
        from orchestrator.logs import bind
        from orchestrator.tracing import adapter_span, span

        attributes = {"sophia.platform": event.platform, "sophia.webhook.delivery_id": event.delivery_id,
                      "sophia.webhook.event_type": event.event_type, "sophia.webhook.inbox_id": event.id,
                      "sophia.webhook.attempt": event.attempts}
        with bind(delivery_id=event.delivery_id), span("webhook.process", attributes) as current:
            adapter = self.adapters.get(event.platform)
            request = WebhookRequest(headers=dict(event.headers or {}), body=event.body,
                                     path=f"/webhooks/{event.platform}", received_at=event.received_at)
            with adapter_span("handle_webhook", event.platform):
                result = await adapter.handle_webhook(request)
            drift = await asyncio.to_thread(self.detector.apply, adapter, list(result.changes), inbox_id=event.id)
            for item in drift:
                await self._notify(item)
            summary = result.summary or f"{result.event_type}: {len(result.changes)} change(s)"
            if drift:
                summary += f"; drift: {', '.join(d.id for d in drift)}"
            if current is not None:
                current.set_attribute("sophia.webhook.changes", len(result.changes))
                current.set_attribute("sophia.webhook.drift", len(drift))
            log.info("webhook %s/%s processed: %s", event.platform, event.delivery_id, summary)
        return summary, drift

    async def _notify(self, drift: Drift) -> None:
        if self.notifier is None:
            return
        try:
            if await self.notifier.notify_drift(drift):
                self.inbox.update_drift(drift.id, notified=True)
        except Exception:
            log.exception("could not post drift %s", drift.id)

    async def run_once(self) -> int:
        """Claim one batch and process it; returns how many events were claimed."""
        events = await asyncio.to_thread(self.inbox.claim, self.name, limit=self.config.batch,
                                         lease_seconds=self.config.lease_seconds)
        for event in events:
            assert event.id is not None
            try:
                summary, _ = await self.process(event)
            except WebhookRejectedError as exc:
                # Verification will not start passing on a retry: dead-letter now.
                await asyncio.to_thread(self.inbox.fail, event.id, self.name, f"{exc.code}: {exc}",
                                        max_attempts=0, backoff=0)
                self.failed += 1
            except Exception as exc:  # noqa: BLE001 - recorded on the row, retried, then dead-lettered
                from adapters.credentials import scrub

                error = scrub(f"{type(exc).__name__}: {exc}")
                outcome = await asyncio.to_thread(self.inbox.fail, event.id, self.name, error,
                                                  max_attempts=self.config.max_attempts,
                                                  backoff=self.config.backoff_seconds)
                log.warning("webhook %s/%s attempt %s failed (%s): %s", event.platform, event.delivery_id,
                            event.attempts, outcome, error)
                self.failed += 1
            else:
                await asyncio.to_thread(self.inbox.complete, event.id, self.name, summary)
                self.processed += 1
        return len(events)

    async def drain(self) -> int:
        """Process until nothing is due; returns how many events were claimed in all."""
        total = 0
        while n := await self.run_once():
            total += n
        return total

    async def run(self, stop: threading.Event | asyncio.Event) -> None:
        """Poll until ``stop`` is set; prunes old rows now and then."""
        from orchestrator.drift_scan import ScanSchedule

        loop = asyncio.get_running_loop()
        last_prune = last_reconcile = float("-inf")  # both due at once, however long the machine has been up
        scans = ScanSchedule.for_worker(self)  # drift on platforms that send no webhooks
        while not stop.is_set():
            try:
                scans.start()
                if loop.time() - last_prune > self.config.prune_every_seconds:
                    last_prune = loop.time()
                    await asyncio.to_thread(self._prune)
                every = float(getattr(self.adapters.settings, "reconcile_seconds", self.config.reconcile_every_seconds))
                if every > 0 and loop.time() - last_reconcile > every:
                    last_reconcile = loop.time()
                    await self.reconcile()
                if await self.run_once():
                    continue
            except SophiaError as exc:  # store unavailable and the like: wait and try again
                log.warning("inbox worker: %s", exc)
            await asyncio.sleep(self.config.poll_seconds)

    async def reconcile(self) -> list[dict[str, object]]:
        """Settle changes whose outcome is unknown, by read-back (see :mod:`orchestrator.reconcile`)."""
        from orchestrator.reconcile import reconcile_store

        try:
            settled = await reconcile_store(self.store, self.adapters)
        except Exception:
            log.exception("reconcile pass failed")
            return []
        for row in settled:
            log.info("reconciled %s: %s", row["change_id"], row["status"])
        return settled

    def _prune(self) -> None:
        from state.idempotency import IdempotencyStore

        self.inbox.prune()
        IdempotencyStore(self.store).prune()

    async def replay(self, dead_id: int, actor: str) -> tuple[bool, str]:
        """Reprocess a dead letter once (a second replay is refused)."""
        event = await asyncio.to_thread(self.inbox.claim_replay, dead_id, actor)
        try:
            summary, _ = await self.process(event)
        except Exception as exc:  # noqa: BLE001 - the outcome is recorded and reported
            from adapters.credentials import scrub

            error = scrub(f"{type(exc).__name__}: {exc}")
            await asyncio.to_thread(self.inbox.finish_replay, dead_id, False, error)
            await asyncio.to_thread(self.inbox.mark_replayed, event.id or 0, False, error)
            return False, error
        await asyncio.to_thread(self.inbox.finish_replay, dead_id, True)
        await asyncio.to_thread(self.inbox.mark_replayed, event.id or 0, True, summary)
        return True, summary


def run_worker_thread(store: Store, settings: Any, notifier: DriftNotifier | None = None,
                      config: WorkerConfig | None = None) -> tuple[threading.Thread, threading.Event]:
    """Start an inbox worker on its own thread and loop (``serve`` runs one); returns (thread, stop)."""
    from orchestrator.deps import AdapterPool

    stop = threading.Event()

    def main() -> None:
        async def body() -> None:
            pool = AdapterPool(settings)
            worker = InboxWorker(store, pool, notifier=notifier, config=config or WorkerConfig.from_settings(settings))
            try:
                await worker.run(stop)
            finally:
                await pool.aclose()

        asyncio.run(body())

    thread = threading.Thread(target=main, name="sophia-inbox-worker", daemon=True)
    thread.start()
    return thread, stop


"""``POST /webhooks/{platform}``: verify, store once, answer fast. Workers do the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.base import WebhookRejectedError, WebhookRequest
from orchestrator.errors import SophiaError
from orchestrator.interfaces.routes.common import _problem_doc, ctx
from orchestrator.interfaces.schemas import WebhookAck
from orchestrator.tracing import span
from state.inbox import Inbox

__all__ = ["fast_route", "router"]

router = APIRouter(tags=["webhooks"])

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The delivery exactly as the platform sends it (signed over these bytes).",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post(
    "/webhooks/{platform}", response_model=WebhookAck, operation_id="receiveWebhook",
    summary="Receive a platform webhook (signature-checked, deduplicated, stored before the answer)",
    openapi_extra=_BODY_DOC,
    responses={401: _problem_doc("Missing, bad or stale signature (code `webhook_rejected`)."),
               404: _problem_doc("Unknown platform, one that sends no webhooks, or one whose webhook secret "
                                 "is not configured here."),
               413: _problem_doc("Body too large."),
               503: _problem_doc("The inbox is unreachable; the sender should retry.")},
)
async def receive_webhook(request: Request, platform: str = Path(min_length=1, max_length=60)) -> Response:
    """Verify the delivery with the platform's scheme, store it once, answer 200.

    A delivery id seen before answers 200 with ``status: duplicate`` and does nothing.
    The payload is data: it is never read as a command. The time of receipt is kept with it:
    signed timestamps are judged against it, however late the inbox worker gets to it.
    """
    from orchestrator.inbox import MAX_BODY_BYTES, ingest

    received_at = datetime.now(UTC)
    context = ctx(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise WebhookRejectedError("webhook body too large", hint="deliveries this large are not accepted")
    body = await request.body()
    hook = WebhookRequest(headers={k.lower(): v for k, v in request.headers.items()}, body=body,
                          path=request.url.path, received_at=received_at)
    with span("webhook.receive", {"sophia.platform": platform, "http.request.method": "POST",
                                  "http.route": "/webhooks/{platform}"}) as current:
        try:
            result = await run_in_threadpool(ingest, Inbox(context.store), platform, hook)
        except SophiaError as exc:
            context.metrics.webhooks.labels(platform if exc.code != "not_found" else "unknown", exc.code).inc()
            _note(current, verified=False, outcome=exc.code, status=exc.http_status)
            raise
        outcome = "duplicate" if result.duplicate else "accepted"
        context.metrics.webhooks.labels(platform, outcome).inc()
        _note(current, verified=True, outcome=outcome, status=200, delivery_id=result.delivery_id,
              event_type=result.event_type)
    return JSONResponse({"status": outcome, "platform": platform, "delivery_id": result.delivery_id})


def fast_route() -> Any:
    """The same endpoint as a plain Starlette route, put in front of the app's router.

    FastAPI's route matching over every route and its dependency solving cost more CPU than
    verifying and storing a delivery; webhooks are the hot path. The FastAPI route above
    stays for the OpenAPI document (and answers only if this one is not mounted).
    """
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        platform = request.path_params["platform"]
        if not 1 <= len(platform) <= 60:
            from orchestrator.errors import NotFoundError

            raise NotFoundError(f"unknown platform {platform[:60]!r}", hint="see `GET /v1/status` for platforms")
        return await receive_webhook(request, platform)

    return Route("/webhooks/{platform}", endpoint, methods=["POST"], include_in_schema=False)


def _note(current: Any, *, verified: bool, outcome: str, status: int, delivery_id: str | None = None,
          event_type: str | None = None) -> None:
    """The delivery's verdict on its span (a no-op when tracing is off)."""
    if current is None:
        return
    current.set_attribute("sophia.webhook.verified", verified)
    current.set_attribute("sophia.webhook.outcome", outcome)
    current.set_attribute("sophia.webhook.duplicate", outcome == "duplicate")
    current.set_attribute("http.response.status_code", status)
    if delivery_id is not None:
        current.set_attribute("sophia.webhook.delivery_id", delivery_id)
    if event_type is not None:
        current.set_attribute("sophia.webhook.event_type", event_type)

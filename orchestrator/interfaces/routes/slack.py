"""``/slack/commands``, ``/slack/events``, ``/slack/interactivity``: verify, hand over, ack.

Every request's ``X-Slack-Signature`` is checked on the raw body (v0 HMAC-SHA256 over
``v0:timestamp:body``, ±300 s, constant-time compare) before anything else; a missing, stale
or tampered one is 401 and nothing runs. The handlers in :mod:`orchestrator.interfaces.slack`
answer at once and work in the background.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.base import WebhookRequest
from orchestrator.errors import NotFoundError
from orchestrator.interfaces.routes.common import _problem_doc, ctx

__all__ = ["router"]

router = APIRouter(tags=["slack"])

_FORM = {"application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}}
_SIGNED = {
    "parameters": [
        {"name": "X-Slack-Signature", "in": "header", "required": True, "schema": {"type": "string"},
         "description": "v0=<hex HMAC-SHA256 of v0:timestamp:body with the signing secret>"},
        {"name": "X-Slack-Request-Timestamp", "in": "header", "required": True, "schema": {"type": "string"}},
    ],
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem_doc("Missing, stale or tampered signature (code `webhook_rejected`); nothing ran."),
    404: _problem_doc("Slack is not configured on this server (set SOPHIA_SLACK_SIGNING_SECRET)."),
}


def _ok(description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}}


def _verified(request: Request, body: bytes) -> dict[str, Any]:
    return _verify(request, body)[0]


def _verify(request: Request, body: bytes) -> tuple[dict[str, Any], WebhookRequest]:
    from adapters.webhooks import verify_slack
    from orchestrator.interfaces.slack import signing_secret

    context = ctx(request)
    if context.slack is None:
        raise NotFoundError("Slack is not configured on this server", hint="set SOPHIA_SLACK_SIGNING_SECRET")
    hook = WebhookRequest(headers={k.lower(): v for k, v in request.headers.items()}, body=body,
                          path=request.url.path)
    try:
        verified = verify_slack(hook, signing_secret())
    except Exception:
        context.metrics.slack.labels(request.url.path.rsplit("/", 1)[-1], "rejected").inc()
        raise
    return verified.payload, hook


def _to_inbox(request: Request, hook: WebhookRequest, payload: dict[str, Any]) -> str:
    """Keep a workspace event (channel created, archived …) for the Slack adapter: state and drift."""
    from adapters.registry import adapter_class
    from state.inbox import Inbox

    try:
        if not adapter_class("slack").supports_webhooks:
            return "ignored"
    except NotFoundError:
        return "ignored"
    event_type = str((payload.get("event") or {}).get("type") or "")
    _, new = Inbox(ctx(request).store).add("slack", str(payload.get("event_id") or ""), event_type,
                                           dict(hook.headers), hook.body, received_at=hook.received_at)
    return "inboxed" if new else "duplicate"


@router.post("/slack/commands", operation_id="slackCommand", summary="Slack slash command (/sophia)",
             openapi_extra=_SIGNED | {"requestBody": {"required": True, "content": _FORM}},
             responses=_ok("The immediate answer (the run follows via response_url).") | _RESPONSES)
async def slack_command(request: Request) -> Response:
    """Run ``/sophia <text>`` for the linked identity; the plan or outcome follows via ``response_url``."""
    payload = _verified(request, await request.body())
    form = {k: str(v) for k, v in payload.items()}
    context = ctx(request)
    assert context.slack is not None
    return JSONResponse(await context.slack.on_command(form))


@router.post("/slack/events", operation_id="slackEvents", summary="Slack Events API (app_mention, url_verification)",
             openapi_extra=_SIGNED | {"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object"}}}}},
             responses=_ok("Acknowledged (or the url_verification challenge).") | _RESPONSES)
async def slack_events(request: Request) -> Response:
    """Answer the ``url_verification`` handshake; turn ``app_mention`` into a command, once per ``event_id``.

    Other workspace events (channel created, renamed, archived …) go to the webhook inbox for
    the Slack adapter, like any platform's webhook: inventory and drift, never a command.
    """
    payload, hook = _verify(request, await request.body())
    if payload.get("type") == "url_verification":
        return JSONResponse({"challenge": str(payload.get("challenge", ""))})
    context = ctx(request)
    assert context.slack is not None
    if request.headers.get("x-slack-retry-num"):
        context.metrics.slack.labels("event", "retry").inc()
    event = payload.get("event") or {}
    if payload.get("type") == "event_callback" and event.get("type") != "app_mention" and payload.get("event_id"):
        outcome = await run_in_threadpool(_to_inbox, request, hook, payload)
        context.metrics.webhooks.labels("slack", outcome).inc()
        return JSONResponse({"ok": True})
    await context.slack.on_event(payload)
    return JSONResponse({"ok": True})


@router.post("/slack/interactivity", operation_id="slackInteractivity",
             summary="Slack interactivity (Approve / Reject / Request changes / Apply / Cancel / Revert buttons)",
             openapi_extra=_SIGNED | {"requestBody": {"required": True, "content": _FORM}},
             responses=_ok("Acknowledged; the outcome follows via response_url.") | _RESPONSES)
async def slack_interactivity(request: Request) -> Response:
    """Check who pressed the button and act in the background; refusals are ephemeral."""
    payload = _verified(request, await request.body())
    context = ctx(request)
    assert context.slack is not None
    await context.slack.on_interaction(payload)
    return JSONResponse({"ok": True})

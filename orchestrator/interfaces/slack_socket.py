"""Socket Mode: the Slack app for installs without a public URL.

Slack pushes the same payloads over a WebSocket (authenticated by the app-level token
``SOPHIA_SLACK_APP_TOKEN``, so there is no request signature to check); each envelope is
acknowledged with the same immediate answer the HTTP routes give, and handled by the same
:class:`~orchestrator.interfaces.slack.SlackApp`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.config import Settings
    from orchestrator.interfaces.slack import SlackApp

__all__ = ["run_socket_mode", "socket_dispatch"]

log = logging.getLogger(__name__)

#: Slack wants the envelope acknowledged within 3 s.
ACK_TIMEOUT_SECONDS = 2.5


async def socket_dispatch(slack: SlackApp, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Route one Socket Mode envelope (``slash_commands``, ``events_api``, ``interactive``)."""
    if kind == "slash_commands":
        return await slack.on_command({k: str(v) for k, v in payload.items()})
    if kind == "events_api":
        await slack.on_event(payload)
    elif kind == "interactive":
        await slack.on_interaction(payload)
    return None


def run_socket_mode(settings: Settings | None = None, *, stop: threading.Event | None = None) -> None:
    """Connect and serve until interrupted (or ``stop`` is set)."""
    from slack_sdk.socket_mode import SocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse

    from adapters.credentials import SecretRef, resolve_secret
    from orchestrator.config import get_settings
    from orchestrator.interfaces.host import ServiceHost
    from orchestrator.interfaces.slack import SlackApp

    app_token = resolve_secret(SecretRef("slack", "APP_TOKEN")).reveal()
    host = ServiceHost(settings or get_settings())
    host.start()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="sophia-slack-socket", daemon=True).start()
    slack = SlackApp(host, host.service.store)

    def listener(client: SocketModeClient, request: SocketModeRequest) -> None:
        future = asyncio.run_coroutine_threadsafe(socket_dispatch(slack, request.type, request.payload), loop)
        try:
            body = future.result(ACK_TIMEOUT_SECONDS)
        except Exception:
            log.exception("socket mode: handling a %s envelope failed", request.type)
            body = None
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=body))

    client = SocketModeClient(app_token=app_token, web_client=slack.poster.client())
    client.socket_mode_request_listeners.append(listener)  # type: ignore[arg-type]
    client.connect()
    stop = stop or threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
        asyncio.run_coroutine_threadsafe(slack.drain(timeout=10), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        host.stop()

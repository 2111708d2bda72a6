"""``/mcp`` on the ``serve`` app: the MCP server over streamable HTTP, authenticated by API key.

The same keys as REST (``sophia-iac keys create --role R --name N``), sent as
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``: no key or an unknown or revoked one is
a 401 before the MCP layer sees the request. Each key is an identity with a role — its actor is
``api:<name>``, as on REST — and a viewer key lists (and may call) only read tools. The rate
limit counts per MCP session (per key when the client keeps none). A client chooses what it
sees with the URL, as ``sophia-iac mcp`` does with flags: ``/mcp?platforms=pgvector,github``
and ``/mcp?read_only=true``.

:func:`mount` adds the route; the app's lifespan runs the session manager
(:func:`session_manager`), and the calls reach the app's one service through its
:class:`~orchestrator.interfaces.host.ServiceHost`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from orchestrator.interfaces.mcp_calls import Audit, Caller, McpSurface, RateLimiter
from orchestrator.interfaces.mcp_server import build_server

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import Receive, Scope, Send

    from orchestrator.service import OrchestratorService

__all__ = ["PATH", "mount", "session_manager"]

PATH = "/mcp"
IDENTITY = "sophia_mcp_identity"


class HostBackend:
    """The app's service, on its host's loop (available once the app has started)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def run(self, fn: Callable[[OrchestratorService], Awaitable[Any]]) -> Any:
        """``await fn(service)`` on the service's loop."""
        return await self.app.state.ctx.host.call(fn)


def _key(scope: Scope) -> str | None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return headers.get("x-api-key", "").strip() or None


class _Authenticated:
    """ASGI wrapper: a known, unrevoked API key, or 401 (problem+json) before MCP sees the request."""

    def __init__(self, app: FastAPI, inner: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from state.identities import ApiKeys

        key = _key(scope)
        who = await run_in_threadpool(ApiKeys(self.app.state.ctx.store).authenticate, key) if key else None
        if who is None:
            from orchestrator.interfaces.problems import problem

            response = problem(401, "unauthorized", "an API key is required" if not key else
                               "the API key is unknown or revoked",
                               hint="send `Authorization: Bearer <key>`; create one with "
                                    "`sophia-iac keys create --role R --name N`", instance=PATH)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[IDENTITY] = who
        await self.inner(scope, receive, send)


async def _identify(ctx: Any) -> Caller:
    from orchestrator.interfaces.routes.common import AuthError

    request = ctx.request
    who = getattr(request.state, IDENTITY, None) if request is not None else None
    if who is None:  # only reachable if the route were mounted without _Authenticated
        raise AuthError("an API key is required", hint="send `Authorization: Bearer <key>`")
    session = request.headers.get("mcp-session-id") or ""
    query = request.query_params
    platforms = tuple(p.strip() for p in query.get("platforms", "").split(",") if p.strip()) or None
    read_only = query.get("read_only", "").lower() in ("1", "true", "yes")
    return Caller(who.actor, who.actor, who.role, f"{who.key_id}:{session}", via="http", platforms=platforms,
                  read_only=read_only)


def mount(app: FastAPI, *, platforms: list[str] | None = None, read_only: bool = False,
          per_minute: int = 120) -> None:
    """Add ``/mcp`` to ``app`` (its lifespan must enter :func:`session_manager`)."""
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager

    settings = app.state.options["settings"]
    surface = McpSurface(HostBackend(app), Audit(settings.home / "mcp-audit.jsonl"), platforms=platforms,
                         read_only=read_only, limiter=RateLimiter(per_minute))
    manager = StreamableHTTPSessionManager(app=build_server(surface, _identify))
    app.state.mcp_manager = manager
    app.router.routes.append(Route(PATH, endpoint=_Authenticated(app, StreamableHTTPASGIApp(manager)),
                                   include_in_schema=False))


def session_manager(app: FastAPI) -> Any:
    """The MCP session manager's ``run()`` context (a no-op context when ``/mcp`` isn't mounted)."""
    from contextlib import nullcontext

    manager = getattr(app.state, "mcp_manager", None)
    return manager.run() if manager is not None else nullcontext()

"""The HTTP server: REST API (``/v1``), MCP (``/mcp``), Slack app (``/slack``), webhooks, health and metrics.

``create_app()`` builds the FastAPI app; its lifespan starts the
:class:`~orchestrator.interfaces.host.ServiceHost` (the one OrchestratorService, on its own
loop), the Slack app when ``SOPHIA_SLACK_SIGNING_SECRET`` resolves, and — unless told not
to — one inbox worker thread. ``sophia-iac serve`` runs it with uvicorn and no configuration
(SQLite under ``$SOPHIA_HOME``, the offline parser).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from orchestrator.interfaces.metrics import Metrics, MetricsMiddleware
from orchestrator.interfaces.problems import install_error_handlers

if TYPE_CHECKING:
    from orchestrator.config import Settings
    from orchestrator.inbox import WorkerConfig
    from orchestrator.interfaces.host import ServiceHost
    from orchestrator.interfaces.routes.common import AppContext
    from orchestrator.interfaces.slack import SlackPoster

__all__ = ["create_app", "serve", "start_context", "stop_context"]

log = logging.getLogger(__name__)

DESCRIPTION = """\
Change and inspect your SaaS and cloud stack in plain English, through the same pipeline as
the CLI and Slack: parse → plan → policy → (approval) → apply → ledger → undo.

Authenticate with an API key (`sophia-iac keys create --role R --name N`) as
`Authorization: Bearer <key>` or `X-API-Key: <key>`. Roles: viewer < operator < approver < admin.
Mutating POSTs accept an `Idempotency-Key`. Errors are `application/problem+json` with a
stable `code`.
"""


def _slack_configured() -> bool:
    from orchestrator.errors import ConfigError
    from orchestrator.interfaces.slack import signing_secret

    try:
        signing_secret()
    except ConfigError:
        return False
    return True


def start_context(app: FastAPI) -> AppContext:
    """Start the service host, Slack app and worker for ``app`` (blocking; the lifespan calls it)."""
    from orchestrator.interfaces.host import ServiceHost
    from orchestrator.interfaces.routes.common import AppContext
    from state.inbox import Inbox

    existing: AppContext | None = getattr(app.state, "ctx", None)
    if existing is not None:
        return existing
    options: dict[str, Any] = app.state.options
    host: ServiceHost = options.get("host") or ServiceHost(options["settings"])
    if not host.ready():
        host.start()
    # The SQLite saver creates its tables on first use; create them now so readiness can see them.
    host.run(lambda service: service.checkpointer.setup(), timeout=60)
    store = host.service.store
    metrics: Metrics = app.state.metrics
    metrics.watch_inbox(Inbox(store).depth)
    context = AppContext(host=host, store=store, metrics=metrics)
    if options.get("slack") if options.get("slack") is not None else _slack_configured():
        from orchestrator.interfaces.slack import SlackApp

        context.slack = SlackApp(host, store, poster=options.get("slack_poster"), metrics=metrics)
    if options.get("worker"):
        from orchestrator.inbox import run_worker_thread

        thread, stop = run_worker_thread(store, host.settings, notifier=context.slack,
                                         config=options.get("worker_config"))
        context.extras["worker"] = (thread, stop)
    app.state.ctx = context
    return context


def stop_context(app: FastAPI) -> None:
    """Stop what :func:`start_context` started."""
    context: AppContext | None = getattr(app.state, "ctx", None)
    if context is None:
        return
    worker = context.extras.pop("worker", None)
    if worker is not None:
        thread, stop = worker
        stop.set()
        thread.join(10)
    if app.state.options.get("host") is None:
        context.host.stop()
    app.state.ctx = None


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    from orchestrator.interfaces.mcp_http import session_manager

    await asyncio.to_thread(start_context, app)
    try:
        async with session_manager(app):  # /mcp's streamable-HTTP sessions
            yield
    finally:
        context = getattr(app.state, "ctx", None)
        if context is not None and context.slack is not None:
            await context.slack.drain(timeout=5)
        await asyncio.to_thread(stop_context, app)


def create_app(settings: Settings | None = None, *, host: ServiceHost | None = None, slack: bool | None = None,
               slack_poster: SlackPoster | None = None, worker: bool = True,
               worker_config: WorkerConfig | None = None) -> FastAPI:
    """The FastAPI app.

    Args:
        settings: defaults to :func:`~orchestrator.config.get_settings`.
        host: a started (or startable) host to use instead of making one (not stopped on exit).
        slack: force the Slack routes on/off (default: on when the signing secret resolves).
        slack_poster: the outbound Slack client (tests point it at a contract server).
        worker: run one inbox worker thread in the server.
        worker_config: the worker's retry settings.
    """
    from orchestrator.config import get_settings
    from orchestrator.interfaces.routes import changes, drift, health, platforms, runs, webhooks
    from orchestrator.interfaces.routes import slack as slack_routes

    app = FastAPI(title="sophia-iac", version=_version(), description=DESCRIPTION, lifespan=_lifespan,
                  **_telemetry())
    app.state.options = {"settings": settings or get_settings(), "host": host, "slack": slack,
                         "slack_poster": slack_poster, "worker": worker, "worker_config": worker_config}
    app.state.metrics = Metrics()
    app.state.ctx = None
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    install_error_handlers(app)
    for module in (runs, changes, platforms, drift, webhooks, slack_routes, health):
        app.include_router(module.router)
    app.router.routes.insert(0, webhooks.fast_route())  # the hot path, matched first (see fast_route)
    from orchestrator.interfaces.mcp_http import mount

    mount(app)  # /mcp: the MCP server over streamable HTTP (API keys, like /v1)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _telemetry() -> dict[str, Any]:
    """FastAPI's request spans on our tracer provider, when tracing is on and FastAPI has native telemetry.

    Off (or an older FastAPI), nothing is passed: FastAPI then finds no configured provider and
    adds nothing. Its metrics and logs stay off: Prometheus (``/metrics``) and our logs cover them.
    """
    import inspect

    from orchestrator.tracing import provider

    found = provider()
    if found is None or "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracer_provider": found, "metrics": False, "logs": False}}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sophia-iac")
    except PackageNotFoundError:
        return "0.1.0"


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with errors documented as problem+json only and the Problem schema."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    from orchestrator.interfaces.schemas import Problem

    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem_content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if str(status)[0] in "45" and not (response.get("content", {}).get("application/json", {})
                                                   .get("schema", {}).get("$ref", "").endswith("ReadyOut")):
                    response["content"] = problem_content
            if any(p.get("in") in ("query", "path", "header") for p in operation.get("parameters", [])) \
                    or "requestBody" in operation:
                responses.setdefault("422", {"description": "Invalid request (code `validation_failed`).",
                                             "content": problem_content})
    app.openapi_schema = doc
    return doc


def serve(host: str = "127.0.0.1", port: int = 8000, *, worker: bool = True, log_level: str = "info") -> None:
    """Run the server with uvicorn until interrupted (logs: :func:`orchestrator.logs.configure_logging`)."""
    import uvicorn

    from orchestrator.logs import configure_logging

    configure_logging(log_level)  # SOPHIA_LOG_FORMAT=json for JSON lines; ids and scrubbing either way
    uvicorn.run(create_app(worker=worker), host=host, port=port, log_level=log_level, access_log=False,
                log_config=None)  # uvicorn's loggers propagate to the root handler above

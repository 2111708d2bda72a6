"""The MCP server (official ``mcp`` SDK, low-level ``Server``): tools, resources, stdio.

:func:`build_server` turns an :class:`~orchestrator.interfaces.mcp_calls.McpSurface` into an
MCP server; ``identify(ctx)`` says who each request comes from (the configured identity over
stdio, the API key's identity over HTTP: :mod:`orchestrator.interfaces.mcp_http`).
:func:`run_stdio` is ``sophia-iac mcp``.

Tool errors are MCP tool errors (``isError``) whose structured content is
``{"error": {"code", "message", "hint", "details"}}`` and whose text starts with the code.
A change confirmed by elicitation returns the SDK's ``InputRequiredResult`` (protocol
2026-07-28) or, on a handshake-era connection, sends ``elicitation/create`` while the call waits.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from orchestrator.interfaces.mcp_calls import (
    Audit,
    Caller,
    Confirmation,
    McpSurface,
    RateLimiter,
    ToolFailure,
)

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel import Server

    from orchestrator.service import OrchestratorService

__all__ = ["RESOURCES", "build_server", "identity_role", "run_stdio"]

INSTRUCTIONS = """\
sophia-iac: change and inspect SaaS/cloud platforms through a plan → policy → approval → apply → \
ledger pipeline. Reads answer at once. A change is two calls: without plan_token you get the plan \
(before → after), the policy verdict and a plan_token; call again with that plan_token to apply. \
Destructive changes await another person's approval (you get the run id and where to approve). \
Every change is in the ledger (sophia_history, resource sophia://ledger/recent) and most can be undone \
(sophia_undo). Secret params take secret://NAME references only."""

#: Static resources: uri → (name, description).
RESOURCES = {
    "sophia://ledger/recent": ("ledger-recent", "The 50 most recent changes in the ledger, newest first."),
    "sophia://approvals/pending": ("approvals-pending", "Runs awaiting approval, with who may decide."),
    "sophia://catalog": ("catalog", "The actions this server exposes: id, summary, risk, reversibility, params."),
}
CHANGE_TEMPLATE = "sophia://ledger/changes/{change_id}"
CONFIRM_SCHEMA = {"type": "object", "properties": {"apply": {
    "type": "boolean", "title": "Apply", "description": "Apply this plan (false: cancel; nothing changes)"}},
    "required": ["apply"]}

Identify = Callable[["ServerRequestContext[Any, Any]"], Awaitable[Caller]]


def identity_role(service: OrchestratorService, actor: str) -> str:
    """The surface role of ``actor`` from policy's identities (admin, approver, operator or viewer)."""
    roles = {r.value for r in service.deps.policy.identities.resolve(actor).roles}
    return next((r for r in ("admin", "approver", "operator") if r in roles), "viewer")


def _json(data: Any) -> str:
    return json.dumps(data, indent=1, default=str, ensure_ascii=False)


def _tool_result(result: dict[str, Any]) -> Any:
    import mcp_types as types

    text = result.get("message") or result.get("next") or ""
    return types.CallToolResult(content=[types.TextContent(text=(text + "\n" if text else "") + _json(result))],
                                structured_content=result)


def _tool_error(error: dict[str, Any]) -> Any:
    import mcp_types as types

    text = f"{error['code']}: {error['message']}" + (f" — {error['hint']}" if error.get("hint") else "")
    return types.CallToolResult(content=[types.TextContent(text=text + "\n" + _json({"error": error}))],
                                structured_content={"error": error}, is_error=True)


def _elicits(ctx: ServerRequestContext[Any, Any]) -> bool:
    caps = ctx.session.client_capabilities
    return bool(caps is not None and caps.elicitation is not None)


def _answer(params: Any) -> tuple[str, bool] | None:
    """``(run_id, apply?)`` from a retried call's input responses, or None for a first call."""
    import mcp_types as types

    if not params.request_state:
        return None
    response = (params.input_responses or {}).get("confirm")
    yes = isinstance(response, types.ElicitResult) and response.action == "accept" and \
        bool((response.content or {}).get("apply"))
    return params.request_state, yes


def build_server(surface: McpSurface, identify: Identify, *, name: str = "sophia-iac") -> Server[Any]:
    """An MCP server whose every call goes through ``surface`` as the caller ``identify`` names."""
    import mcp_types as types
    from mcp.server.lowlevel import Server
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    async def list_tools(ctx: ServerRequestContext[Any, Any], params: Any) -> types.ListToolsResult:
        caller = await identify(ctx)
        tools = [types.Tool(name=t.name, description=t.description, input_schema=t.input_schema,
                            annotations=types.ToolAnnotations.model_validate(t.annotations))
                 for t in surface.tools_for(caller).values()]
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> Any:
        try:
            caller = await identify(ctx)
            elicit = _elicits(ctx) and (ctx.protocol_version in MODERN_PROTOCOL_VERSIONS or
                                        ctx.session.can_send_request)
            result = await surface.call(caller, params.name, dict(params.arguments or {}), elicit=elicit,
                                        answer=_answer(params))
            if isinstance(result, Confirmation):
                if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
                    ask = types.ElicitRequest(params=types.ElicitRequestFormParams(
                        message=result.message, requested_schema=CONFIRM_SCHEMA))
                    return types.InputRequiredResult(input_requests={"confirm": ask}, request_state=result.run_id)
                reply = await ctx.session.elicit_form(result.message, CONFIRM_SCHEMA, ctx.request_id)
                yes = reply.action == "accept" and bool((reply.content or {}).get("apply"))
                result = await surface.call(caller, params.name, {}, answer=(result.run_id, yes))
            assert isinstance(result, dict)
            return _tool_result(result)
        except ToolFailure as exc:
            return _tool_error(exc.error)

    async def list_resources(ctx: ServerRequestContext[Any, Any], params: Any) -> types.ListResourcesResult:
        await identify(ctx)
        return types.ListResourcesResult(resources=[
            types.Resource(uri=uri, name=name, description=desc, mime_type="application/json")
            for uri, (name, desc) in RESOURCES.items()])

    async def list_templates(ctx: ServerRequestContext[Any, Any], params: Any) -> types.ListResourceTemplatesResult:
        await identify(ctx)
        return types.ListResourceTemplatesResult(resource_templates=[types.ResourceTemplate(
            uri_template=CHANGE_TEMPLATE, name="ledger-change", description="One change record from the ledger.",
            mime_type="application/json")])

    async def read_resource(ctx: ServerRequestContext[Any, Any],
                            params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        from mcp.shared.exceptions import MCPError

        caller = await identify(ctx)
        uri = str(params.uri)
        try:
            data = await _resource(surface, caller, uri)
        except ToolFailure as exc:
            raise MCPError(code=-32002, message=f"{exc.error['code']}: {exc.error['message']}",
                           data=exc.error) from exc
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type="application/json",
                                                                             text=_json(data))])

    return Server(name, version=_version(), instructions=INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call_tool, on_list_resources=list_resources,
                  on_list_resource_templates=list_templates, on_read_resource=read_resource)


async def _resource(surface: McpSurface, caller: Caller, uri: str) -> Any:
    from asyncio import to_thread

    from orchestrator.errors import SophiaError

    run = surface.backend.run
    try:
        if uri == "sophia://ledger/recent":
            return await run(lambda s: to_thread(s.history, limit=50))
        if uri == "sophia://approvals/pending":
            return await run(lambda s: to_thread(s.approvals))
        if uri == "sophia://catalog":
            return [{"tool": t.name, "action": t.spec.id, "summary": t.spec.summary, "risk": t.spec.risk.value,
                     "reversible": t.spec.reversible, "target": t.spec.target, "params": t.spec.json_schema()}
                    for t in surface.tools_for(caller).values() if t.spec is not None]
        prefix = CHANGE_TEMPLATE.split("{", 1)[0]
        if uri.startswith(prefix) and len(uri) > len(prefix):
            change_id = uri[len(prefix):]
            return await run(lambda s: to_thread(s.change, change_id))
    except SophiaError as exc:
        raise ToolFailure(exc.to_dict()) from exc
    raise ToolFailure.of("not_found", f"no resource {uri}", "list the resources (resources/list)")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sophia-iac")
    except PackageNotFoundError:
        return "0.1.0"


class DirectBackend:
    """The service on this event loop (stdio)."""

    def __init__(self, service: OrchestratorService) -> None:
        self.service = service

    async def run(self, fn: Callable[[OrchestratorService], Awaitable[Any]]) -> Any:
        """``await fn(service)``."""
        return await fn(self.service)


async def run_stdio(*, platforms: list[str] | None = None, read_only: bool = False, per_minute: int = 120) -> None:
    """Serve MCP on stdin/stdout as the configured identity (``SOPHIA_ACTOR`` / the OS user)."""
    from mcp.server.stdio import stdio_server

    from orchestrator.config import get_settings
    from orchestrator.principal import resolve_cli_actor
    from orchestrator.service import OrchestratorService

    settings = get_settings()
    who = resolve_cli_actor(None, settings)
    async with OrchestratorService(settings) as service:
        caller = Caller(who.actor, who.principal, identity_role(service, who.actor), f"stdio:{os.getpid()}")
        surface = McpSurface(DirectBackend(service), Audit(settings.home / "mcp-audit.jsonl"), platforms=platforms,
                             read_only=read_only, limiter=RateLimiter(per_minute))
        surface.tools_for(caller)  # an unknown --platforms name fails here, before the client connects

        async def identify(ctx: Any) -> Caller:
            return caller

        server = build_server(surface, identify)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

"""What an MCP tool call does: check the caller, audit, then go through the one pipeline.

Thin like the other surfaces: arguments become a :class:`~orchestrator.state.Request` (with the
parsed command, for catalog tools) and :class:`~orchestrator.service.OrchestratorService` does
the rest — parse, plan, policy, approval, apply, ledger. What this module adds is the agent's
contract:

* **A change never blocks.** Without ``plan_token`` a change is a dry run: the answer is the
  plan (before → after), the policy verdict and a plan token (:mod:`.mcp_tokens`). With the
  token it is submitted for real, paused at the pipeline's own confirmation step, and confirmed
  only if the fresh plan (every target observed again) has the same token; otherwise it is
  cancelled and refused (``plan_changed``). Where approval is due the answer is "awaiting
  approval: run R" with where to approve; MCP has no approve tool and ``sophia_do`` refuses
  approve/reject, so a caller never approves its own run (and four-eyes holds anyway).
* **Clients that support elicitation** get the confirmation as one: the change is planned for
  real and paused at confirmation, the client is asked, and its answer confirms or cancels.
* **Annotations are enforced.** A read tool runs as a dry run (it can't reach apply); a caller
  may call only the tools its role lists; arguments are validated by the action's params model.
* **Secrets** typed into a secret param are refused before anything is stored (the audit line
  shows the placeholder). Every call is audited with the identity and the masked arguments.
* Errors are ``{"code", "message", "hint", "details"}`` (:class:`ToolFailure`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from asyncio import to_thread
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from orchestrator.errors import SophiaError
from orchestrator.interfaces.mcp_results import ToolFailure, failure, outcome, plan_out, verdict
from orchestrator.interfaces.mcp_tokens import check_token, plan_token
from orchestrator.interfaces.mcp_tools import ToolDef, select_tools

if TYPE_CHECKING:
    from orchestrator.service import OrchestratorService

__all__ = ["Audit", "Backend", "Caller", "Confirmation", "McpSurface", "RateLimiter"]

T = TypeVar("T")
log = logging.getLogger("sophia_iac.mcp")
Service = Callable[["OrchestratorService"], Awaitable[T]]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the actor runs are recorded under, the real principal, the role, the session."""

    actor: str
    principal: str
    role: str
    session: str
    via: str = "stdio"
    #: What this connection asked to see (HTTP: ``/mcp?platforms=a,b&read_only=true``); None: the server's choice.
    platforms: tuple[str, ...] | None = None
    read_only: bool = False


class Backend(Protocol):
    """Runs ``fn(service)`` where the service lives (this loop over stdio, the host's loop over HTTP)."""

    async def run(self, fn: Service[T]) -> T:
        """``await fn(service)``."""
        ...


@dataclass(frozen=True)
class Confirmation:
    """A change paused at confirmation, to be asked of the client as an elicitation."""

    run_id: str
    message: str
    answer: dict[str, Any]


class RateLimiter:
    """At most ``per_minute`` calls per session in any 60 s window."""

    def __init__(self, per_minute: int = 120) -> None:
        self.per_minute = per_minute
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, session: str) -> None:
        """Count a call, or refuse it (``rate_limited``) when the session is over its limit."""
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(session, deque())
            while calls and now - calls[0] > 60:
                calls.popleft()
            if len(calls) >= self.per_minute:
                wait = max(1, int(60 - (now - calls[0])) + 1)
                raise ToolFailure.of("rate_limited", f"more than {self.per_minute} calls a minute in this session",
                                     f"wait {wait} s and call again", retry_after=wait)
            calls.append(now)


class Audit:
    """One JSON line per call, arguments masked: ``$SOPHIA_HOME/mcp-audit.jsonl`` and the log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, caller: Caller, tool: str, args: dict[str, Any], outcome: str, **extra: Any) -> None:
        """Append one entry (secret params masked, known secrets scrubbed)."""
        from adapters.credentials import SCRUBBER

        line = json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "via": caller.via,
                           "actor": caller.actor, "principal": caller.principal, "role": caller.role,
                           "session": caller.session, "tool": tool, "args": _masked(tool, args),
                           "outcome": outcome, **extra}, default=str, sort_keys=True)
        line = SCRUBBER.scrub(line)
        log.info("mcp call %s", line)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
            self.path.chmod(0o600)


def _masked(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    from orchestrator.secret_params import PLACEHOLDER, is_reference, secret_actions

    secret = next((names for action, names in secret_actions().items() if action.replace(".", "_") == tool),
                  frozenset())
    return {k: (PLACEHOLDER if k in secret and v is not None and not is_reference(v) else v)
            for k, v in args.items()}


class McpSurface:
    """The MCP surface over one service: tool lists per caller and tool calls through the pipeline."""

    def __init__(self, backend: Backend, audit: Audit, *, platforms: list[str] | None = None,
                 read_only: bool = False, limiter: RateLimiter | None = None) -> None:
        self.backend = backend
        self.audit = audit
        self.platforms = platforms
        self.read_only = read_only
        self.limiter = limiter or RateLimiter()
        self._cache: dict[tuple[Any, ...], dict[str, ToolDef]] = {}

    def tools_for(self, caller: Caller, *, role: str | None = None, read_only: bool | None = None) -> dict[str, ToolDef]:
        """The tools ``caller`` sees (and may call), by name (``role``/``read_only``: override the caller's)."""
        platforms = list(caller.platforms) if caller.platforms is not None else self.platforms
        read_only = (self.read_only or caller.read_only) if read_only is None else read_only
        role = role or caller.role
        key = (role, tuple(platforms) if platforms is not None else None, read_only)
        if key not in self._cache:
            tools = select_tools(platforms=platforms, read_only=read_only, role=role)
            self._cache[key] = {t.name: t for t in tools}
        return self._cache[key]

    async def call(self, caller: Caller, name: str, args: dict[str, Any], *, elicit: bool = False,
                   answer: tuple[str, bool] | None = None) -> dict[str, Any] | Confirmation:
        """Run tool ``name``; returns its structured result, or a :class:`Confirmation` to elicit.

        ``answer``: the client's answer to an earlier confirmation, ``(run_id, apply?)``.

        Raises:
            ToolFailure: with the stable code and hint.
        """
        shown = dict(args)  # what the audit shows: a command's text once its secrets are withheld
        try:
            self.limiter.check(caller.session)
            tool = self.tools_for(caller).get(name)
            if tool is None:
                if name not in self.tools_for(caller, role="admin", read_only=False):
                    raise ToolFailure.of("not_found", f"no tool {name!r}", "list the tools (tools/list)")
                if self.read_only or caller.read_only:
                    raise ToolFailure.of("forbidden", f"{name} changes things and this server is read-only",
                                         "use a server started without --read-only")
                raise ToolFailure.of("forbidden", f"{caller.actor} has role {caller.role}; {name} needs operator",
                                     "use a key with role operator or higher")
            if answer is not None:
                result: dict[str, Any] | Confirmation = await self._answer(caller, *answer)
            else:
                result = await self._dispatch(caller, tool, dict(args), elicit, shown)
        except SophiaError as exc:
            self.audit.record(caller, name, shown, exc.code)
            raise ToolFailure(exc.to_dict()) from exc
        except ToolFailure as exc:
            self.audit.record(caller, name, shown, exc.error["code"])
            raise
        status = "awaiting_confirmation" if isinstance(result, Confirmation) else str(result.get("status", "ok"))
        run_id = result.run_id if isinstance(result, Confirmation) else result.get("run_id")
        self.audit.record(caller, name, shown, status, **({"run_id": run_id} if run_id else {}))
        return result

    # -- dispatch ------------------------------------------------------------------------
    async def _dispatch(self, caller: Caller, tool: ToolDef, args: dict[str, Any], elicit: bool,
                        shown: dict[str, Any]) -> dict[str, Any] | Confirmation:
        token = args.pop("plan_token", None)
        if tool.spec is not None:
            return await self._action(caller, tool, args, token, elicit)
        run = self.backend.run
        if tool.name == "sophia_status":
            return {"status": "ok", "platforms": await run(lambda s: s.status(args.get("platform")))}
        if tool.name == "sophia_history":
            limit = int(args.get("limit") or 20)
            changes = await run(lambda s: to_thread(s.history, platform=args.get("platform"),
                                                    target=args.get("target"), since=args.get("since"),
                                                    limit=min(max(limit, 1), 200)))
            return {"status": "ok", "changes": changes}
        if tool.name == "sophia_approvals":
            return {"status": "ok", "approvals": await run(lambda s: to_thread(s.approvals))}
        if tool.name == "sophia_explain":
            text = _text(args)
            return {"status": "ok"} | await run(lambda s: to_thread(s.explain, text, actor=caller.actor))
        if tool.name == "sophia_undo":
            return await self._undo(caller, args, token, elicit)
        if tool.name == "sophia_do":
            return await self._do(caller, _text(args), token, elicit, shown)
        raise ToolFailure.of("not_found", f"no tool {tool.name!r}", "list the tools (tools/list)")

    async def _action(self, caller: Caller, tool: ToolDef, args: dict[str, Any], token: str | None,
                      elicit: bool) -> dict[str, Any] | Confirmation:
        from pydantic import ValidationError

        from adapters.catalog import ActionCall, format_validation_error
        from orchestrator.errors import ValidationFailedError
        from orchestrator.secret_params import withhold_secrets
        from orchestrator.state import Intent, ParsedCommand

        spec = tool.spec
        assert spec is not None
        target = args.pop("target", None)
        raw = ParsedCommand(intent=Intent.ACTION, actions=[ActionCall(action=spec.id, target=target, params=args)],
                            parser="structured")
        text = f"{spec.id} {target or ''} {json.dumps(args, sort_keys=True, default=str)}".strip()
        withheld = withhold_secrets(text, raw)
        if withheld.error is not None:  # refused here: no run, no checkpoint, no ledger row holds it
            raise withheld.error
        try:
            call = spec.call(target, args)
        except ValidationError as err:
            raise ValidationFailedError(
                format_validation_error(spec.id, err, spec.secret_params), hint=f"see {tool.name}'s input schema",
                details={"errors": [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]}
                                    for e in err.errors()]}) from err
        if spec.target_required and not target:
            raise ValidationFailedError(f"{spec.id} needs a target ({spec.target})", hint=f"pass target: the "
                                        f"{spec.target}", details={"field": "target"})
        parsed = ParsedCommand(intent=Intent.ACTION, actions=[call], parser="structured")
        if tool.read:
            view = await self._submit(caller, text, parsed, dry_run=True)
            if view["status"] != "dry_run" or view.get("error"):
                raise failure(view)
            return {"status": "read", "run_id": view["run_id"],
                    "results": [{"action": s["action"], "target": s["target"], "state": s["before"]}
                                for s in plan_out(view)]}
        return await self._change(caller, lambda **kw: self._submit(caller, text, parsed, **kw), token, elicit)

    async def _submit(self, caller: Caller, text: str, parsed: Any, *, dry_run: bool,
                      confirmed: bool = True) -> dict[str, Any]:
        from orchestrator.state import Request

        request = Request(text=text, actor=caller.actor, principal=caller.principal, surface="mcp",
                          dry_run=dry_run, confirmed=confirmed)
        return dict(await self.backend.run(lambda s: s.submit(request, parsed)))

    async def _change(self, caller: Caller, submit: Callable[..., Awaitable[dict[str, Any]]], token: str | None,
                      elicit: bool) -> dict[str, Any] | Confirmation:
        """Plan (no token), ask (elicitation), or apply what was planned (token)."""
        if token is None and elicit:
            view = await submit(dry_run=False, confirmed=False)
            if view["status"] != "awaiting_confirmation":
                raise failure(view)
            steps = plan_out(view)
            lines = "; ".join(f"{s['action']} {s['target'] or ''}: {s['before']} → {s['after']}" for s in steps)
            policy = verdict(view)
            message = (f"Apply run {view['run_id']}? {lines}. Policy: {policy['effect']}"
                       + (" (then another person must approve)" if policy["effect"] == "require_approval" else ""))
            return Confirmation(view["run_id"], message, {"plan": steps, "policy": policy})
        if token is None:
            view = await submit(dry_run=True)
            if view["status"] != "dry_run" or view.get("error") or verdict(view)["effect"] == "deny":
                raise failure(view)
            policy = verdict(view)
            then = ("it will then await approval by someone else" if policy["effect"] == "require_approval"
                    else "it applies at once")
            return {"status": "planned", "run_id": view["run_id"], "plan": plan_out(view), "policy": policy,
                    "plan_token": plan_token(view["plan"], caller.actor),
                    "next": f"call again with the same arguments and this plan_token to apply ({then}); "
                            "nothing has changed yet"}
        view = await submit(dry_run=False, confirmed=False)
        if view["status"] != "awaiting_confirmation":
            raise failure(view)
        run_id = view["run_id"]
        try:
            check_token(token, view["plan"], caller.actor)
        except SophiaError:
            await self.backend.run(lambda s: s.confirm(run_id, False))
            raise
        return outcome(dict(await self.backend.run(lambda s: s.confirm(run_id, True))))

    async def _answer(self, caller: Caller, run_id: str, yes: bool) -> dict[str, Any]:
        """The client's answer to a confirmation elicitation: confirm or cancel the caller's own run."""
        run = await self.backend.run(lambda s: to_thread(s.view, run_id))
        if run.get("actor") != caller.actor or run.get("status") != "awaiting_confirmation":
            raise ToolFailure.of("approval_invalid", f"run {run_id} is not a change of yours awaiting confirmation",
                                 "call the tool again to plan it anew")
        view = dict(await self.backend.run(lambda s: s.confirm(run_id, yes)))
        if not yes:
            return {"status": "cancelled", "run_id": run_id, "message": "declined: nothing was changed"}
        return outcome(view)

    async def _undo(self, caller: Caller, args: dict[str, Any], token: str | None,
                    elicit: bool) -> dict[str, Any] | Confirmation:
        change_id, platform = args.get("change_id"), args.get("platform")

        async def submit(*, dry_run: bool, confirmed: bool = True) -> dict[str, Any]:
            return dict(await self.backend.run(lambda s: s.undo(
                change_id=change_id, platform=platform, actor=caller.actor, principal=caller.principal,
                surface="mcp", confirmed=confirmed, dry_run=dry_run)))

        return await self._change(caller, submit, token, elicit)

    async def _do(self, caller: Caller, text: str, token: str | None, elicit: bool,
                  shown: dict[str, Any]) -> dict[str, Any] | Confirmation:
        """A command in words: parsed once; changes take the plan → token path, questions are answered."""
        from orchestrator.secret_params import withhold_secrets

        parsed = await self.backend.run(lambda s: s._parse(text, None))  # the service's guarded parse
        withheld = withhold_secrets(text, parsed)
        shown["text"] = withheld.text
        if withheld.error is not None:  # refused here: no run, no checkpoint, no ledger row holds it
            raise withheld.error
        intent = parsed.intent.value
        if intent in ("approve", "reject", "freeze", "unfreeze"):
            raise ToolFailure.of("refused", f"{intent} is not available to agents over MCP",
                                 "a person decides approvals and freezes: sophia-iac approve RUN, "
                                 "POST /v1/runs/RUN/approve, or Slack")
        if intent in ("action", "undo") and parsed.actions and all(
                _risk(c.action) == "read" for c in parsed.actions):
            view = await self._submit(caller, text, parsed, dry_run=True)
            if view["status"] != "dry_run" or view.get("error"):
                raise failure(view)
            return {"status": "read", "run_id": view["run_id"], "results": plan_out(view)}
        if intent in ("action", "undo"):
            return await self._change(caller, lambda **kw: self._submit(caller, text, parsed, **kw), token, elicit)
        view = await self._submit(caller, text, parsed, dry_run=False)
        if view["status"] in ("clarify", "refuse", "failed"):
            raise failure(view)
        return {"status": view["status"], "run_id": view["run_id"], "result": view.get("result")}


def _risk(action: str) -> str:
    from adapters.registry import spec_for

    return spec_for(action).risk.value


def _text(args: dict[str, Any]) -> str:
    text = args.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ToolFailure.of("validation_failed", "text is required", "say what to do, in words", field="text")
    return text

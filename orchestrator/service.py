"""OrchestratorService: the one entry point every surface calls.

It owns the store, the adapters, the policy engine and the compiled graph (with a SQLite or
PostgreSQL checkpointer, so a run paused for approval survives a restart and can be resumed
from any process). On start it settles change records a crash left ``pending``. Built with
``lazy=True`` (the CLI) it loads the graph and the policy packs only when a command needs them.

**Secrets.** :meth:`OrchestratorService.submit` parses the command *before* anything is
written, then takes secret literals out (:func:`orchestrator.secret_params.withhold_secrets`):
the run row, the graph's input state and so every checkpoint hold the masked text and params
only, and a command that typed a secret param's value is refused with a hint to pass
``secret://NAME``.

**Concurrency.** Several runs share one event loop (the API/Slack host runs one service per
process). Blocking work — parsing (an LLM call can take seconds), store reads and writes, the
ledger — runs in worker threads (``asyncio.to_thread``), so a slow parse never stalls another
run, a health probe or Slack's 3-second acknowledgement. Each run's own steps are still
awaited in order.
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import to_thread
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any, Self

from orchestrator.config import Settings, get_settings
from orchestrator.errors import ApprovalError
from orchestrator.state import ParsedCommand, Request
from state.models import Run

__all__ = ["OrchestratorService", "RunView"]

RunView = dict[str, Any]

_log = logging.getLogger(__name__)

AWAITING = {"confirm": "awaiting_confirmation", "approval": "awaiting_approval"}


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def _run_span(run_id: str, phase: str, request: Request | None = None) -> Iterator[Any]:
    """The ``sophia.run`` span (every node's parent) with ``run_id`` bound for logs."""
    from orchestrator.logs import bind
    from orchestrator.tracing import span

    attributes: dict[str, Any] = {"sophia.run_id": run_id, "sophia.run.phase": phase}
    if request is not None:
        attributes |= {"sophia.surface": request.surface, "sophia.dry_run": request.dry_run}
    with bind(run_id=run_id), span("sophia.run", attributes) as current:
        yield current


def _ended(current: Any, view: RunView) -> None:
    """Record how a run ended on its span, and log it."""
    if current is not None:
        current.set_attribute("sophia.run.status", str(view.get("status")))
    _log.info("run %s: %s", view.get("run_id"), view.get("status"))


class OrchestratorService:
    """Submit commands, resume paused runs, answer status/history; use as ``async with``."""

    def __init__(self, settings: Settings | None = None, *, reconcile_on_start: bool = True,
                 lazy: bool = False) -> None:
        """``lazy``: build the graph, its checkpointer and the policy gate on first use instead of at
        start (the CLI: a read-only command then never imports LangGraph or compiles the rules)."""
        self.settings = settings or get_settings()
        self.reconcile_on_start = reconcile_on_start
        self.lazy = lazy
        self._stack = AsyncExitStack()
        self._graph_lock: asyncio.Lock | None = None
        self.graph: Any = None
        self.checkpointer: Any = None
        self.reconciled: list[dict[str, Any]] = []

    # -- lifecycle -----------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the store (migrating it when it is behind) and reconcile; unless ``lazy``, also build
        the checkpointer, the graph and the policy gate."""
        from orchestrator.deps import AdapterPool, Deps
        from state.store import Store

        self.store = Store(self.settings.state_url)
        self.store.setup()
        self.deps = Deps(settings=self.settings, store=self.store, adapters=AdapterPool(self.settings))
        self._stack.push_async_callback(self.deps.adapters.aclose)
        if not self.lazy:
            await self.pipeline()
            self.deps.policy  # noqa: B018 - load the packs now, not during the first request
        if self.reconcile_on_start:
            from orchestrator.reconcile import reconcile

            self.reconciled = await reconcile(self.deps, revisit=False)

    async def pipeline(self) -> Any:
        """The compiled graph with its checkpointer, built on first use."""
        if self._graph_lock is None:
            self._graph_lock = asyncio.Lock()
        async with self._graph_lock:
            if self.graph is None:
                from orchestrator.graph import build_graph

                self.checkpointer = await self._checkpointer()
                self.graph = build_graph().compile(checkpointer=self.checkpointer)
        return self.graph

    async def reconcile(self) -> list[dict[str, Any]]:
        """Settle every ``pending`` (orphaned) and ``needs_reconcile`` change by read-back."""
        from orchestrator.reconcile import reconcile

        return await reconcile(self.deps)

    async def _checkpointer(self) -> Any:
        if self.settings.is_postgres:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

            url = _psycopg_url(self.settings.state_url)
            saver = await self._stack.enter_async_context(AsyncPostgresSaver.from_conn_string(url))
            await _setup_one_at_a_time(saver, url)
            return saver
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        self.settings.home.mkdir(parents=True, exist_ok=True)
        return await self._stack.enter_async_context(
            AsyncSqliteSaver.from_conn_string(str(self.settings.home / "checkpoints.db"))
        )

    async def close(self) -> None:
        """Release connections."""
        await self._stack.aclose()
        self.store.dispose()

    # -- runs ----------------------------------------------------------------------------
    async def submit(self, request: Request, parsed: ParsedCommand | None = None) -> RunView:
        """Run a command through the pipeline; returns the run, paused or finished.

        The command is parsed first (in a worker thread) and its secret literals withheld, so
        neither the run row nor any checkpoint ever holds them; a command that typed a secret
        param's value ends ``failed`` with ``secret_in_command`` before anything is planned.
        """
        from orchestrator.secret_params import withhold_secrets
        from state.store import new_id

        run_id = new_id("run")
        run = Run(id=run_id, text="", actor=request.actor, surface=request.surface, dry_run=request.dry_run,
                  parser=request.parser)
        if parsed is None:
            try:
                parsed = await self._parse(request.text, request.parser)
            except Exception as exc:
                await self._record_parse_failure(run, exc)
                raise
        safe = withhold_secrets(request.text, parsed)
        run.text, run.parser = safe.text, safe.parsed.parser
        if safe.error is not None:
            run.status, run.parsed, run.error = "failed", safe.parsed.model_dump(mode="json"), safe.error.to_dict()
            return await to_thread(self._create_and_view, run)
        await to_thread(self.store.create_run, run)
        state: dict[str, Any] = {"run_id": run_id, "request": request.model_copy(update={"text": safe.text})
                                 .model_dump(mode="json"), "parsed": safe.parsed.model_dump(mode="json")}
        with _run_span(run_id, "submit", request) as current:
            if request.dry_run:  # never pauses: the same nodes and routes, without LangGraph or a checkpoint
                from orchestrator.walk import walk_dry_run

                out = await walk_dry_run(state, self.deps)
            else:
                graph = await self.pipeline()
                out = await graph.ainvoke(state, self._config(run_id), context=self.deps, durability="sync")
            view = await self._settle(run_id, out)
            _ended(current, view)
        delegate = (view.get("result") or {}).get("delegate")
        if delegate in ("freeze", "unfreeze"):
            return await self._freeze_delegate(run_id, request, view["result"])
        if delegate and view["result"].get("run_id"):
            target = view["result"]["run_id"]
            if delegate == "approve":
                return await self.approve(target, actor=request.actor, principal=request.principal or None)
            return await self.reject(target, actor=request.actor, principal=request.principal or None)
        return view

    async def _parse(self, text: str, parser_name: str | None) -> ParsedCommand:
        """Parse in a worker thread: parsers are synchronous and an LLM call takes seconds.

        Before a model sees the text, the offline parser (no network) looks for a secret
        param's typed value; if it finds one, its parse is returned and the command is refused
        without the value ever leaving the process.
        """
        inventory = await to_thread(self.store.inventory)
        return await to_thread(self._parse_guarded, text, parser_name, inventory)

    def _parse_guarded(self, text: str, parser_name: str | None, inventory: dict[str, list[str]]) -> ParsedCommand:
        """The parse, with the offline pre-check for typed secrets when a model would see the text."""
        from orchestrator.secret_params import withhold_secrets

        parser = self.deps.parser(parser_name)
        if getattr(parser, "name", None) != "offline":
            first = self.deps.parser("offline").parse(text, inventory)
            if withhold_secrets(text, first).error is not None:
                return first
        return parser.parse(text, inventory)

    async def _record_parse_failure(self, run: Run, exc: Exception) -> None:
        """Keep an audit row for a command the parser could not handle (its text withheld: unread)."""
        from orchestrator.errors import SophiaError

        run.text, run.status = "[command withheld: it could not be parsed]", "failed"
        run.error = exc.to_dict() if isinstance(exc, SophiaError) else {
            "code": "parse_failed", "message": f"the parser failed ({type(exc).__name__})", "hint": ""}
        try:
            await to_thread(self.store.create_run, run)
        except Exception:  # noqa: BLE001, S110 - the parser's error is the one to surface
            pass

    def _create_and_view(self, run: Run) -> RunView:
        self.store.create_run(run)
        return self._view(run, with_changes=False) | {"awaiting": None}

    async def confirm(self, run_id: str, yes: bool) -> RunView:
        """The requester's answer to a plan awaiting confirmation."""
        run_id = (await self._require(run_id, "awaiting_confirmation")).id
        return await self._resume(run_id, {"confirm": yes})

    async def approve(self, run_id: str, *, actor: str, comment: str | None = None,
                      digest: str | None = None, principal: str | None = None) -> RunView:
        """Approve a paused run. Bound to the plan's digest (``digest``: the one the approver saw).

        ``principal``: who really answers when ``actor`` was named for them (the CLI's ``--as``);
        four-eyes compares it with the requester's principal.
        """
        return await self._decide(run_id, "approve", actor=actor, comment=comment, digest=digest,
                                  principal=principal)

    async def reject(self, run_id: str, *, actor: str, comment: str | None = None,
                     principal: str | None = None) -> RunView:
        """Reject a paused run."""
        return await self._decide(run_id, "reject", actor=actor, comment=comment, principal=principal)

    async def request_changes(self, run_id: str, *, actor: str, comment: str, principal: str | None = None) -> RunView:
        """Send a paused run back to its requester with a comment; nothing is changed."""
        return await self._decide(run_id, "request_changes", actor=actor, comment=comment, principal=principal)

    async def revert_drift(self, drift_id: str, *, actor: str, surface: str = "api") -> RunView:
        """Undo out-of-band drift through the normal pipeline (plan, policy, approval, ledger)."""
        from orchestrator.drift_revert import revert_drift

        return await revert_drift(self, drift_id, actor=actor, surface=surface)

    async def _decide(self, run_id: str, verdict: str, *, actor: str, comment: str | None,
                      digest: str | None = None, principal: str | None = None) -> RunView:
        """Check who decides, claim the run (a second, concurrent answer is refused), resume, record."""
        from policies.approvals import Answer, ApprovalAnswer, ApprovalRequest, Judgement

        run = await self._require(run_id, "awaiting_approval")
        run_id = run.id  # the full id, when the caller gave a fragment (`r-91bc`)
        request = ApprovalRequest.model_validate((run.result or {}).get("awaiting") or {})
        problem = self.deps.policy.may_decide(request, actor, verdict, comment, principal=principal)
        if problem:
            raise ApprovalError(problem, hint=f"see who may decide with `sophia-iac approvals`; run {run_id} still "
                                              "awaits approval")
        if not await to_thread(self.store.claim_run, run_id, "awaiting_approval", "deciding"):
            raise ApprovalError(f"run {run_id} is already being decided", hint=f"see `sophia-iac runs {run_id}`")
        answer = ApprovalAnswer(decision=Answer(verdict), actor=actor, principal=principal or "", comment=comment,
                                digest=digest or request.digest)
        try:
            view = await self._resume(run_id, answer.model_dump(mode="json"))
        except BaseException:
            await to_thread(self.store.claim_run, run_id, "deciding", "awaiting_approval")
            raise
        settled = (view.get("result") or {}).get("approval") or {}
        outcome = "pending" if view["status"] == "awaiting_approval" else settled.get("outcome", "approved")
        judgement = Judgement.model_validate({"outcome": outcome, "problem": settled.get("problem", "")})
        await to_thread(self.deps.policy.record, request, answer, judgement)
        return await to_thread(self.view, run_id) | {"awaiting": view.get("awaiting")}

    async def _require(self, run_id: str, status: str) -> Run:
        run = await to_thread(self.store.get_run, run_id)
        if run.status != status:
            raise ApprovalError(
                f"run {run_id} is {run.status}, not {status.replace('_', ' ')}",
                hint="nothing to do" if run.status in ("applied", "rejected", "cancelled") else "check the run id",
            )
        return run

    async def _resume(self, run_id: str, answer: dict[str, Any]) -> RunView:
        from langgraph.types import Command

        graph = await self.pipeline()
        with _run_span(run_id, "resume") as current:
            out = await graph.ainvoke(Command(resume=answer), self._config(run_id), context=self.deps,
                                      durability="sync")
            view = await self._settle(run_id, out)
            _ended(current, view)
        return view

    @staticmethod
    def _config(run_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": run_id}}

    async def _settle(self, run_id: str, out: dict[str, Any]) -> RunView:
        return await to_thread(self._settle_sync, run_id, out)

    def _settle_sync(self, run_id: str, out: dict[str, Any]) -> RunView:
        interrupts = out.get("__interrupt__") or []
        awaiting = interrupts[0].value if interrupts else None
        status = AWAITING[awaiting["kind"]] if awaiting else out.get("status", "answered")
        parsed = out.get("parsed") or {}
        plan = out.get("plan")
        result = out.get("result") or ({"awaiting": awaiting} if awaiting else None)
        asked = out.get("request") or {}
        if asked.get("principal") and asked["principal"] != asked.get("actor"):
            # The run's actor was named with --as: keep who really asked beside it (no schema change).
            result = {**(result or {}), "principal": asked["principal"]}
        run = self.store.update_run(
            run_id, status=status, parsed=parsed, plan=plan, plan_digest=(plan or {}).get("digest"),
            decision=out.get("decision"), error=out.get("error"),
            result=result,
            parser=parsed.get("parser"),
        )
        touched = status in ("applied", "failed", "applying") or bool((out.get("result") or {}).get("changes"))
        return self._view(run, with_changes=touched) | {"awaiting": awaiting}

    def view(self, run_id: str) -> RunView:
        """A run as JSON, with its change records and the answers to its approval request."""
        run = self.store.get_run(run_id)
        return self._view(run, with_changes=True) | {"approvals": self.deps.policy.answers(run.id)}

    def _view(self, run: Run, *, with_changes: bool) -> RunView:
        data = run.model_dump(mode="json")
        data["run_id"] = data.pop("id")
        data["changes"] = [c.model_dump(mode="json", exclude={"prev_hash", "hash"})
                           for c in reversed(self.store.ledger.list(run_id=run.id, limit=500))] if with_changes else []
        return data

    # -- read-only -----------------------------------------------------------------------
    async def status(self, platform: str | None = None) -> list[dict[str, Any]]:
        """Health and inventory of one or every platform (refreshes the inventory)."""
        from orchestrator.queries import platform_status

        return await platform_status(self.deps, platform)

    def history(self, *, platform: str | None = None, target: str | None = None, since: str | None = None,
                limit: int = 50, status: str | None = None, before: str | None = None) -> list[dict[str, Any]]:
        """Recorded changes, newest first; ``before``: the page after that change."""
        from orchestrator.queries import history

        return history(self.deps, platform=platform, target=target, since=since, limit=limit, status=status,
                       before=before)

    def change(self, change_id: str) -> dict[str, Any]:
        """One change record."""
        return self.store.ledger.get(change_id).model_dump(mode="json", exclude={"prev_hash", "hash"})

    async def undo(self, *, change_id: str | None = None, platform: str | None = None, target: str | None = None,
                   since: str | None = None, actor: str, surface: str = "cli", confirmed: bool = True,
                   dry_run: bool = False, principal: str = "") -> RunView:
        """Undo a change (by id), the last change (optionally to a platform/target), or all since a time."""
        from orchestrator.state import Intent

        parsed = ParsedCommand(intent=Intent.UNDO, change_id=change_id, platform=platform, target=target,
                               since=since, parser="structured")
        words = change_id or ("everything" if since else "the last change")
        text = f"undo {words}" + (f" on {platform}" if platform else "") + (f" since {since}" if since else "")
        request = Request(text=text, actor=actor, principal=principal, surface=surface, confirmed=confirmed,
                          dry_run=dry_run)
        return await self.submit(request, parsed)

    def runs(self, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Recent runs, newest first."""
        return [r.model_dump(mode="json") for r in self.store.list_runs(status=status, limit=limit)]

    def verify_ledger(self, anchor: dict[str, Any] | None = None) -> Any:
        """Recompute the ledger's hash chain (and check it still holds ``anchor``, when given)."""
        return self.store.ledger.verify(anchor=anchor)

    def ledger_head(self) -> dict[str, Any]:
        """The ledger's current head, as an anchor to keep outside the database."""
        return self.store.ledger.head()

    # -- policy: approvals, freezes, explain -------------------------------------------------
    def approvals(self) -> list[dict[str, Any]]:
        """Runs awaiting approval: what, requested by whom, who may decide, and until when."""
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        out = []
        for run in self.store.list_runs(status="awaiting_approval", limit=500):
            ask = dict((run.result or {}).get("awaiting") or {})
            expires = ask.get("expires_at")
            ask["expired"] = bool(expires) and datetime.fromisoformat(str(expires)) <= now
            out.append(ask | {"run_id": run.id, "text": run.text, "created_at": run.created_at.isoformat()})
        return out

    async def freeze(self, environment: str, *, until: str | None, reason: str | None, actor: str,
                     surface: str = "cli", run_id: str | None = None) -> RunView:
        """Freeze an environment (stored, enforced by policy, recorded in the ledger)."""
        from policies.freezes import start_freeze

        run_id = run_id or self._control_run(f"freeze {environment} until {until or 'lifted'}", actor, surface)
        with self._control_failure(run_id):
            change = start_freeze(self.store, self.deps.policy.identities, env=environment, until=until,
                                  reason=reason, actor=actor, run_id=run_id)
        self.store.update_run(run_id, status="applied", result={"freeze": change["after"] | {"env": environment}})
        return self.view(run_id)

    async def unfreeze(self, environment: str, *, actor: str, surface: str = "cli",
                       run_id: str | None = None) -> RunView:
        """Lift the freezes on an environment (recorded in the ledger)."""
        from policies.freezes import lift_freeze

        run_id = run_id or self._control_run(f"unfreeze {environment}", actor, surface)
        with self._control_failure(run_id):
            change = lift_freeze(self.store, self.deps.policy.identities, env=environment, actor=actor, run_id=run_id)
        self.store.update_run(run_id, status="applied", result={"unfreeze": change["after"] | {"env": environment}})
        return self.view(run_id)

    @contextmanager
    def _control_failure(self, run_id: str) -> Iterator[None]:
        """A refused freeze/unfreeze leaves its run ``failed`` with the error, then re-raises."""
        from orchestrator.errors import SophiaError

        try:
            yield
        except SophiaError as exc:
            self.store.update_run(run_id, status="failed", error=exc.to_dict())
            raise

    def _control_run(self, text: str, actor: str, surface: str) -> str:
        from state.store import new_id

        run_id = new_id("run")
        self.store.create_run(Run(id=run_id, text=text, actor=actor, surface=surface, parser="structured"))
        return run_id

    async def _freeze_delegate(self, run_id: str, request: Request, result: dict[str, Any]) -> RunView:
        from orchestrator.errors import SophiaError, ValidationFailedError

        env = result.get("environment")
        try:
            if not env:
                raise ValidationFailedError("which environment?", hint="e.g. `freeze prod until 18:00`")
            if result["delegate"] == "freeze":
                return await self.freeze(env, until=result.get("until"), reason=result.get("reason"),
                                         actor=request.actor, surface=request.surface, run_id=run_id)
            return await self.unfreeze(env, actor=request.actor, surface=request.surface, run_id=run_id)
        except SophiaError as exc:
            self.store.update_run(run_id, status="failed", error=exc.to_dict())  # e.g. no environment given
            return self.view(run_id)

    def explain(self, text: str, *, actor: str, env: str | None = None, parser: str | None = None) -> dict[str, Any]:
        """What policy would decide for ``text`` (parsed, not planned or run), and which rules fired.

        A secret typed into ``text`` is withheld from the answer, which carries the
        ``secret_in_command`` error saying how to pass it by reference.
        """
        from orchestrator.secret_params import withhold_secrets

        safe = withhold_secrets(text, self._parse_guarded(text, parser, self.store.inventory()))
        out = {"text": safe.text} | self.deps.policy.explain(safe.parsed, actor, env=env)
        return out | ({"error": safe.error.to_dict()} if safe.error else {})


async def _setup_one_at_a_time(saver: Any, url: str) -> None:
    """Run the checkpointer's migrations under a PostgreSQL advisory lock.

    Two processes starting together (two pods, two ``serve``) both ran ``CREATE TABLE IF NOT
    EXISTS``, and PostgreSQL let one of them fail on the catalog's unique index; the second
    to take the lock now finds the migrations done.
    """
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as lock:
        await lock.execute("SELECT pg_advisory_lock(7306136)")
        try:
            await saver.setup()
        finally:
            await lock.execute("SELECT pg_advisory_unlock(7306136)")

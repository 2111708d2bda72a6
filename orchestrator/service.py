"""OrchestratorService: the one entry point every surface calls.

It owns the store, the adapters, the policy engine and the compiled graph (with a SQLite or
PostgreSQL checkpointer, so a run paused for approval survives a restart and can be resumed
from any process). On start it settles change records a crash left ``pending``.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from orchestrator.config import Settings, get_settings
from orchestrator.errors import ApprovalError
from orchestrator.state import ParsedCommand, Request
from state.models import Run

__all__ = ["OrchestratorService", "RunView"]

RunView = dict[str, Any]

AWAITING = {"confirm": "awaiting_confirmation", "approval": "awaiting_approval"}


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class OrchestratorService:
    """Submit commands, resume paused runs, answer status/history; use as ``async with``."""

    def __init__(self, settings: Settings | None = None, *, reconcile_on_start: bool = True) -> None:
        self.settings = settings or get_settings()
        self.reconcile_on_start = reconcile_on_start
        self._stack = AsyncExitStack()
        self.reconciled: list[dict[str, Any]] = []

    # -- lifecycle -----------------------------------------------------------------------
    async def __aenter__(self) -> OrchestratorService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the store (migrating it), the checkpointer and the graph; reconcile."""
        from orchestrator.deps import AdapterPool, Deps
        from orchestrator.graph import build_graph
        from policies.engine import PolicyEngine
        from state.store import Store

        self.store = Store(self.settings.state_url)
        self.store.setup()
        self.deps = Deps(settings=self.settings, store=self.store, adapters=AdapterPool(self.settings),
                         policy=PolicyEngine())
        self._stack.push_async_callback(self.deps.adapters.aclose)
        self.checkpointer = await self._checkpointer()
        self.graph = build_graph().compile(checkpointer=self.checkpointer)
        if self.reconcile_on_start:
            from orchestrator.reconcile import reconcile

            self.reconciled = await reconcile(self.deps)

    async def _checkpointer(self) -> Any:
        if self.settings.is_postgres:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

            saver = await self._stack.enter_async_context(
                AsyncPostgresSaver.from_conn_string(_psycopg_url(self.settings.state_url))
            )
            await saver.setup()
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
        """Run a command through the pipeline; returns the run, paused or finished."""
        from state.store import new_id

        run_id = new_id("run")
        self.store.create_run(Run(id=run_id, text=request.text, actor=request.actor, surface=request.surface,
                                  dry_run=request.dry_run, parser=request.parser))
        state: dict[str, Any] = {"run_id": run_id, "request": request.model_dump(mode="json")}
        if parsed is not None:
            state["parsed"] = parsed.model_dump(mode="json")
        out = await self.graph.ainvoke(state, self._config(run_id), context=self.deps, durability="sync")
        view = self._settle(run_id, out)
        delegate = (view.get("result") or {}).get("delegate")
        if delegate and view["result"].get("run_id"):
            target = view["result"]["run_id"]
            if delegate == "approve":
                return await self.approve(target, actor=request.actor)
            return await self.reject(target, actor=request.actor)
        return view

    async def confirm(self, run_id: str, yes: bool) -> RunView:
        """The requester's answer to a plan awaiting confirmation."""
        await self._require(run_id, "awaiting_confirmation")
        return await self._resume(run_id, {"confirm": yes})

    async def approve(self, run_id: str, *, actor: str, comment: str | None = None) -> RunView:
        """Approve a paused run (once: a second approve is refused)."""
        return await self._decide(run_id, "approve", actor=actor, comment=comment)

    async def reject(self, run_id: str, *, actor: str, comment: str | None = None) -> RunView:
        """Reject a paused run."""
        return await self._decide(run_id, "reject", actor=actor, comment=comment)

    async def _decide(self, run_id: str, verdict: str, *, actor: str, comment: str | None) -> RunView:
        run = await self._require(run_id, "awaiting_approval")
        request = (run.result or {}).get("awaiting") or {}
        if verdict == "approve" and request.get("four_eyes") and actor == request.get("requester"):
            raise ApprovalError(
                f"{actor} requested run {run_id}; a destructive change needs approval from someone else",
                hint="ask another approver to run `sophia-iac approve " + run_id + "`",
            )
        if not self.store.claim_run(run_id, "awaiting_approval", "deciding"):
            raise ApprovalError(f"run {run_id} is already being decided", hint=f"see `sophia-iac runs {run_id}`")
        answer = {"decision": verdict, "actor": actor, "comment": comment, "digest": run.plan_digest}
        try:
            return await self._resume(run_id, answer)
        except BaseException:
            self.store.claim_run(run_id, "deciding", "awaiting_approval")
            raise

    async def _require(self, run_id: str, status: str) -> Run:
        run = self.store.get_run(run_id)
        if run.status != status:
            raise ApprovalError(
                f"run {run_id} is {run.status}, not {status.replace('_', ' ')}",
                hint="nothing to do" if run.status in ("applied", "rejected", "cancelled") else "check the run id",
            )
        return run

    async def _resume(self, run_id: str, answer: dict[str, Any]) -> RunView:
        from langgraph.types import Command

        out = await self.graph.ainvoke(Command(resume=answer), self._config(run_id), context=self.deps,
                                       durability="sync")
        return self._settle(run_id, out)

    @staticmethod
    def _config(run_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": run_id}}

    def _settle(self, run_id: str, out: dict[str, Any]) -> RunView:
        interrupts = out.get("__interrupt__") or []
        awaiting = interrupts[0].value if interrupts else None
        status = AWAITING[awaiting["kind"]] if awaiting else out.get("status", "answered")
        parsed = out.get("parsed") or {}
        plan = out.get("plan")
        run = self.store.update_run(
            run_id, status=status, parsed=parsed, plan=plan, plan_digest=(plan or {}).get("digest"),
            decision=out.get("decision"), error=out.get("error"),
            result=out.get("result") or ({"awaiting": awaiting} if awaiting else None),
            parser=parsed.get("parser"),
        )
        touched = status in ("applied", "failed", "applying") or bool((out.get("result") or {}).get("changes"))
        return self._view(run, with_changes=touched) | {"awaiting": awaiting}

    def view(self, run_id: str) -> RunView:
        """A run as JSON, with its change records."""
        return self._view(self.store.get_run(run_id), with_changes=True)

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
                limit: int = 50) -> list[dict[str, Any]]:
        """Recorded changes, newest first."""
        from orchestrator.queries import history

        return history(self.deps, platform=platform, target=target, since=since, limit=limit)

    def change(self, change_id: str) -> dict[str, Any]:
        """One change record."""
        return self.store.ledger.get(change_id).model_dump(mode="json", exclude={"prev_hash", "hash"})

    async def undo(self, *, change_id: str | None = None, platform: str | None = None, target: str | None = None,
                   since: str | None = None, actor: str, surface: str = "cli", confirmed: bool = True,
                   dry_run: bool = False) -> RunView:
        """Undo a change (by id), the last change (optionally to a platform/target), or all since a time."""
        from orchestrator.state import Intent

        parsed = ParsedCommand(intent=Intent.UNDO, change_id=change_id, platform=platform, target=target,
                               since=since, parser="structured")
        words = change_id or ("everything" if since else "the last change")
        text = f"undo {words}" + (f" on {platform}" if platform else "") + (f" since {since}" if since else "")
        request = Request(text=text, actor=actor, surface=surface, confirmed=confirmed, dry_run=dry_run)
        return await self.submit(request, parsed)

    def runs(self, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Recent runs, newest first."""
        return [r.model_dump(mode="json") for r in self.store.list_runs(status=status, limit=limit)]

    def verify_ledger(self) -> Any:
        """Recompute the ledger's hash chain."""
        return self.store.ledger.verify()

"""An adapter-shaped front for resources managed as code.

:meth:`orchestrator.deps.AdapterPool.get` hands this out for a platform that has resources
listed in ``SOPHIA_IAC_MANAGED``. For those resources' actions the primitives the pipeline
already drives go to the IaC runner; every other action goes to the platform's own adapter:

* ``observe`` reads the stack (its ``resources`` output) and, for a change, runs the
  **preview** of the stack with the action applied to its spec;
* ``predict`` is the catalog-shaped expected state plus ``iac.preview`` (counts and property
  diff) — the plan shown for approval, and what the ledger's write-ahead record carries — and
  ``iac.warning`` when the change (an undo too) needs a replace;
* ``execute`` runs ``up`` (after an export kept as the rollback point) and returns the state
  read back plus ``last_modified`` = ``{"export_ref", "update"}`` (the rollback point and the
  update's summary): what the ledger records in the change's after-state. ``observe`` returns
  the same record for the resource until its next change. ``last_modified`` is one of the
  fields the executor leaves out of state comparisons (``orchestrator.executor.VOLATILE``), so
  undo's "changed since?" and "back to the before-state?" checks compare the resource only.

Undo of an IaC change is the catalog inverse run through the same path: it puts the
resource's previous configuration back into the spec and applies the stack again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.base import PlatformAdapter, PlatformStatus, State, WebhookRequest, WebhookResult, matches
from adapters.catalog import ActionCall, Stack
from orchestrator.errors import AdapterError, SophiaError

if TYPE_CHECKING:
    from iac.programs.base import Program, Transition
    from iac.runner import IacRunner, PlanSummary
    from orchestrator.config import Settings

__all__ = ["IacAdapter", "iac_adapter"]

#: Stack group per platform, for platforms whose own adapter isn't installed.
STACKS = {"snowflake": Stack.DATA, "github": Stack.DEV, "vercel": Stack.DEV, "pgvector": Stack.AI}

#: Where a state carries the record of the change that last modified it (not compared).
RECORD = "last_modified"


@dataclass
class _Planned:
    transition: Transition[Any]
    preview: PlanSummary


def _call_key(call: ActionCall) -> str:
    return json.dumps([call.action, call.target, call.params], sort_keys=True, default=str)


def _without_iac(state: State) -> State:
    return None if state is None else {k: v for k, v in state.items() if k not in ("iac", RECORD)}


class IacAdapter(PlatformAdapter):
    """Routes a platform's managed resources to the IaC runner, everything else to its adapter."""

    managed: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, settings: Settings | None = None, *, inner: Callable[[], PlatformAdapter] | None = None,
                 runner: IacRunner | None = None) -> None:
        super().__init__(settings)
        self._inner_factory = inner
        self._inner: PlatformAdapter | None = None
        self._runner = runner
        self._planned: dict[str, _Planned] = {}

    # -- wiring --------------------------------------------------------------------------
    @property
    def runner(self) -> IacRunner:
        """The IaC runner (created on first use)."""
        if self._runner is None:
            from iac.runner import IacRunner

            self._runner = IacRunner(self.settings)
        return self._runner

    @runner.setter
    def runner(self, runner: IacRunner) -> None:
        self._runner = runner

    @property
    def inner(self) -> PlatformAdapter:
        """The platform's own adapter, for actions not managed as code."""
        if self._inner is None:
            if self._inner_factory is None:
                from adapters.registry import adapter_class

                self._inner = adapter_class(self.name)(self.settings)
            else:
                self._inner = self._inner_factory()
        return self._inner

    @property
    def environment(self) -> str:
        """The stack name: one stack per environment."""
        return self.settings.default_environment

    def program(self, call: ActionCall) -> Program[Any] | None:
        """The program for ``call``, or None when the adapter handles it."""
        spec = self.spec(call.action)
        if spec.resource not in self.managed:
            return None
        from iac.programs.base import program_for

        program = program_for(f"{self.name}.{spec.resource}")
        return program if call.action in program.handles else None

    # -- primitives ----------------------------------------------------------------------
    async def observe(self, call: ActionCall) -> State:
        """The resource as the stack has it; for a change, also preview the change."""
        program = self.program(call)
        if program is None:
            return await self.inner.observe(call)
        view = await self.runner.view(program, self.environment)
        before = program.state(call, view.resources)
        record = self.runner.journal(program, self.environment).get(program.key(call))
        if before is not None and record:
            before = {**before, RECORD: record}
        if self.spec(call.action).mutating:
            program.precheck(call, _without_iac(before))
            transition = program.transition(view.spec, call)
            preview = await self.runner.preview(program, self.environment, transition.spec, transition.secrets)
            self._planned[_call_key(call)] = _Planned(transition, preview)
        return before

    def precheck(self, call: ActionCall, before: State) -> None:
        """The program's existence rules, or the adapter's."""
        program = self.program(call)
        if program is None:
            self.inner.precheck(call, before)
        else:
            program.precheck(call, _without_iac(before))

    def predict(self, call: ActionCall, before: State) -> State:
        """Expected state from the transitioned spec, with the preview (and any replace warning)."""
        program = self.program(call)
        if program is None:
            return self.inner.predict(call, before)
        planned = self._planned.get(_call_key(call))
        if planned is None:
            raise AdapterError(f"{call.action}: no preview was taken for this call",
                               hint="observe the call first (the pipeline always does)")
        expected = program.expected(planned.transition.spec, call)
        if expected is None:
            return None
        iac: dict[str, Any] = {"stack": planned.preview.stack, "preview": planned.preview.to_dict()}
        replaces = planned.preview.replaces
        if replaces:
            iac["warning"] = "needs a replace (deleted and re-created): " + ", ".join(
                f"{c.name} ({', '.join(c.replace_keys) or 'replacement'})" for c in replaces)
        return {**expected, "iac": iac}

    def reached(self, call: ActionCall, expected: State, observed: State) -> bool:
        """Compare resource state only: the preview and change records differ by design."""
        if self.program(call) is None:
            return self.inner.reached(call, expected, observed)
        return matches(_without_iac(expected), _without_iac(observed))

    async def execute(self, call: ActionCall, before: State) -> State:
        """Apply the stack with the action in its spec; returns the read-back plus the IaC record."""
        program = self.program(call)
        if program is None:
            return await self.inner.execute(call, before)
        view = await self.runner.view(program, self.environment)
        transition = program.transition(view.spec, call)
        key = program.key(call)
        report = await self.runner.up(program, self.environment, transition.spec, transition.secrets,
                                      message=f"sophia-iac: {call.action} {call.target or ''}".strip(), keys=(key,))
        self._planned.pop(_call_key(call), None)
        after = program.state(call, report.resources)
        if after is None:
            return None
        return {**after, RECORD: {"export_ref": report.export_ref["ref"], "update": report.summary()}}

    # -- public --------------------------------------------------------------------------
    async def get_status(self) -> PlatformStatus:
        """The stacks' resources by type (and the adapter's status when it exists)."""
        from iac.programs.base import program_for

        inventory: dict[str, list[dict[str, Any]]] = {}
        problems: list[str] = []
        programs = {program_for(f"{self.name}.{r}").project: program_for(f"{self.name}.{r}") for r in self.managed}
        for program in programs.values():
            try:
                view = await self.runner.view(program, self.environment)
            except SophiaError as exc:
                problems.append(str(exc))
                continue
            for key, state in view.resources.items():
                inventory.setdefault(key.split("/", 1)[0], []).append(state)
        managed = ", ".join(sorted(f"{self.name}.{r}" for r in self.managed))
        status = PlatformStatus(self.name, healthy=not problems, inventory=inventory,
                                message="; ".join(problems) or f"managed as code: {managed}",
                                details={"iac_stacks": [f"{p}/{self.environment}" for p in sorted(programs)]})
        try:
            inner = await self.inner.get_status()
        except SophiaError:
            return status
        inner.inventory = {**inner.inventory, **inventory}
        inner.healthy = inner.healthy and status.healthy
        inner.details = {**inner.details, **status.details}
        return inner

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Webhooks stay with the platform's adapter."""
        return await self.inner.handle_webhook(request)

    async def aclose(self) -> None:
        """Close the inner adapter if one was opened."""
        if self._inner is not None:
            await self._inner.aclose()


def iac_adapter(platform: str, managed: frozenset[str], settings: Settings,
                inner: Callable[[], PlatformAdapter] | None = None) -> IacAdapter:
    """An :class:`IacAdapter` for ``platform`` with ``managed`` resources (``{"warehouse"}``)."""
    from adapters.registry import platform_specs
    from orchestrator.errors import NotFoundError

    try:
        from adapters.registry import adapter_class

        own = adapter_class(platform)
        stack, webhooks = own.stack, own.supports_webhooks
    except NotFoundError:
        stack, webhooks = STACKS.get(platform, Stack.OPS), False
    specs = platform_specs(platform)
    cls = type(f"Iac{platform.title()}Adapter", (IacAdapter,), {
        "name": platform, "stack": stack, "actions": specs, "managed": frozenset(managed),
        "resource_types": tuple(dict.fromkeys(s.resource for s in specs)), "supports_webhooks": webhooks,
        "__doc__": f"{platform}: {', '.join(sorted(managed))} managed as code; the rest through its adapter.",
    })
    adapter: IacAdapter = cls(settings, inner=inner)
    return adapter

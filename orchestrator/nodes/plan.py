"""plan: ParsedCommand → Plan, validated against the catalog and the platforms' current state.

Actions: each call is re-validated (LLM output is untrusted), its before-state read, checked
and its after-state predicted. Undo: the changes to undo are found in the ledger and their
recorded inverses become the steps (an undo is a normal, policy-checked change).
"""

from __future__ import annotations

from asyncio import to_thread
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from adapters.catalog import ActionCall, format_validation_error
from orchestrator.deps import Deps
from orchestrator.errors import (
    AdapterError,
    IrreversibleError,
    NotFoundError,
    SophiaError,
    ValidationFailedError,
)
from orchestrator.executor import comparable
from orchestrator.since import parse_since
from orchestrator.state import GraphState, Intent, ParsedCommand, Plan, Step
from orchestrator.tracing import traced_observe
from policies.freezes import LEDGER_PLATFORM
from state.models import ChangeRecord, ChangeStatus

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # a hint only: a dry run walks this node without LangGraph

__all__ = ["parse_since", "plan"]

_UNSET: Any = object()


async def _step(deps: Deps, seq: int, call: ActionCall, undo_of: str | None = None, *,
                before: Any = _UNSET) -> Step:
    """One validated step; ``before`` is the state an earlier step of the plan will leave (else read)."""
    from adapters.registry import spec_for

    spec = spec_for(call.action)
    if spec.target_required and not call.target:
        raise ValidationFailedError(f"{call.action} needs a target ({spec.target})", hint=f"name the {spec.target}")
    try:
        call = spec.call(call.target, call.params)
    except ValidationError as err:
        raise ValidationFailedError(
            format_validation_error(spec.id, err, spec.secret_params),
            hint=f"see `sophia-iac actions` for {spec.id}'s params",
            details={"errors": [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in err.errors()]},
        ) from err
    adapter = deps.adapters.get(spec.platform)
    if before is _UNSET:
        before = await traced_observe(adapter, call)
    adapter.precheck(call, before)
    expected = adapter.predict(call, before)
    return Step(
        seq=seq, call=call, risk=spec.risk.value, reversible=spec.reversible,
        environment=deps.policy.environment(spec.platform, call.target), before=before, expected=expected,
        undo_of=undo_of,
    )


def _changes_to_undo(deps: Deps, parsed: ParsedCommand) -> list[ChangeRecord]:
    ledger = deps.store.ledger
    if parsed.change_id:
        return [ledger.get(parsed.change_id)]
    if parsed.since:
        since = parse_since(parsed.since)
        found = [c for c in ledger.list(platform=parsed.platform, target=parsed.target, since=since, limit=500)
                 if c.status == ChangeStatus.APPLIED and not c.undo_of and c.platform != LEDGER_PLATFORM]
        if not found:
            raise NotFoundError(f"no applied change on {parsed.platform or 'any platform'} since {since:%Y-%m-%d %H:%M} UTC",
                                hint="see `sophia-iac history`")
        return found  # newest first: undone in reverse order of application
    recent = [c for c in ledger.list(platform=parsed.platform, target=parsed.target, limit=200)
              if c.status in (ChangeStatus.APPLIED, ChangeStatus.ROLLED_BACK) and not c.undo_of
              and c.platform != LEDGER_PLATFORM]  # freeze records: lifted by `unfreeze`, not undone
    if not recent:
        where = f" to {parsed.platform}" if parsed.platform else ""
        raise NotFoundError(f"there is no change{where} to undo", hint="see `sophia-iac history`")
    return [recent[0]]


def _chain_key(change: ChangeRecord) -> tuple[str, str, str]:
    from adapters.registry import spec_for

    return change.platform, spec_for(change.action).resource, (change.target or "").lower()


def _check_undoable(change: ChangeRecord) -> None:
    if change.status == ChangeStatus.ROLLED_BACK:
        raise IrreversibleError(f"change {change.id} was already undone (by {change.rolled_back_by})",
                                hint="see `sophia-iac history`")
    if change.status != ChangeStatus.APPLIED:
        raise IrreversibleError(f"change {change.id} is {change.status}, not applied: there is nothing to undo",
                                hint="run `sophia-iac reconcile` first" if change.status in (
                                    ChangeStatus.PENDING, ChangeStatus.NEEDS_RECONCILE)
                                else "only applied changes can be undone")
    if not change.reversible or not change.inverse:
        from adapters.registry import spec_for

        said = spec_for(change.action).inverse_hint  # e.g. where a vendor's own undrop applies
        raise IrreversibleError(
            f"change {change.id} ({change.action} on {change.target}) can't be undone automatically",
            hint=(f"it is irreversible; undo: {said}" if said.startswith("none") else
                  "it is irreversible; restore by hand, or from a backup") if change.risk == "destructive"
            else "its before-state was not enough to derive an inverse",
        )


async def _undo_plan(deps: Deps, parsed: ParsedCommand) -> Plan:
    """Inverse steps, newest change first.

    Several changes to one resource form a chain: each older change is checked against, and
    planned from, the state the newer change's undo will leave (that change's before-state),
    not the current state, which still shows the newer change.
    """
    steps: list[Step] = []
    left: dict[tuple[str, str, str], Any] = {}  # resource → the state the steps so far leave it in
    for change in await to_thread(_changes_to_undo, deps, parsed):
        _check_undoable(change)
        key = _chain_key(change)
        inverse = ActionCall.model_validate(change.inverse)
        if key in left:
            current = left[key]
            step = await _step(deps, len(steps) + 1, inverse, undo_of=change.id, before=current)
        else:
            step = await _step(deps, len(steps) + 1, inverse, undo_of=change.id)
            current = await traced_observe(deps.adapters.get(change.platform), step.call)
        if comparable(current) != comparable(change.after):
            later = " (after the later changes in this undo are undone)" if key in left else ""
            raise AdapterError(
                f"{change.target} has changed since {change.id}{later} "
                f"({comparable(change.after)} → {comparable(current)})",
                hint="undoing now would overwrite that later change; undo the later change first",
            )
        if step.risk == "destructive" and current == change.after:
            # Undoing a creation nothing has touched since loses nothing: treat as a change.
            step = step.model_copy(update={"risk": "change", "note": f"undo of {change.id}; unchanged since"})
        left[key] = change.before
        steps.append(step)
    return Plan(steps=steps, summary=f"undo {', '.join(s.undo_of or '' for s in steps)}")


async def plan(state: GraphState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Build the plan; planning errors end the run with a clear message."""
    deps = runtime.context
    parsed = ParsedCommand.model_validate(state["parsed"])
    try:
        if parsed.intent is Intent.UNDO:
            result = await _undo_plan(deps, parsed)
        else:
            if not parsed.actions:
                raise ValidationFailedError("the command names no action", hint="try `sophia-iac actions`")
            steps = [await _step(deps, i + 1, call) for i, call in enumerate(parsed.actions)]
            result = Plan(steps=steps, summary="; ".join(f"{s.call.action} {s.call.target or ''}".strip() for s in steps))
    except SophiaError as exc:
        return {"error": exc.to_dict(), "status": "failed"}
    return {"plan": result.model_dump(mode="json") | {"digest": result.digest}, "status": "planned"}

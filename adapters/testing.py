"""The conformance suite every adapter passes.

A test module subclasses :class:`AdapterConformanceTests` and provides two fixtures:

* ``adapter`` — a configured instance talking to something real (a database, a contract
  server);
* ``scenario`` — a list of :class:`ActionCall` s that, run in order, exercise every mutating
  action of the adapter at least once (e.g. create → configure → delete).

The suite then checks the declarations, the dispatch table, dry runs (nothing changes), that
each applied call reaches its predicted state, that every reversible call's inverse restores
the before-state, and — the fault matrix — that under five transport faults the ledger, once
reconciled, tells the truth about every mutating action.

An adapter with no read-back (``read_back`` False: UserGems) can't show the platform's state, so
its test module overrides :meth:`AdapterConformanceTests.platform_state` with the test's own
view of the platform (a state model in front of the contract server), and the suite checks
that view instead of ``observe``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from adapters.base import PlatformAdapter, PlatformStatus, matches
from adapters.catalog import ActionCall, ActionSpec, Risk, Stack
from adapters.testing_faults import FaultMatrixTests

__all__ = ["AdapterConformanceTests", "run"]

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion (the suite stays independent of async test plugins)."""
    return asyncio.run(coro)


def _comparable(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """State minus volatile fields (row counts, timestamps) for before/after comparisons."""
    if state is None:
        return None
    return {k: v for k, v in state.items() if k not in {"rows", "updated_at", "created_at", "id"}}


class AdapterConformanceTests(FaultMatrixTests):
    """Subclass in ``tests/adapters/test_<platform>.py``; provide ``adapter`` and ``scenario``.

    The fault matrix (:mod:`adapters.testing_faults`) comes with it: HTTP adapters need
    nothing more; others override ``install_faults``.
    """

    def test_declarations(self, adapter: PlatformAdapter) -> None:
        cls = type(adapter)
        assert cls.name and cls.name.isidentifier()
        assert isinstance(cls.stack, Stack)
        assert cls.actions, "an adapter declares at least one action"
        ids = [spec.id for spec in cls.actions]
        assert len(ids) == len(set(ids)), "action ids are unique"
        for spec in cls.actions:
            assert isinstance(spec, ActionSpec)
            assert spec.platform == cls.name, f"{spec.id} belongs to {cls.name}"
            assert spec.examples, f"{spec.id} has example utterances"
            assert spec.summary

    def test_every_action_has_a_handler(self, adapter: PlatformAdapter) -> None:
        for spec in type(adapter).actions:
            handler = getattr(adapter, PlatformAdapter.handler_name(spec), None)
            assert callable(handler), f"{type(adapter).__name__} lacks {PlatformAdapter.handler_name(spec)}"

    def test_params_reject_unknown_fields(self, adapter: PlatformAdapter) -> None:
        from pydantic import ValidationError

        for spec in type(adapter).actions:
            with pytest.raises(ValidationError):
                spec.validate_params({"definitely_not_a_param": 1})

    def test_destructive_actions_are_irreversible(self, adapter: PlatformAdapter) -> None:
        for spec in type(adapter).actions:
            if spec.risk is Risk.DESTRUCTIVE:
                assert not spec.reversible

    def test_get_status(self, adapter: PlatformAdapter) -> None:
        status = run(adapter.get_status())
        assert isinstance(status, PlatformStatus)
        assert status.platform == type(adapter).name
        assert status.healthy, status.message
        for resource_type, items in status.inventory.items():
            assert resource_type in type(adapter).resource_types
            assert all("name" in item for item in items)

    def test_scenario_covers_every_mutating_action(self, adapter: PlatformAdapter, scenario: list[ActionCall]) -> None:
        mutating = {s.id for s in type(adapter).actions if s.mutating}
        assert mutating <= {c.action for c in scenario}, f"not exercised: {mutating - {c.action for c in scenario}}"

    def test_dry_run_changes_nothing(self, adapter: PlatformAdapter, scenario: list[ActionCall]) -> None:
        first = scenario[0]
        before = run(adapter.observe(first))
        result = run(adapter.configure(first, dry_run=True))
        assert result.dry_run and result.after is None
        assert _comparable(run(adapter.observe(first))) == _comparable(before)

    def test_scenario_reaches_predictions_and_inverses_restore(
        self, adapter: PlatformAdapter, scenario: list[ActionCall]
    ) -> None:
        reads = type(adapter).read_back
        for call in scenario:
            spec = adapter.spec(call.action)
            shown = None if reads else self.platform_state(adapter, call)  # no read-back: the test's view
            result = run(adapter.configure(call))
            if reads:  # without read-back, ``after`` is the platform's acknowledgement, not a state
                assert adapter.reached(result.call, result.expected, result.after), (
                    f"{call.action}: after {result.after} is not the predicted {result.expected}"
                )
            assert adapter.reached(result.call, result.expected, self.platform_state(adapter, call)), "read-back agrees"
            if spec.reversible and spec.mutating:
                assert result.inverse is not None, f"{call.action} is reversible but derived no inverse"
                undo = run(adapter.configure(result.inverse))
                restored = self.platform_state(adapter, call)
                before = result.before if reads else shown
                assert matches(_comparable(before), _comparable(restored)), (
                    f"undo of {call.action} left {restored}, not the before-state {before}"
                )
                # Re-apply so the next step of the scenario starts from the expected state.
                redo = run(adapter.configure(call))
                assert adapter.reached(redo.call, redo.expected, redo.after if reads else self.platform_state(adapter, call))
                del undo

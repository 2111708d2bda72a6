"""The conformance suite for platforms whose ``create`` is undone by *archiving*.

Slack channels and Linear projects can't be deleted with the scopes an operator grants (Slack
needs an Enterprise admin token, Linear's delete trashes); the catalog's inverse of ``create`` is
``archive``. Undoing a create therefore leaves the resource present and archived, not absent,
so the generic "the inverse restores the before-state" check can't hold for that one step.
This subclass keeps every other check and, for a create, asserts exactly what its inverse does
promise: the resource is archived afterwards. The scenario then continues by unarchiving it.
"""

from __future__ import annotations

from typing import ClassVar

from adapters.base import PlatformAdapter, matches
from adapters.catalog import ActionCall
from adapters.testing import AdapterConformanceTests, _comparable, run

__all__ = ["ArchivingConformanceTests"]


class ArchivingConformanceTests(AdapterConformanceTests):
    """Set ``archived_field`` (the state key) and ``unarchive_action`` in the subclass."""

    archived_field: ClassVar[str]
    unarchive_action: ClassVar[str]

    def test_scenario_reaches_predictions_and_inverses_restore(
        self, adapter: PlatformAdapter, scenario: list[ActionCall]
    ) -> None:
        for call in scenario:
            spec = adapter.spec(call.action)
            result = run(adapter.configure(call))
            assert adapter.reached(result.call, result.expected, result.after), (
                f"{call.action}: after {result.after} is not the predicted {result.expected}"
            )
            assert adapter.reached(result.call, result.expected, run(adapter.observe(call))), (
                "read-back agrees"
            )
            if not (spec.reversible and spec.mutating):
                continue
            assert result.inverse is not None, f"{call.action} is reversible but derived no inverse"
            run(adapter.configure(result.inverse))
            restored = run(adapter.observe(call))
            if spec.verb == "create":
                assert result.before is None and restored is not None
                assert restored[self.archived_field] is True, (
                    f"undo of {call.action} did not archive: {restored}"
                )
                redo = run(adapter.configure(ActionCall(action=self.unarchive_action, target=call.target)))
                assert redo.after is not None and redo.after[self.archived_field] is False
                continue
            assert matches(_comparable(result.before), _comparable(restored)), (
                f"undo of {call.action} left {restored}, not the before-state {result.before}"
            )
            redo = run(adapter.configure(call))
            assert adapter.reached(redo.call, redo.expected, redo.after)

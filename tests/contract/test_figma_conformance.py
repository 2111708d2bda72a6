"""FigmaAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no Figma can run here, so the platform is Figma's published OpenAPI
contract served by Prism (every request checked, zero request-side violations asserted at
teardown), steered by :class:`~tests.adapters.figma_double.FigmaDouble`, a small state model
(one team's webhooks and a few files) that applies each change and supplies the values (and,
for errors, the declared status) in Prism's answers. Prism runs in its default static mode:
the contract has no examples, and Prism then builds each answer from the schema, which is
enough here since the model supplies the values (``-d`` gives the same checks with random
values, but the session pool can only prestart static servers).

``webhook.delete`` is undone by recreating the hook from its before-state (same team, event
type and endpoint, a new id), so "undo restores the before-state" can't hold for it; it gets
that equivalent, stated check instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.base import PlatformAdapter
from adapters.catalog import ActionCall
from adapters.dev.figma import FigmaAdapter
from adapters.testing import AdapterConformanceTests, run
from orchestrator.config import Settings
from tests.adapters.figma_double import PASSCODE, TEAM, TOKEN, FigmaDouble, scenario_calls

from .common import checked, closed_after
from .prism import PrismPool, RecordingTransport
from .steered import Sleeps

SPEC = "openapi.yaml"
PRISM_SPECS = [("figma", SPEC)]


class TestFigmaConformance(AdapterConformanceTests):
    """The whole suite, with the compensating delete inverse checked for what it promises."""

    @pytest.fixture
    def double(self) -> FigmaDouble:
        return FigmaDouble()

    @pytest.fixture
    def transport(
        self, prism: PrismPool, monkeypatch: pytest.MonkeyPatch, double: FigmaDouble
    ) -> Iterator[RecordingTransport]:
        (server,) = prism.serve("figma", SPEC)
        with checked(monkeypatch, "figma", server.base_url, TOKEN, double.steer(RecordingTransport()),
                     SOPHIA_FIGMA_WEBHOOK_SECRET=PASSCODE, SOPHIA_FIGMA_TEAM_IDS=TEAM) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[FigmaAdapter]:
        with closed_after(FigmaAdapter(Settings(), transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return scenario_calls()

    def test_scenario_reaches_predictions_and_inverses_restore(
        self, adapter: PlatformAdapter, scenario: list[ActionCall]
    ) -> None:
        restoring = [c for c in scenario if c.action != "figma.webhook.delete"]
        super().test_scenario_reaches_predictions_and_inverses_restore(adapter, restoring)
        (delete,) = [c for c in scenario if c.action == "figma.webhook.delete"]
        result = run(adapter.configure(delete))
        assert result.after is None and adapter.reached(result.call, result.expected, result.after)
        assert result.inverse is not None and result.inverse.action == "figma.webhook.create"
        undo = run(adapter.configure(result.inverse))
        assert adapter.reached(undo.call, undo.expected, undo.after), "undo of figma.webhook.delete"
        assert result.before is not None and undo.after is not None
        keep = ("team_id", "event_type", "endpoint", "status")
        assert {k: undo.after[k] for k in keep} == {k: result.before[k] for k in keep}
        assert undo.after["id"] != result.before["id"]

    def test_created_hooks_carry_the_passcode_and_states_never_do(
        self, adapter: FigmaAdapter, scenario: list[ActionCall], double: FigmaDouble
    ) -> None:
        result = run(adapter.configure(scenario[0]))
        assert double.passcodes == [PASSCODE]
        assert PASSCODE not in repr((result.before, result.expected, result.after, result.inverse))
        status = run(adapter.get_status())
        assert {h["name"] for h in status.inventory["webhook"]} == set(double.hooks)
        assert PASSCODE not in repr(status)

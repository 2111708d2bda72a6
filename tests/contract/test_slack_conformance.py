"""SlackAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no Slack can run here. slack-sdk's ``AsyncWebClient`` talks over HTTP to
:class:`~tests.adapters.slack_double.SlackDouble`, a small state model on a loopback port that
first forwards every request to Prism serving Slack's published contract (zero request-side
violations asserted at teardown) and then answers from its state.

One catalog inverse compensates rather than restores: ``channel.create`` is undone by archiving
(Slack channels can't be deleted without an Enterprise admin token), so
:class:`~tests.adapters.archiving.ArchivingConformanceTests` checks that the channel is archived
after the undo instead of absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from adapters.catalog import ActionCall
from adapters.http import reset_breakers
from adapters.ops.slack import SlackAdapter
from adapters.testing import run
from orchestrator.config import Settings
from tests.adapters.archiving import ArchivingConformanceTests
from tests.adapters.slack_double import TOKEN, SlackDouble, SlackFaults, scenario_calls, serve

from .prism import PrismPool, assert_no_request_violations

SPEC = "slack_web_openapi_v2.json"
PRISM_SPECS = [("slack", SPEC)]


async def _no_wait(seconds: float) -> None:
    return None


class TestSlackConformance(ArchivingConformanceTests):
    """The whole suite; create's undo archives the channel."""

    archived_field = "is_archived"
    unarchive_action = "slack.channel.unarchive"

    @pytest.fixture
    def state(self) -> SlackDouble:
        return SlackDouble()

    @pytest.fixture
    def adapter(
        self, prism: PrismPool, state: SlackDouble, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[SlackAdapter]:
        (server,) = prism.serve("slack", SPEC)
        with serve(state, prism_url=server.base_url) as base_url:
            monkeypatch.setenv("SOPHIA_SLACK_BASE_URL", base_url)
            monkeypatch.setenv("SOPHIA_SLACK_TOKEN", TOKEN)
            reset_breakers()
            yield SlackAdapter(Settings(), sleep=_no_wait)
        reset_breakers()
        assert_no_request_violations(state.exchanges)

    @contextmanager
    def install_faults(self, adapter: SlackAdapter, kind: str) -> Iterator[SlackFaults]:
        """Faults injected by the Slack double where each request arrives (see SlackFaults)."""
        faults = self._state.faults
        faults.kind = kind
        yield faults
        faults.kind = None

    @pytest.fixture(autouse=True)
    def _keep_state(self, state: SlackDouble) -> None:
        self._state = state

    def test_every_request_was_checked_by_prism(
        self, adapter: SlackAdapter, state: SlackDouble, scenario: list[ActionCall]
    ) -> None:
        for call in scenario:
            run(adapter.configure(call))
        assert len(state.exchanges) == len(state.calls) > 0

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return scenario_calls()

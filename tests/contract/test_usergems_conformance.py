"""UserGemsAdapter passes the shared adapter conformance suite, fault matrix included.

Stand-in, said plainly: no UserGems can run here, so the platform is a contract WRITTEN BY HAND
from UserGems' API reference (``fixtures/usergems/openapi.yaml``) served by Prism — every request
checked, unknown body fields refused, zero request-side violations and zero query-string
problems asserted at teardown — with a small state model
(:class:`~tests.contract.usergems_twin.UserGemsTwin`) keeping the tracked emails.

UserGems has no read-back, so the suite checks the twin (:meth:`platform_state`), which only the
tests can see, instead of ``observe``; and its fault matrix checks, for each of the five faults,
that the ledger records a success only as ``applied`` with ``verified`` False, and only when an
answer got through: a lost answer is ``needs_reconcile``, never a success.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.base import State
from adapters.catalog import ActionCall
from adapters.data.usergems import UserGemsAdapter, contact_email
from adapters.registry import adapter_class, spec_for
from adapters.testing import AdapterConformanceTests, run

from .common import checked, closed_after
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps
from .usergems_twin import UserGemsTwin, shared_server

TOKEN = "usergems-conformance-key-7f3a"


@pytest.fixture(scope="module")
def usergems_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract (shared with the other UserGems tests)."""
    return shared_server(request.config)


class TestUserGemsConformance(AdapterConformanceTests):
    """The suite, checked against the twin (the adapter itself can't read anything back)."""

    twin: UserGemsTwin

    @pytest.fixture
    def transport(
        self, usergems_server: PrismServer, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[RecordingTransport]:
        self.twin = UserGemsTwin()
        with checked(
            monkeypatch, "usergems", usergems_server.base_url, TOKEN, self.twin.attach(RecordingTransport())
        ) as t:
            yield t
        assert self.twin.query_problems == []

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[UserGemsAdapter]:
        with closed_after(UserGemsAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("usergems.contact.track").call("Jane.Doe@acme.com"),
            spec_for("usergems.contact.untrack").call("bob@globex.io"),
        ]

    def platform_state(self, adapter: UserGemsAdapter, call: ActionCall) -> State:  # type: ignore[override]
        """The twin's view: UserGems itself can't be asked."""
        return self.twin.state(contact_email(call.target))

    def test_registered(self) -> None:
        assert adapter_class("usergems") is UserGemsAdapter
        assert UserGemsAdapter.read_back is False

    def test_observe_asks_nothing_and_knows_nothing(
        self, adapter: UserGemsAdapter, transport: RecordingTransport
    ) -> None:
        call = spec_for("usergems.contact.track").call("bob@globex.io")
        assert run(adapter.observe(call)) == {"email": "bob@globex.io", "tracked": None}
        assert transport.exchanges == []

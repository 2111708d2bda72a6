"""ApolloAdapter passes the shared adapter conformance suite, fault matrix included.

Stand-in, said plainly: no Apollo can run here, so the platform is a contract WRITTEN BY HAND
from Apollo's API reference (``fixtures/apollo/openapi.yaml``) served by Prism — every request
checked, zero request-side violations and zero query-string problems asserted at teardown — with
a small state model (:class:`~tests.contract.apollo_twin.ApolloTwin`) steering Prism's
stateless answers, so apply → read back → undo → read back can be observed. The fault matrix
injects its five faults into the change itself (approve, abort, add_contact_ids,
remove_or_stop_contact_ids), never into the
searches, which are POSTs that only read (``ApolloAdapter.read_only_posts``).

Beyond the suite: through the real executor and ledger, a read-back that lags (Apollo's search
not yet showing the change) is recorded ``needs_reconcile``, never ``applied``, and the
reconciler settles it once the search agrees; a contact Apollo skips is recorded ``failed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.catalog import ActionCall
from adapters.data.apollo import ApolloAdapter
from adapters.registry import adapter_class, spec_for
from adapters.testing import AdapterConformanceTests, run
from adapters.testing_faults import _OnePool, apply_through_ledger
from orchestrator.reconcile import reconcile_store
from state.models import ChangeStatus
from state.store import Store

from .apollo_twin import SEQ, ApolloTwin, shared_server
from .common import checked, closed_after
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "apollo-conformance-key-0c9d8e"


@pytest.fixture(scope="module")
def apollo_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract (shared with the contract tests)."""
    return shared_server(request.config)


class TestApolloConformance(AdapterConformanceTests):
    """The suite, plus: registered, existing things read back, the ledger under lag and skips."""

    @pytest.fixture
    def twin(self) -> Iterator[ApolloTwin]:
        twin = ApolloTwin()
        yield twin
        assert twin.query_problems == []

    @pytest.fixture
    def transport(
        self, apollo_server: PrismServer, twin: ApolloTwin, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[RecordingTransport]:
        monkeypatch.delenv("SOPHIA_APOLLO_EMAIL_ACCOUNT_ID", raising=False)
        with checked(
            monkeypatch, "apollo", apollo_server.base_url, TOKEN, twin.attach(RecordingTransport())
        ) as t:
            yield t

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[ApolloAdapter]:
        with closed_after(ApolloAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("apollo.sequence.activate").call("Q4 Outbound"),
            spec_for("apollo.sequence.deactivate").call("enterprise nurture"),
            spec_for("apollo.contact.add_to_sequence").call("jane.doe@acme.com", {"sequence": "Q4 Outbound"}),
            # add → remove: each is the other's inverse, and each inverse restores the before-state
            spec_for("apollo.contact.remove_from_sequence").call(
                "jane.doe@acme.com", {"sequence": "Q4 Outbound"}
            ),
        ]

    def test_registered(self) -> None:
        assert adapter_class("apollo") is ApolloAdapter

    def test_existing_things_read_back(self, adapter: ApolloAdapter) -> None:
        observe = spec_for("apollo.sequence.activate").call
        assert run(adapter.observe(observe("ENTERPRISE NURTURE"))) == {
            "id": SEQ["Enterprise Nurture"],
            "name": "Enterprise Nurture",
            "active": True,
            "archived": False,
        }
        assert run(adapter.observe(observe("No Such Sequence"))) is None
        contact = spec_for("apollo.contact.add_to_sequence").call(
            "bob@globex.io", {"sequence": "Q4 Outbound"}
        )
        assert run(adapter.observe(contact)) == {
            "id": "66e34b81740c50074e3d1b02",
            "email": "bob@globex.io",
            "sequences": ["Enterprise Nurture"],
        }

    def test_a_lagging_read_back_is_never_recorded_applied(
        self, adapter: ApolloAdapter, twin: ApolloTwin, tmp_path: Path
    ) -> None:
        """Apollo adds the contact but its search still shows the old membership: unverified."""
        store = Store(f"sqlite:///{tmp_path / 'ledger.db'}")
        store.setup()
        try:
            call = spec_for("apollo.contact.add_to_sequence").call(
                "jane.doe@acme.com", {"sequence": "Q4 Outbound"}
            )
            # Three contact searches see the old membership: the plan's, the executor's, and the
            # read-back after the add; the reconciler's, later, sees the contact in the sequence.
            twin.lag(3)
            recorded = run(apply_through_ledger(store, adapter, call))
            assert recorded["status"] == ChangeStatus.NEEDS_RECONCILE, recorded
            assert twin.contacts["66e34b81740c50074e3d1b01"]["statuses"] == {SEQ["Q4 Outbound"]: "paused"}
            run(reconcile_store(store, _OnePool(adapter)))  # type: ignore[arg-type]
            settled = store.ledger.get(recorded["id"])
            assert settled.status == ChangeStatus.APPLIED and settled.after is not None
            assert settled.after["sequences"] == ["Q4 Outbound"]
        finally:
            store.dispose()

    def test_a_skipped_contact_is_recorded_failed(self, adapter: ApolloAdapter, tmp_path: Path) -> None:
        store = Store(f"sqlite:///{tmp_path / 'ledger.db'}")
        store.setup()
        try:
            call = spec_for("apollo.contact.add_to_sequence").call(
                "ana@initech.com", {"sequence": "Q4 Outbound"}
            )
            recorded = run(apply_through_ledger(store, adapter, call))
            change = store.ledger.get(recorded["id"])
            assert change.status == ChangeStatus.FAILED and "contacts_active_in_other_campaigns" in (
                change.error or ""
            )
            assert change.after == change.before, "read back: nothing changed"
        finally:
            store.dispose()

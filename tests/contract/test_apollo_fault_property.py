"""A property over random fault schedules and Apollo changes: the ledger equals the platform.

Hypothesis draws a sequence of Apollo changes (turning sequences on and off, adding a contact
to a sequence and removing it; some of which the state at that moment refuses before anything is sent) and, for
every change request each makes, a fault: none, the answer lost after Apollo applied it, a 503
after applying, a timeout before it arrives, a 429, or a dropped connection after applying.
Searches are reads (``ApolloAdapter.read_only_posts``) and are never faulted. Each change goes
through the real write-ahead executor and a real SQLite ledger; the reconciler runs after each.
Invariants, after every step: a step that put a change request on the wire has exactly one
ledger record; every record is settled and matches the platform read back; no POST was applied
twice.

Stand-in, said plainly: no Apollo can run here; the platform is the hand-written contract served
by Prism with the :class:`~tests.contract.apollo_twin.ApolloTwin` state model, as in the
conformance suite. Examples are derandomised so a failure reproduces.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.catalog import ActionCall
from adapters.data.apollo import ApolloAdapter
from adapters.registry import spec_for
from adapters.testing import run
from adapters.testing_faults import FAULT_KINDS, FaultTransport
from state.store import Store

from .apollo_twin import ApolloTwin, shared_server
from .common import pointed_at
from .fault_steps import assert_settled_as_observed, fault_step
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "apollo-property-key-5e4d3c"

CALLS = [
    spec_for("apollo.sequence.activate").call("Q4 Outbound"),
    spec_for("apollo.sequence.deactivate").call("Q4 Outbound"),
    spec_for("apollo.sequence.deactivate").call("Enterprise Nurture"),
    spec_for("apollo.sequence.activate").call("enterprise nurture"),
    spec_for("apollo.contact.add_to_sequence").call("jane.doe@acme.com", {"sequence": "Q4 Outbound"}),
    spec_for("apollo.contact.remove_from_sequence").call("jane.doe@acme.com", {"sequence": "Q4 Outbound"}),
    # bob is in Enterprise Nurture from the start: a removal that reaches the wire in one step
    spec_for("apollo.contact.remove_from_sequence").call("bob@globex.io", {"sequence": "Enterprise Nurture"}),
]

FAULT = st.one_of(st.none(), st.sampled_from(FAULT_KINDS))
STEP = st.tuples(st.sampled_from(range(len(CALLS))), st.lists(FAULT, min_size=1, max_size=3))


@pytest.fixture(scope="module")
def apollo_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract."""
    return shared_server(request.config)


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=2, max_size=3))
def test_every_change_request_has_one_record_that_matches_apollo(
    steps: list[tuple[int, list[str | None]]],
    apollo_server: PrismServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('property') / 'ledger.db'}")
    store.setup()
    twin = ApolloTwin()
    faults = FaultTransport(twin.attach(RecordingTransport()), "lost", ApolloAdapter.read_only_posts)
    adapter = ApolloAdapter(transport=faults, sleep=Sleeps())
    monkeypatch.delenv("SOPHIA_APOLLO_EMAIL_ACCOUNT_ID", raising=False)
    try:
        with pointed_at(monkeypatch, "apollo", apollo_server.base_url, TOKEN):
            for index, schedule in steps:
                _step(store, adapter, faults, CALLS[index], schedule)
    finally:
        run(adapter.aclose())
        store.dispose()
    assert twin.query_problems == []


def _step(
    store: Store, adapter: ApolloAdapter, faults: FaultTransport, call: ActionCall, schedule: list[str | None]
) -> None:
    step = fault_step(store, adapter, faults, call, schedule)
    assert_settled_as_observed(step, adapter)
    assert not step.tally.duplicates(), f"{step.where}: applied twice {step.tally.duplicates()}"

"""A property over random fault schedules and action sequences: the ledger equals the platform.

Hypothesis draws a sequence of Pinecone control-plane changes (create, rescale, delete — some
of which the state at that moment refuses before anything is sent) and, for every mutating
request each change makes, a fault: none, the answer lost after the vendor applied it, a 503
after applying, a timeout before it arrives, a 429, or a dropped connection after applying
(which the client may retry). Each change goes through the real write-ahead executor and a
real SQLite ledger; the reconciler runs after each. Invariants, after every step:

* a step that put any mutating request on the wire has exactly one ledger record;
* every record is settled (``applied`` or ``failed``), and its status matches the platform
  read back (``applied`` → the predicted state, ``failed`` → the before-state);
* no POST was applied twice.

Stand-in, said plainly: no Pinecone can run here; the platform is Pinecone's own document
served by Prism with the :class:`~tests.contract.pinecone_twin.PineconeTwin` state model, as in
the conformance suite. Examples are derandomised so a failure reproduces; Hypothesis shrinks
it to the shortest failing sequence.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.ai.pinecone import PineconeAdapter
from adapters.catalog import ActionCall
from adapters.registry import spec_for
from adapters.testing import run
from adapters.testing_faults import FAULT_KINDS, FaultTransport
from state.store import Store

from .common import pointed_at
from .fault_steps import assert_settled_as_observed, fault_step
from .pinecone_twin import DOCUMENT, PineconeTwin
from .prism import PrismPool, PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "pcsk_property_5e4d3c2b1a09"

CALLS = [
    spec_for("pinecone.index.create").call("product-search", {"dimension": 1536, "metric": "cos"}),
    spec_for("pinecone.index.configure").call("product-search", {"replicas": 2}),
    spec_for("pinecone.index.configure").call("support-kb", {"replicas": 3}),
    spec_for("pinecone.index.configure").call("support-kb", {"replicas": 1}),
    spec_for("pinecone.index.delete").call("product-search"),
]

FAULT = st.one_of(st.none(), st.sampled_from(FAULT_KINDS))
STEP = st.tuples(st.sampled_from(range(len(CALLS))), st.lists(FAULT, min_size=1, max_size=3))


PRISM_SPECS = [DOCUMENT]


@pytest.fixture(scope="module")
def pinecone_server(prism: PrismPool) -> PrismServer:
    """The session's Prism serving Pinecone's own document."""
    (server,) = prism.serve(*DOCUMENT)
    return server


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=2, max_size=4))
def test_every_mutating_request_has_one_record_that_matches_the_platform(
    steps: list[tuple[int, list[str | None]]], pinecone_server: PrismServer, monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('property') / 'ledger.db'}")
    store.setup()
    recording = PineconeTwin().attach(RecordingTransport())
    faults = FaultTransport(recording, "lost")
    adapter = PineconeAdapter(transport=faults, sleep=Sleeps())
    try:
        with pointed_at(monkeypatch, "pinecone", pinecone_server.base_url, TOKEN):
            for index, schedule in steps:
                _step(store, adapter, faults, CALLS[index], schedule)
    finally:
        run(adapter.aclose())
        store.dispose()


def _step(store: Store, adapter: PineconeAdapter, faults: FaultTransport, call: ActionCall,
          schedule: list[str | None]) -> None:
    step = fault_step(store, adapter, faults, call, schedule)
    assert_settled_as_observed(step, adapter)
    assert not step.tally.duplicates(), f"{step.where}: applied twice {step.tally.duplicates()}"


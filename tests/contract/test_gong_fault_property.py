"""A property over random fault schedules and Gong access changes: the ledger equals the platform.

Hypothesis draws a sequence of grants and revokes of individual call access (some of which the
state at that moment refuses before anything is sent) and, for every change request each makes,
a fault: none, the answer lost after Gong applied it, a 5xx after applying, a timeout before it
arrives, a 429, or a dropped connection after applying. The access read (a POST that only reads:
``GongAdapter.read_only_posts``) is never faulted. Each change goes through the real write-ahead
executor and a real SQLite ledger; the reconciler runs after each. Invariants, after every step:
a step that put a change request on the wire has exactly one ledger record; every record is
settled and matches the platform read back.

Stand-in, said plainly: no Gong can run here; the platform is the hand-written contract served by
Prism with the :class:`~tests.contract.gong_twin.GongTwin` state model, as in the conformance
suite. Examples are derandomised so a failure reproduces.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.catalog import ActionCall
from adapters.data.gong import GongAdapter
from adapters.registry import spec_for
from adapters.testing import run
from adapters.testing_faults import FAULT_KINDS, FaultTransport
from state.store import Store

from .common import pointed_at
from .fault_steps import assert_settled_as_observed, fault_step
from .gong_twin import CALL, GongTwin, shared_server
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "gong-property-key:gong-property-secret-5e4d3c"

CALLS = [
    spec_for("gong.call.access.grant").call("jane.doe@acme.com", {"call": CALL["intro"]}),
    spec_for("gong.call.access.revoke").call("jane.doe@acme.com", {"call": CALL["intro"]}),
    spec_for("gong.call.access.revoke").call("bob@globex.io", {"call": CALL["demo"]}),
    spec_for("gong.call.access.grant").call("bob@globex.io", {"call": CALL["demo"]}),
]

FAULT = st.one_of(st.none(), st.sampled_from(FAULT_KINDS))
STEP = st.tuples(st.sampled_from(range(len(CALLS))), st.lists(FAULT, min_size=1, max_size=3))


@pytest.fixture(scope="module")
def gong_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract."""
    return shared_server(request.config)


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=2, max_size=3))
def test_every_change_request_has_one_record_that_matches_gong(
    steps: list[tuple[int, list[str | None]]],
    gong_server: PrismServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('property') / 'ledger.db'}")
    store.setup()
    twin = GongTwin()
    faults = FaultTransport(twin.attach(RecordingTransport()), "lost", GongAdapter.read_only_posts)
    adapter = GongAdapter(transport=faults, sleep=Sleeps())
    try:
        with pointed_at(monkeypatch, "gong", gong_server.base_url, TOKEN):
            for index, schedule in steps:
                _step(store, adapter, faults, CALLS[index], schedule)
    finally:
        run(adapter.aclose())
        store.dispose()
    assert twin.query_problems == []


def _step(
    store: Store, adapter: GongAdapter, faults: FaultTransport, call: ActionCall, schedule: list[str | None]
) -> None:
    step = fault_step(store, adapter, faults, call, schedule)
    assert_settled_as_observed(step, adapter)

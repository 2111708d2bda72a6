"""A property over random fault schedules and Estuary publications: the ledger equals the platform.

Hypothesis draws a sequence of Estuary changes (disabling and enabling captures and
materializations; some refused before anything is sent because the task is already in the asked
state), and for each: a fault for every change request it makes (none, the answer lost after
Estuary applied it, a 503 after applying, a timeout, a 429, a dropped connection), how many
status reads the publication stays ``queued`` for (0, 1, or longer than the adapter waits), and
whether it then succeeds or fails to build. Each change goes through the real write-ahead
executor and a real SQLite ledger, and the reconciler runs.

Invariants, after every step: a step that put a change request on the wire has exactly one
ledger record; **while a publication it queued has not ended, that record is
``needs_reconcile``** — never ``applied`` or ``failed`` without a read-back that can see the
outcome; once every publication has ended and the reconciler has run again, every record is
settled and matches the platform read back; no POST was applied twice. GraphQL queries and the
token exchange are reads (``EstuaryAdapter.read_only_posts``) and are never faulted.

Stand-in, said plainly: no Estuary can run here; the platform is the hand-written contract served
by Prism with the :class:`~tests.contract.estuary_twin.EstuaryTwin` state model (GraphQL executed
against Estuary's own schema), as in the contract tests. Examples are derandomised.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.catalog import ActionCall
from adapters.data.estuary import EstuaryAdapter
from adapters.data.estuary.records import SUPABASE_KEY_VAR
from adapters.registry import spec_for
from adapters.testing import run
from adapters.testing_faults import FAULT_KINDS, FaultTransport, _OnePool, apply_through_ledger
from orchestrator.errors import SophiaError
from orchestrator.reconcile import reconcile_store
from state.models import ChangeStatus
from state.store import Store

from .common import pointed_at
from .estuary_twin import KEY, REFRESH, EstuaryTwin, shared_server
from .fault_steps import StepOutcome, assert_settled_as_observed
from .prism import PrismServer
from .steered import Sleeps

CALLS = [
    spec_for("estuary.capture.disable").call("acmeCo/postgres-orders"),
    spec_for("estuary.capture.enable").call("acmeCo/postgres-orders"),
    spec_for("estuary.materialization.disable").call("acmeCo/snowflake-orders"),
    spec_for("estuary.materialization.enable").call("acmeCo/warehouse-sync"),
]

#: A change makes three change requests (draft, draft spec, publication; a fourth, deleting a
#: leftover draft, comes first when there is one): one fault, aimed mostly at the publication.
SCHEDULE = st.builds(
    lambda at, kind: [None] * at + [kind], st.sampled_from([0, 1, 2, 2, 2]), st.sampled_from(FAULT_KINDS)
)
STEP = st.tuples(
    st.sampled_from(range(len(CALLS))),
    st.one_of(st.just([None]), SCHEDULE),
    st.sampled_from([0, 1, 100]),  # status reads the publication stays queued (100: past the timeout)
    st.sampled_from(["success", "success", "buildFailed"]),
)


@pytest.fixture(scope="module")
def estuary_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract."""
    return shared_server(request.config)


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=2, max_size=2))
def test_every_publication_has_one_record_that_matches_estuary(
    steps: list[tuple[int, list[str | None], int, str]],
    estuary_server: PrismServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('property') / 'ledger.db'}")
    store.setup()
    twin = EstuaryTwin()
    faults = FaultTransport(twin.transport(), "lost", EstuaryAdapter.read_only_posts)
    adapter = EstuaryAdapter(transport=faults, sleep=Sleeps())
    adapter.settle_timeout = 3.0  # type: ignore[misc]
    monkeypatch.delenv("SOPHIA_ESTUARY_PG_URL", raising=False)
    try:
        with pointed_at(monkeypatch, "estuary", estuary_server.base_url, REFRESH, **{SUPABASE_KEY_VAR: KEY}):
            for index, schedule, polls, outcome in steps:
                twin.polls, twin.outcome = polls, outcome
                _step(store, adapter, faults, twin, CALLS[index], schedule)
    finally:
        run(adapter.aclose())
        store.dispose()
    assert twin.query_problems == [] and twin.validation_errors == []


def test_a_lost_publication_answer_is_needs_reconcile_until_it_ends(
    estuary_server: PrismServer, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Estuary queued the publication, the answer was lost: unknown until the read-back can see it end."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('lost') / 'ledger.db'}")
    store.setup()
    twin = EstuaryTwin()
    faults = FaultTransport(twin.transport(), "lost", EstuaryAdapter.read_only_posts)
    adapter = EstuaryAdapter(transport=faults, sleep=Sleeps())
    monkeypatch.delenv("SOPHIA_ESTUARY_PG_URL", raising=False)
    try:
        with pointed_at(monkeypatch, "estuary", estuary_server.base_url, REFRESH, **{SUPABASE_KEY_VAR: KEY}):
            faults.arm([None, None, "lost"])
            change = run(apply_through_ledger(store, adapter, CALLS[0]))
            faults.disarm()
            assert change["status"] == ChangeStatus.NEEDS_RECONCILE, change
            assert [p["status"] for p in twin.publications.values()] == ["queued"]
            run(reconcile_store(store, _OnePool(adapter)))  # type: ignore[arg-type]
            assert store.ledger.get(change["id"]).status == ChangeStatus.NEEDS_RECONCILE
            twin.finish()
            run(reconcile_store(store, _OnePool(adapter)))  # type: ignore[arg-type]
            settled = store.ledger.get(change["id"])
            assert settled.status == ChangeStatus.APPLIED and settled.after == {
                "name": "acmeCo/postgres-orders",
                "enabled": False,
            }
    finally:
        run(adapter.aclose())
        store.dispose()


def _step(
    store: Store,
    adapter: EstuaryAdapter,
    faults: FaultTransport,
    twin: EstuaryTwin,
    call: ActionCall,
    schedule: list[str | None],
) -> None:
    where = f"{call.action} {call.target} under {schedule}, queued {twin.polls}, then {twin.outcome}"
    records = len(store.ledger.list(limit=1000))
    tally = faults.arm(schedule)
    try:
        run(apply_through_ledger(store, adapter, call))
    except SophiaError as exc:  # refused before anything was recorded (already in the asked state)
        assert exc.code in ("validation_failed", "not_found"), exc
    finally:
        faults.disarm()
    new = len(store.ledger.list(limit=1000)) - records
    if tally.seen:
        assert new == 1, f"{where}: {tally.seen} change request(s) on the wire, {new} ledger record(s)"
    assert new <= 1, f"{where}: one step, {new} records"
    run(reconcile_store(store, _OnePool(adapter)))  # type: ignore[arg-type]
    if new and any(p["status"] == "queued" for p in twin.publications.values()):
        change = store.ledger.list(limit=1)[0]
        assert change.status == ChangeStatus.NEEDS_RECONCILE, (
            f"{where}: {change.status} while its publication is still queued ({change.error})"
        )
    twin.finish()
    run(reconcile_store(store, _OnePool(adapter)))  # type: ignore[arg-type]
    if not new:
        return
    step = StepOutcome(where, call, store.ledger.list(limit=1)[0], run(adapter.observe(call)), tally)
    assert_settled_as_observed(step, adapter)
    assert not tally.duplicates(), f"{where}: applied twice {tally.duplicates()}"

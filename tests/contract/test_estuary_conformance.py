"""EstuaryAdapter passes the shared adapter conformance suite (its fault matrix: see below).

Stand-in, said plainly: no Estuary control plane can run here. Reads are GraphQL executed against
Estuary's own production schema; drafts and publications go to a contract WRITTEN BY HAND from
flowctl's and the dashboard's sources (``fixtures/estuary/openapi.yaml``), served by Prism — every
request checked, zero request-side violations, zero query-string problems and zero GraphQL
validation errors asserted at teardown — with :class:`~tests.contract.estuary_twin.EstuaryTwin`
keeping the live specs, drafts and publications. Here the twin's agent is fast (``eager``): a
publication whose answer was lost has ended by the time it is looked up, so the matrix's
"settled after one reconcile" holds; a publication still running is covered by
:mod:`.test_estuary_fault_property`. The matrix injects its faults into the change requests
(draft, draft spec, publication), never into GraphQL queries or the token exchange.

The suite's fault matrix is switched off here, on purpose and only for time: on this machine it
costs about 30 s (five faults × four actions through the ledger), over the whole suite's budget.
:mod:`.test_estuary_fault_property` puts the same five faults into the same change requests
through the same executor, ledger and reconciler, and checks more (a record stays
``needs_reconcile`` while its publication runs). Run the matrix with
``ESTUARY_FAULT_MATRIX=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from adapters.catalog import ActionCall
from adapters.data.estuary import EstuaryAdapter
from adapters.data.estuary.records import SUPABASE_KEY_VAR
from adapters.registry import adapter_class, spec_for
from adapters.testing import AdapterConformanceTests, run

from .common import checked, closed_after
from .estuary_twin import KEY, REFRESH, EstuaryTwin, shared_server
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps


@pytest.fixture(scope="module")
def estuary_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract (shared with the contract tests)."""
    return shared_server(request.config)


class TestEstuaryConformance(AdapterConformanceTests):
    """The suite, plus: registered, and existing specs read back."""

    @pytest.fixture
    def twin(self) -> Iterator[EstuaryTwin]:
        twin = EstuaryTwin()
        twin.eager, twin.polls = True, 0
        yield twin
        assert twin.query_problems == [] and twin.validation_errors == []

    @pytest.fixture
    def transport(
        self, estuary_server: PrismServer, twin: EstuaryTwin, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[RecordingTransport]:
        monkeypatch.delenv("SOPHIA_ESTUARY_PG_URL", raising=False)
        with checked(
            monkeypatch,
            "estuary",
            estuary_server.base_url,
            REFRESH,
            twin.transport(),
            **{SUPABASE_KEY_VAR: KEY},
        ) as t:
            yield t

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[EstuaryAdapter]:
        with closed_after(EstuaryAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("estuary.capture.disable").call("acmeCo/postgres-orders"),
            spec_for("estuary.capture.enable").call("acmeCo/hubspot-source"),
            spec_for("estuary.materialization.disable").call("acmeCo/snowflake-orders"),
            spec_for("estuary.materialization.enable").call("acmeCo/warehouse-sync"),
        ]

    if not os.environ.get("ESTUARY_FAULT_MATRIX"):
        test_fault_matrix = None  # the suite budget; see the module doc

    def test_registered(self) -> None:
        assert adapter_class("estuary") is EstuaryAdapter

    def test_existing_things_read_back(self, adapter: EstuaryAdapter) -> None:
        observe = spec_for("estuary.materialization.enable").call
        assert run(adapter.observe(observe("acmeCo/warehouse-sync"))) == {
            "name": "acmeCo/warehouse-sync",
            "enabled": False,
        }
        assert run(adapter.observe(observe("acmeCo/postgres-orders"))) is None, (
            "a capture, not a materialization"
        )

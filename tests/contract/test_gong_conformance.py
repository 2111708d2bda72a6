"""GongAdapter passes the shared adapter conformance suite, fault matrix included.

Stand-in, said plainly: no Gong can run here, so the platform is a contract WRITTEN BY HAND from
Gong's API reference (``fixtures/gong/openapi.yaml``) served by Prism — every request checked,
zero request-side violations and zero query-string problems asserted at teardown — with a small
state model (:class:`~tests.contract.gong_twin.GongTwin`) steering Prism's stateless answers, so
apply → read back → undo → read back can be observed. The fault matrix injects its faults into
the changes (PUT and DELETE ``/v2/calls/users-access``), never into the access read (a POST that
only reads: ``GongAdapter.read_only_posts``).

Beyond the suite: the reads answer with the calls in the range (paged by cursor; Gong's 404 for
an empty range is an empty list) and the users; through the real executor and ledger, a grant
Gong documents as having no effect (the user already sees the call through a permission
profile) is never recorded ``applied``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.catalog import ActionCall
from adapters.data.gong import GongAdapter
from adapters.registry import adapter_class, spec_for
from adapters.testing import AdapterConformanceTests, run
from adapters.testing_faults import apply_through_ledger
from state.models import ChangeStatus
from state.store import Store

from .common import checked, closed_after
from .gong_twin import CALL, USER, GongTwin, shared_server
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "gong-access-key:gong-access-secret-0c9d8e"


@pytest.fixture(scope="module")
def gong_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract (shared with the contract tests)."""
    return shared_server(request.config)


class TestGongConformance(AdapterConformanceTests):
    """The suite, plus: registered, the reads, and a grant Gong ignores never recorded applied."""

    @pytest.fixture
    def twin(self) -> Iterator[GongTwin]:
        twin = GongTwin()
        yield twin
        assert twin.query_problems == []

    @pytest.fixture
    def transport(
        self, gong_server: PrismServer, twin: GongTwin, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[RecordingTransport]:
        with checked(
            monkeypatch, "gong", gong_server.base_url, TOKEN, twin.attach(RecordingTransport())
        ) as t:
            yield t

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[GongAdapter]:
        with closed_after(GongAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("gong.call.access.grant").call("Jane.Doe@acme.com", {"call": CALL["intro"]}),
            spec_for("gong.call.access.revoke").call("bob@globex.io", {"call": CALL["demo"]}),
        ]

    def test_registered(self) -> None:
        assert adapter_class("gong") is GongAdapter

    def test_the_reads_answer(self, adapter: GongAdapter, twin: GongTwin) -> None:
        twin.page = 2  # every listing takes two pages
        calls = run(adapter.configure(spec_for("gong.call.list").call(None, {"since": "2026-11-30"})))
        assert calls.before is not None and calls.after is not None
        assert calls.after["calls"] == calls.before["calls"], "the same calls (until is now: it moves)"
        assert [c["id"] for c in calls.before["calls"]] == [CALL["intro"], CALL["demo"]]
        everything = run(adapter.observe(spec_for("gong.call.list").call(None, {"since": "2026-01-01"})))
        assert everything is not None and everything["count"] == 3, "three calls over two pages"
        assert [c["title"] for c in everything["calls"]] == ["Intro call", "Demo", "Kick-off"]
        users = run(adapter.observe(spec_for("gong.user.list").call(None)))
        assert users is not None and [u["email"] for u in users["users"]] == [
            "jane.doe@acme.com",
            "bob@globex.io",
            "ana@initech.com",
            "cy@acme.com",
        ]

    def test_an_empty_range_is_an_empty_list(self, adapter: GongAdapter, twin: GongTwin) -> None:
        """Gong answers 404 "No calls found for the specified period": none, not an error."""
        twin.calls.clear()
        found = run(adapter.observe(spec_for("gong.call.list").call(None, {"since": "7d"})))
        assert found is not None and found["count"] == 0 and found["calls"] == []

    def test_access_reads_back(self, adapter: GongAdapter) -> None:
        call = spec_for("gong.call.access.grant").call("ANA.S@initech.com", {"call": CALL["demo"]})
        assert run(adapter.observe(call)) == {
            "user": "ana.s@initech.com",
            "user_id": USER["ana"],
            "call": CALL["demo"],
            "access": False,
        }

    def test_a_grant_gong_ignores_is_never_recorded_applied(
        self, adapter: GongAdapter, twin: GongTwin, tmp_path: Path
    ) -> None:
        """Ana sees the intro call through her permission profile: Gong's grant has no effect."""
        store = Store(f"sqlite:///{tmp_path / 'ledger.db'}")
        store.setup()
        try:
            call = spec_for("gong.call.access.grant").call("ana@initech.com", {"call": CALL["intro"]})
            recorded = run(apply_through_ledger(store, adapter, call))
            assert recorded["status"] != ChangeStatus.APPLIED, recorded
            assert USER["ana"] not in twin.access.get(CALL["intro"], set())
        finally:
            store.dispose()

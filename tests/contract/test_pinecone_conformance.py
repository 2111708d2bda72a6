"""PineconeAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no Pinecone can run here, so the platform is Pinecone's own published
control-plane document (``tests/contracts/vendor/pinecone``, API version 2026-04) served by
Prism — every request checked, zero violations asserted at teardown — with a small state model
(:class:`~tests.contract.pinecone_twin.PineconeTwin`) steering Prism's stateless answers: it
picks the declared status (404 for a missing index, 409 for a duplicate), keeps the indexes,
and plays Pinecone's asynchronous lifecycle (``Initializing`` → ``Ready``, ``ScalingUp``,
``Terminating`` → gone) so apply → wait → read back → undo → read back can be observed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.ai.pinecone import PineconeAdapter
from adapters.catalog import ActionCall
from adapters.registry import spec_for
from adapters.testing import AdapterConformanceTests, run

from .common import checked, closed_after
from .pinecone_twin import DOCUMENT, PineconeTwin
from .prism import PrismPool, PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "pcsk_conformance_5e4d3c2b1a09"


PRISM_SPECS = [DOCUMENT]


@pytest.fixture(scope="module")
def pinecone_server(prism: PrismPool) -> PrismServer:
    """The session's Prism serving Pinecone's own document."""
    (server,) = prism.serve(*DOCUMENT)
    return server


class TestPineconeConformance(AdapterConformanceTests):
    """The suite, plus: the twin's asynchronous states are waited out, and indexes read back."""

    @pytest.fixture
    def twin(self) -> PineconeTwin:
        return PineconeTwin()

    @pytest.fixture
    def transport(
        self, pinecone_server: PrismServer, twin: PineconeTwin, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[RecordingTransport]:
        recording = twin.attach(RecordingTransport())
        with checked(monkeypatch, "pinecone", pinecone_server.base_url, TOKEN, recording) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[PineconeAdapter]:
        with closed_after(PineconeAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("pinecone.index.create").call("product-search", {"dimension": 1536, "metric": "cos"}),
            spec_for("pinecone.index.configure").call("support-kb", {"replicas": 3}),
            spec_for("pinecone.index.configure").call("recs", {"replicas": 2}),
            spec_for("pinecone.index.delete").call("product-search"),
        ]

    def test_existing_indexes_read_back(self, adapter: PineconeAdapter) -> None:
        observe = spec_for("pinecone.index.configure").call
        assert run(adapter.observe(observe("support-kb", {"replicas": 1}))) == {
            "name": "support-kb",
            "dimension": 768,
            "metric": "cosine",
            "replicas": 2,
            "deployment": "pod",
            "deletion_protection": "disabled",
        }
        assert run(adapter.observe(observe("Recs", {"replicas": 1}))) == {
            "name": "recs",
            "dimension": 384,
            "metric": "euclidean",
            "replicas": 1,
            "deployment": "dedicated",
            "deletion_protection": "disabled",
        }

    def test_create_waits_out_initializing(
        self, adapter: PineconeAdapter, transport: RecordingTransport, twin: PineconeTwin
    ) -> None:
        result = run(adapter.configure(spec_for("pinecone.index.create").call("kb", {"dimension": 8})))
        assert result.after == {
            "name": "kb",
            "dimension": 8,
            "metric": "cosine",
            "replicas": None,
            "deployment": "serverless",
            "deletion_protection": "disabled",
        }
        describes = [ex for ex in transport.exchanges if ex.request.url.path == "/indexes/kb"]
        assert [ex.response.status_code for ex in describes] == [404, 200, 200, 200]
        assert adapter.sleep.waits == [1.0, 2.0]  # type: ignore[union-attr]
        assert "kb" not in twin.settling

"""WeaviateAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no Weaviate can run here, so the platform is Weaviate's published REST
contract served by Prism (every request checked, zero request-side violations asserted at
teardown) with a small state model (:class:`~tests.contract.ai_twins.WeaviateTwin`) choosing
the declared answers (404 for a missing collection, 422 for a duplicate) and filling in the
values, so create → read back → undo → read back can be observed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.ai.weaviate import WeaviateAdapter
from adapters.catalog import ActionCall
from adapters.registry import spec_for
from adapters.testing import AdapterConformanceTests, run

from .ai_twins import WeaviateTwin
from .common import checked, closed_after
from .prism import PrismPool, RecordingTransport
from .steered import Sleeps

PRISM_SPECS = [("weaviate", "schema.json")]


class TestWeaviateConformance(AdapterConformanceTests):
    """The suite, plus: a collection made elsewhere reports its objects and no dimension."""

    @pytest.fixture
    def transport(self, prism: PrismPool, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingTransport]:
        (server,) = prism.serve(*PRISM_SPECS[0])
        recording = WeaviateTwin().attach(RecordingTransport())
        with checked(monkeypatch, "weaviate", server.base_url, None, recording) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[WeaviateAdapter]:
        with closed_after(WeaviateAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("weaviate.index.create").call("articles", {"dimension": 768, "metric": "dot"}),
            spec_for("weaviate.index.delete").call("Articles"),
        ]

    def test_existing_collection_state(self, adapter: WeaviateAdapter) -> None:
        state = run(adapter.observe(spec_for("weaviate.index.delete").call("tickets")))
        assert state == {"name": "Tickets", "dimension": None, "metric": "cosine", "rows": 42}

"""OpenRouterAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no OpenRouter can run here, so the platform is OpenRouter's published
contract served by Prism (every request checked, zero request-side violations asserted at
teardown) with a small state model (:class:`~tests.contract.ai_twins.OpenRouterTwin`) choosing
the declared answers (404 for an unknown hash) and filling in the values, so apply → read
back → undo → read back can be observed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.ai.keydrop import SecretDrop
from adapters.ai.openrouter import OpenRouterAdapter
from adapters.catalog import ActionCall
from adapters.http import reset_breakers
from adapters.registry import spec_for
from adapters.testing import AdapterConformanceTests, run

from .ai_twins import OpenRouterTwin
from .prism import PrismPool, RecordingTransport, assert_no_request_violations
from .steered import Sleeps

PRISM_SPECS = [("openrouter", "openapi.yaml")]


class TestOpenRouterConformance(AdapterConformanceTests):
    """The suite, against Prism and :class:`OpenRouterTwin`."""

    @pytest.fixture
    def transport(self, prism: PrismPool, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingTransport]:
        (server,) = prism.serve(*PRISM_SPECS[0])
        monkeypatch.setenv("SOPHIA_OPENROUTER_BASE_URL", server.base_url)
        monkeypatch.setenv("SOPHIA_OPENROUTER_TOKEN", "or-conformance-mgmt-key-1")
        reset_breakers()
        transport = OpenRouterTwin().attach(RecordingTransport())
        yield transport
        reset_breakers()
        assert_no_request_violations(transport.exchanges)

    @pytest.fixture
    def adapter(self, transport: RecordingTransport, tmp_path: Path) -> Iterator[OpenRouterAdapter]:
        adapter = OpenRouterAdapter(transport=transport, sleep=Sleeps(), drop=SecretDrop(tmp_path / "drop"))
        yield adapter
        run(adapter.aclose())

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("openrouter.key.create").call("agent-sandbox", {"limit_usd": "$50"}),
            spec_for("openrouter.key.set_limit").call("batch-jobs", {"limit_usd": 75}),
            spec_for("openrouter.key.set_limit").call("agent-sandbox", {"limit_usd": None}),
            spec_for("openrouter.key.disable").call("batch-jobs"),
            spec_for("openrouter.key.enable").call("old-prototype"),
        ]

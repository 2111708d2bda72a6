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
from adapters.registry import spec_for
from adapters.testing import AdapterConformanceTests

from .ai_twins import OpenRouterTwin
from .common import checked, closed_after
from .prism import PrismPool, RecordingTransport
from .steered import Sleeps

PRISM_SPECS = [("openrouter", "openapi.yaml")]


class TestOpenRouterConformance(AdapterConformanceTests):
    """The suite, against Prism and :class:`OpenRouterTwin`."""

    @pytest.fixture
    def transport(self, prism: PrismPool, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingTransport]:
        (server,) = prism.serve(*PRISM_SPECS[0])
        recording = OpenRouterTwin().attach(RecordingTransport())
        token = "or-conformance-mgmt-key-1"
        with checked(monkeypatch, "openrouter", server.base_url, token, recording) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport, tmp_path: Path) -> Iterator[OpenRouterAdapter]:
        drop = SecretDrop(tmp_path / "drop")
        with closed_after(OpenRouterAdapter(transport=transport, sleep=Sleeps(), drop=drop)) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("openrouter.key.create").call("agent-sandbox", {"limit_usd": "$50"}),
            spec_for("openrouter.key.set_limit").call("batch-jobs", {"limit_usd": 75}),
            spec_for("openrouter.key.set_limit").call("agent-sandbox", {"limit_usd": None}),
            spec_for("openrouter.key.disable").call("batch-jobs"),
            spec_for("openrouter.key.enable").call("old-prototype"),
        ]

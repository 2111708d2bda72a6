"""PortkeyAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no Portkey can run here, so the platform is Portkey's published admin
API contract served by Prism (every request checked, zero request-side violations asserted at
teardown) with a small state model (:class:`~tests.contract.ai_twins.PortkeyTwin`) filling
the values into Prism's answers, so apply → read back → undo → read back can be observed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.ai.keydrop import SecretDrop
from adapters.ai.portkey import PortkeyAdapter
from adapters.catalog import ActionCall
from adapters.registry import spec_for
from adapters.testing import AdapterConformanceTests, run

from .ai_twins import PortkeyTwin
from .common import checked, closed_after
from .prism import PrismPool, RecordingTransport
from .steered import Sleeps

PRISM_SPECS = [("portkey", "openapi.yaml")]


class TestPortkeyConformance(AdapterConformanceTests):
    """The suite, plus: a rotation is verified with the new key and recorded as such."""

    @pytest.fixture
    def twin(self) -> PortkeyTwin:
        return PortkeyTwin()

    @pytest.fixture
    def transport(
        self, prism: PrismPool, monkeypatch: pytest.MonkeyPatch, twin: PortkeyTwin
    ) -> Iterator[RecordingTransport]:
        (server,) = prism.serve(*PRISM_SPECS[0])
        recording = twin.attach(RecordingTransport())
        token = "pk-conformance-admin-key-1"
        with checked(monkeypatch, "portkey", server.base_url, token, recording) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport, tmp_path: Path) -> Iterator[PortkeyAdapter]:
        drop = SecretDrop(tmp_path / "drop")
        with closed_after(PortkeyAdapter(transport=transport, sleep=Sleeps(), drop=drop)) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("portkey.api_key.create").call("support-bot"),
            spec_for("portkey.budget.set").call("workspace:research", {"limit_usd": 500}),
            spec_for("portkey.config.update").call(
                "prod-routing", {"loadbalance": ["openai-prod", "azure-openai"]}
            ),
            spec_for("portkey.config.update").call("prod-routing", {"retry": 4}),
            spec_for("portkey.api_key.disable").call("ranking-service"),
            spec_for("portkey.api_key.enable").call("ranking-service"),
            spec_for("portkey.api_key.rotate").call("support-bot"),
        ]

    def test_rotation_is_verified_with_the_new_key(
        self, adapter: PortkeyAdapter, transport: RecordingTransport, twin: PortkeyTwin
    ) -> None:
        old = twin.ranking
        result = run(adapter.configure(spec_for("portkey.api_key.rotate").call("ranking-service")))
        assert result.after is not None and result.after["rotation"]["old_key_id"] == old
        new = result.after["rotation"]["new_key_id"]
        verify = next(ex for ex in transport.exchanges if ex.request.url.path == "/models")
        assert twin.values[verify.request.headers["x-portkey-api-key"]] == new, "verified with the new key"
        assert result.after["id"] == new and result.after["rotated_from"] == old
        assert twin.keys[old]["expires_at"] is not None and twin.keys[new]["expires_at"] is None
        assert twin.keys[new]["usage_limits"] == twin.keys[old]["usage_limits"], "limits carried over"
        assert adapter.reached(result.call, result.expected, run(adapter.observe(result.call)))

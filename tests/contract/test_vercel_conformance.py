"""VercelAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no Vercel can run here, so the platform is Vercel's published OpenAPI
contract served by Prism (every request checked, zero request-side violations asserted at
teardown), steered by :class:`~tests.adapters.vercel_double.VercelDouble`, a small state model
that applies each change and supplies the values (and, for errors, the declared status) in
Prism's answers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.catalog import ActionCall
from adapters.dev.vercel import VercelAdapter
from adapters.http import reset_breakers
from adapters.testing import AdapterConformanceTests, run
from orchestrator.config import Settings
from tests.adapters.vercel_double import DB_V1, DB_V2, TOKEN, VercelDouble, scenario_calls

from .prism import PrismPool, RecordingTransport, assert_no_request_violations

SPEC = "vercel-spec.2025-10-27.json"
PRISM_SPECS = [("vercel", SPEC)]


async def _no_wait(seconds: float) -> None:
    return None


class TestVercelConformance(AdapterConformanceTests):
    """The whole suite; every inverse restores the before-state exactly."""

    @pytest.fixture
    def transport(self, prism: PrismPool, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingTransport]:
        (server,) = prism.serve("vercel", SPEC)
        monkeypatch.setenv("SOPHIA_VERCEL_BASE_URL", server.base_url)
        monkeypatch.setenv("SOPHIA_VERCEL_TOKEN", TOKEN)
        monkeypatch.setenv("SOPHIA_VERCEL_ENV_DB_V1", DB_V1)
        monkeypatch.setenv("SOPHIA_VERCEL_ENV_DB_V2", DB_V2)
        reset_breakers()
        transport = VercelDouble().steer(RecordingTransport())
        yield transport
        reset_breakers()
        assert_no_request_violations(transport.exchanges)

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[VercelAdapter]:
        adapter = VercelAdapter(Settings(), transport=transport, sleep=_no_wait, promote_wait=0)
        yield adapter
        run(adapter.aclose())

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return scenario_calls()

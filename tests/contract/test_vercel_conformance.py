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
from adapters.testing import AdapterConformanceTests
from orchestrator.config import Settings
from tests.adapters.vercel_double import DB_V1, DB_V2, TOKEN, VercelDouble, scenario_calls

from .common import checked, closed_after
from .prism import PrismPool, RecordingTransport
from .steered import Sleeps

SPEC = "vercel-spec.2025-10-27.json"
PRISM_SPECS = [("vercel", SPEC)]


class TestVercelConformance(AdapterConformanceTests):
    """The whole suite; every inverse restores the before-state exactly."""

    @pytest.fixture
    def transport(self, prism: PrismPool, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingTransport]:
        (server,) = prism.serve("vercel", SPEC)
        double = VercelDouble().steer(RecordingTransport())
        with checked(monkeypatch, "vercel", server.base_url, TOKEN, double,
                     SOPHIA_VERCEL_ENV_DB_V1=DB_V1, SOPHIA_VERCEL_ENV_DB_V2=DB_V2) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[VercelAdapter]:
        vercel = VercelAdapter(Settings(), transport=transport, sleep=Sleeps(), promote_wait=0)
        with closed_after(vercel) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return scenario_calls()

"""HubSpotAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no HubSpot can run here, and HubSpot's spec collection is not licensed
for use, so the platform is a contract WRITTEN BY HAND from HubSpot's API reference
(``fixtures/hubspot/openapi.yaml``) served by Prism — every request checked, zero request-side
violations asserted at teardown — with a small state model
(:class:`~tests.contract.hubspot_twin.HubSpotTwin`) steering Prism's stateless answers: it picks
the declared status (404 for a missing or archived property, 409 for a duplicate), keeps the
properties and pipelines, and fills their values into Prism's answers, so apply → read back →
undo → read back can be observed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.catalog import ActionCall
from adapters.data.hubspot import HubSpotAdapter
from adapters.registry import spec_for
from adapters.testing import AdapterConformanceTests, run

from .common import checked, closed_after
from .hubspot_twin import HubSpotTwin, served
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "pat-na1-conformance-5e4d3c2b"


@pytest.fixture(scope="module")
def hubspot_server() -> Iterator[PrismServer]:
    """One Prism for this module, serving the hand-written contract."""
    with served() as server:
        yield server


class TestHubSpotConformance(AdapterConformanceTests):
    """The suite, plus: properties and pipelines read back as HubSpot describes them."""

    @pytest.fixture
    def twin(self) -> HubSpotTwin:
        return HubSpotTwin()

    @pytest.fixture
    def transport(
        self, hubspot_server: PrismServer, twin: HubSpotTwin, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[RecordingTransport]:
        monkeypatch.delenv("SOPHIA_HUBSPOT_PROPERTY_GROUP", raising=False)
        monkeypatch.delenv("SOPHIA_HUBSPOT_OBJECT_TYPES", raising=False)
        recording = twin.attach(RecordingTransport())
        with checked(monkeypatch, "hubspot", hubspot_server.base_url, TOKEN, recording) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[HubSpotAdapter]:
        with closed_after(HubSpotAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("hubspot.property.create").call(
                "renewal_date", {"object_type": "deal", "label": "Renewal Date", "type": "date"}
            ),
            spec_for("hubspot.property.update").call(
                "lead_source_detail", {"object_type": "contact", "label": "Lead Origin"}
            ),
            spec_for("hubspot.property.archive").call("old_lead_score", {"object_type": "contacts"}),
            spec_for("hubspot.pipeline.create").call("Partner Deals", {}),
            spec_for("hubspot.pipeline.stage.create").call(
                "Enterprise Sales", {"label": "Negotiation", "probability": "60%"}
            ),
        ]

    def test_existing_resources_read_back(self, adapter: HubSpotAdapter) -> None:
        observe = spec_for("hubspot.property.update").call
        assert run(adapter.observe(observe("Lead_Source_Detail", {"object_type": "contacts", "label": "x"}))) == {
            "name": "lead_source_detail",
            "object_type": "contacts",
            "label": "Lead Source Detail",
            "type": "string",
            "archived": False,
        }
        stage = spec_for("hubspot.pipeline.stage.create").call
        assert run(adapter.observe(stage("sales  pipeline", {"label": "x", "probability": 0.1}))) == {
            "id": "default",
            "label": "Sales Pipeline",
            "object_type": "deals",
            "stages": [
                {"label": "Appointment Scheduled", "probability": 0.2},
                {"label": "Closed Won", "probability": 1.0},
            ],
        }

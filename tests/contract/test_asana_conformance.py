"""AsanaAdapter passes the shared adapter conformance suite (the archiving variant).

Stand-in, said plainly: no Asana can run here, so the platform is a contract WRITTEN BY HAND
from Asana's API reference (``fixtures/asana/openapi.yaml``) served by Prism — every request
checked, zero request-side violations asserted at teardown — with a small state model
(:class:`~tests.contract.asana_twin.AsanaTwin`) steering Prism's stateless answers: it picks
the declared status (404 for an unknown gid), keeps the workspace's teams, projects and open
tasks, and fills its records into Prism's example bodies, so apply → read back → undo → read
back can be observed. Asana's undo of a project create is the catalog's archive, so the
create step asserts the project is archived afterwards (``tests/adapters/archiving.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.catalog import ActionCall
from adapters.ops.asana import AsanaAdapter
from adapters.registry import adapter_class, spec_for
from adapters.testing import run
from tests.adapters.archiving import ArchivingConformanceTests

from .asana_twin import WORKSPACE, AsanaTwin, served
from .common import checked, closed_after
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "2/1200000000000031/1209999999999999:conformancef00d"


@pytest.fixture(scope="module")
def asana_server() -> Iterator[PrismServer]:
    """One Prism for this module, serving the hand-written contract."""
    with served() as server:
        yield server


class TestAsanaConformance(ArchivingConformanceTests):
    """The suite, plus: projects read back by name, and the adapter is registered."""

    archived_field = "archived"
    unarchive_action = "asana.project.unarchive"

    @pytest.fixture
    def twin(self) -> AsanaTwin:
        return AsanaTwin()

    @pytest.fixture
    def transport(
        self, asana_server: PrismServer, twin: AsanaTwin, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[RecordingTransport]:
        monkeypatch.delenv("SOPHIA_ASANA_TEAM", raising=False)
        recording = twin.attach(RecordingTransport())
        with checked(
            monkeypatch, "asana", asana_server.base_url, TOKEN, recording, SOPHIA_ASANA_WORKSPACE=WORKSPACE
        ) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[AsanaAdapter]:
        with closed_after(AsanaAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("asana.project.create").call("Launch Plan", {"team": "marketing"}),
            spec_for("asana.project.archive").call("Website Relaunch"),
            spec_for("asana.project.unarchive").call("q3 planning"),
            spec_for("asana.task.create").call(
                "Vendor Review", {"name": "Collect SOC2 reports", "assignee": "me"}
            ),
        ]

    def test_registered(self) -> None:
        assert adapter_class("asana") is AsanaAdapter

    def test_existing_projects_read_back(self, adapter: AsanaAdapter) -> None:
        observe = spec_for("asana.project.archive").call
        assert run(adapter.observe(observe("Website Relaunch"))) == {
            "gid": "1201000000000101",
            "name": "Website Relaunch",
            "team": "Marketing",
            "archived": False,
        }
        assert run(adapter.observe(observe("Q3 PLANNING"))) == {
            "gid": "1201000000000102",
            "name": "Q3 Planning",
            "team": "Engineering",
            "archived": True,
        }
        assert run(adapter.observe(observe("No Such Project"))) is None

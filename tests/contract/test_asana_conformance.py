"""AsanaAdapter passes the shared adapter conformance suite (the archiving variant).

Stand-in, said plainly: no Asana can run here, so the platform is a contract WRITTEN BY HAND
from Asana's API reference (``fixtures/asana/openapi.yaml``) served by Prism — every request
checked, zero request-side violations asserted at teardown — with a small state model
(:class:`~tests.contract.asana_twin.AsanaTwin`) steering Prism's stateless answers: it picks
the declared status (404 for an unknown gid), keeps the workspace's teams, projects and open
tasks, and fills its records into Prism's example bodies, so apply → read back → undo → read
back can be observed. Asana's undo of a project create is the catalog's archive, so the
create step asserts the project is archived afterwards (``tests/adapters/archiving.py``).

Webhooks: the twin handshakes the target while ``POST /webhooks`` is open, through sophia's own
handshake door on this test's state store (:func:`~tests.contract.asana_twin.sophia_door`), so
a create consumes the expectation it recorded and its secret is stored, as in production. The
undo of ``webhook.delete`` compensates rather than restores — a new hook to the same URL, with
a new gid and secret — so it gets that stated check instead of "undo restores the before-state".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.catalog import ActionCall
from adapters.ops.asana import AsanaAdapter
from adapters.registry import adapter_class, spec_for
from adapters.testing import run
from tests.adapters.archiving import ArchivingConformanceTests

from .asana_twin import WORKSPACE, AsanaTwin, served, sophia_door
from .common import checked, closed_after
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "2/1200000000000031/1209999999999999:conformancef00d"
HOOK_URL = "https://sophia.example.com/webhooks/asana"


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
    def hook_store(self) -> Any:
        """The state store the adapter keeps hook secrets in (this test's ``$SOPHIA_HOME``), migrated."""
        from orchestrator.config import get_settings
        from state.hook_secrets import store_for

        store = store_for(get_settings().state_url)
        store.setup()
        return store

    @pytest.fixture
    def twin(self, hook_store: Any) -> AsanaTwin:
        return AsanaTwin(door=sophia_door(hook_store))

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
            spec_for("asana.webhook.create").call("Vendor Review", {"url": HOOK_URL}),
            spec_for("asana.webhook.delete").call("Vendor Review"),
        ]

    def test_scenario_reaches_predictions_and_inverses_restore(
        self, adapter: AsanaAdapter, scenario: list[ActionCall]
    ) -> None:
        """The suite's check for projects and tasks; webhooks get theirs below.

        ``webhook.create`` is undone by deleting the hook (restored: no hook); ``webhook.delete``
        by a new hook to the same URL on the same project, which has a new gid.
        """
        hooks = [c for c in scenario if c.action.startswith("asana.webhook.")]
        super().test_scenario_reaches_predictions_and_inverses_restore(
            adapter, [c for c in scenario if c not in hooks]
        )
        create, delete = hooks
        made = run(adapter.configure(create))
        assert made.before is None and adapter.reached(made.call, made.expected, made.after), made.after
        assert made.after is not None and made.after["active"] is True
        assert adapter.reached(made.call, made.expected, run(adapter.observe(create))), "read-back agrees"
        assert made.inverse == ActionCall(action="asana.webhook.delete", target="Vendor Review")
        run(adapter.configure(made.inverse))
        assert run(adapter.observe(create)) is None, "undo of webhook.create left a hook"
        again = run(adapter.configure(create))
        assert again.after is not None and again.after["gid"] != made.after["gid"]

        gone = run(adapter.configure(delete))
        assert gone.after is None and adapter.reached(gone.call, gone.expected, gone.after)
        assert run(adapter.observe(delete)) is None
        assert gone.inverse is not None and gone.inverse.action == "asana.webhook.create"
        undo = run(adapter.configure(gone.inverse))
        assert gone.before is not None and undo.after is not None
        keep = ("resource", "target", "active")
        assert {k: undo.after[k] for k in keep} == {k: gone.before[k] for k in keep}
        assert undo.after["gid"] != gone.before["gid"]

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

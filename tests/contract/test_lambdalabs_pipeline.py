"""Lambda Labs through the whole pipeline: parse → plan (priced) → policy → approval → apply → ledger → undo.

The real OrchestratorService (SQLite state, the default policy pack, the offline parser) drives
the real adapter; the platform is the hand-written contract served by Prism with the state model
steering it (see ``test_lambdalabs_conformance.py``: no Lambda Cloud can run here). It shows the
plan's ``expected.usd_per_hour`` comes from Lambda's price list and reaches policy, that a
launch is applied and undone by terminate (verified by read-back), and that a terminate waits
for a second person and can't be undone.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.dev.lambdalabs import LambdaLabsAdapter
from orchestrator.config import Settings
from orchestrator.errors import IrreversibleError
from orchestrator.service import OrchestratorService
from tests.orchestrator.conftest import arun, req

from .common import pointed_at
from .lambdalabs_twin import SSH_KEY, LambdaLabsTwin, shared_server
from .prism import PrismServer, RecordingTransport, assert_no_request_violations

TOKEN = "secret_pipeline_0123456789abcdef01234567"


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract."""
    return shared_server(request.config)


@pytest.fixture
def twin() -> LambdaLabsTwin:
    return LambdaLabsTwin()


@pytest.fixture
def transport(
    server: PrismServer, twin: LambdaLabsTwin, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RecordingTransport]:
    recording = twin.attach(RecordingTransport())

    def through_twin(self: LambdaLabsAdapter) -> httpx.AsyncBaseTransport:
        return recording

    monkeypatch.setattr(LambdaLabsAdapter, "client_transport", through_twin)
    monkeypatch.setattr(LambdaLabsAdapter, "launch_interval", 0.0)
    monkeypatch.setattr(LambdaLabsAdapter, "poll_interval", 0.01)
    with pointed_at(monkeypatch, "lambdalabs", server.base_url, TOKEN, SOPHIA_LAMBDALABS_SSH_KEY=SSH_KEY):
        yield recording
    assert_no_request_violations(recording.exchanges)


def test_priced_plan_policy_apply_undo_and_an_irreversible_terminate(
    transport: RecordingTransport, twin: LambdaLabsTwin
) -> None:
    async def flow() -> None:
        async with OrchestratorService(Settings()) as svc:
            big = await svc.submit(req("launch a gpu_8x_h100_sxm5 instance called trainer-9 in us-east-1",
                                       dry_run=True))
            (step,) = big["plan"]["steps"]
            assert step["expected"]["usd_per_hour"] == 23.92, big
            assert big["decision"]["effect"] == "require_approval"
            assert any("$23.92/h is over the $20/h cap" in r["message"] for r in big["decision"]["reasons"])
            assert twin.launches == []

            small = await svc.submit(req("launch a gpu_1x_a10 instance called eval-box in us-west-1"))
            assert small["status"] == "applied", small.get("error")
            (change,) = small["changes"]
            assert change["expected"]["usd_per_hour"] == 0.75 and change["after"]["ids"] == twin.live("eval-box")
            assert change["inverse"] == {"action": "lambdalabs.instance.terminate", "target": "eval-box",
                                         "params": {}}
            undo = await svc.undo(actor="cli:alice")
            assert undo["status"] == "applied", undo.get("error")
            # Pinned as found: undoing a launch nothing has changed since runs its terminate as a plain
            # change (orchestrator/nodes/plan.py), without four-eyes, though data written on the box's
            # disk since the launch is lost with it: the state doesn't hold disk contents.
            assert undo["plan"]["steps"][0]["risk"] == "change" and "unchanged since" in undo["plan"]["steps"][0]["note"]
            assert undo["result"]["verified"] == {change["id"]: True} and twin.live("eval-box") == []
            assert svc.change(change["id"])["status"] == "rolled_back"

            term = await svc.submit(req("terminate the lambda instance trainer-1"))
            assert term["status"] == "awaiting_approval" and term["decision"]["four_eyes"] is True
            assert twin.live("trainer-1"), "nothing is terminated before a second person approves"
            done = await svc.approve(term["run_id"], actor="cli:bob")
            assert done["status"] == "applied", done.get("error")
            assert twin.live("trainer-1") == []
            (gone,) = done["changes"]
            again = await svc.undo(change_id=gone["id"], actor="cli:alice")
            assert again["status"] == "failed" and again["error"]["code"] == IrreversibleError.code
            assert "can't be undone automatically" in again["error"]["message"]
            assert svc.verify_ledger().ok

    arun(flow())

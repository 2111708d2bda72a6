"""LambdaLabsAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no Lambda Cloud can run here, so the platform is a contract WRITTEN BY
HAND from Lambda's Cloud API document v1.10 (``fixtures/lambdalabs/openapi.yaml``; the vendor's
own file has no clear licence and is checked against it in ``test_lambdalabs_document.py``)
served by Prism — every request checked, unknown body fields refused, zero request-side
violations asserted at teardown — with a small state model
(:class:`~tests.contract.lambdalabs_twin.LambdaLabsTwin`) steering Prism's stateless answers: it
keeps the instances and SSH keys and plays the asynchronous launch (``booting`` → ``active``) and
terminate (``terminating`` → ``terminated``), so apply → read back → undo → read back, and the
fault matrix's lost answers settled by reading the name back, can be observed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.catalog import ActionCall
from adapters.dev.lambdalabs import LambdaLabsAdapter
from adapters.registry import adapter_class, spec_for
from adapters.testing import AdapterConformanceTests, run

from .common import checked, closed_after
from .lambdalabs_twin import SSH_KEY, LambdaLabsTwin, shared_server
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "secret_conformance_0123456789abcdef0123"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForDocs1234 me@laptop"


@pytest.fixture(scope="module")
def lambdalabs_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract."""
    return shared_server(request.config)


class TestLambdaLabsConformance(AdapterConformanceTests):
    """The suite, plus: the launch waits out ``booting``, and the adapter is registered."""

    @pytest.fixture
    def twin(self) -> LambdaLabsTwin:
        return LambdaLabsTwin()

    @pytest.fixture
    def transport(
        self, lambdalabs_server: PrismServer, twin: LambdaLabsTwin, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[RecordingTransport]:
        recording = twin.attach(RecordingTransport())
        with checked(
            monkeypatch, "lambdalabs", lambdalabs_server.base_url, TOKEN, recording, SOPHIA_LAMBDALABS_SSH_KEY=SSH_KEY
        ) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[LambdaLabsAdapter]:
        with closed_after(LambdaLabsAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        return [
            spec_for("lambdalabs.instance.launch").call(
                "eval-box", {"instance_type": "gpu_1x_a10", "region": "us-west-1"}
            ),
            spec_for("lambdalabs.ssh_key.add").call("workstation", {"public_key": KEY}),
            spec_for("lambdalabs.ssh_key.remove").call("laptop"),
            spec_for("lambdalabs.instance.terminate").call("trainer-1"),
        ]

    def test_registered(self) -> None:
        assert adapter_class("lambdalabs") is LambdaLabsAdapter

    def test_launch_waits_out_booting_and_reads_back_by_name(
        self, adapter: LambdaLabsAdapter, transport: RecordingTransport, twin: LambdaLabsTwin
    ) -> None:
        result = run(
            adapter.configure(
                spec_for("lambdalabs.instance.launch").call(
                    "eval-box", {"instance_type": "gpu_1x_a100_sxm4", "region": "us-west-1"}
                )
            )
        )
        (iid,) = twin.live("eval-box")
        assert result.after == {
            "name": "eval-box",
            "instance_type": "gpu_1x_a100_sxm4",
            "region": "us-west-1",
            "count": 1,
            "ids": [iid],
        }
        assert result.expected is not None and result.expected["usd_per_hour"] == 1.29
        assert twin.instances[iid]["status"] == "active"
        listings = [ex for ex in transport.exchanges if ex.request.url.path == "/api/v1/instances"]
        assert len(listings) == 4, "one before, then until the instance left booting"
        assert adapter.sleep.waits == [5.0, 10.0]  # type: ignore[union-attr]

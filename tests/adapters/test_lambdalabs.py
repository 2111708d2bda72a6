"""Lambda Labs adapter logic as plain functions: grouping, names, quotes, plan checks, undo.

The requests are judged against the hand-written contract in
tests/contract/test_lambdalabs_contract.py (and that contract against Lambda's own document in
test_lambdalabs_document.py); apply → read back → undo runs in test_lambdalabs_conformance.py.
These need neither Prism nor a network: the records below have the shapes Lambda's document gives.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from adapters.credentials import credential_for
from adapters.dev.lambdalabs import LambdaLabsAdapter, _live, _select, group_state, instance_name
from adapters.registry import adapter_class, spec_for
from orchestrator.errors import ConfigError, IrreversibleError, NotFoundError, ValidationFailedError
from orchestrator.nodes.plan import _check_undoable
from state.models import ChangeRecord, ChangeStatus
from tests.contract.hostile_support import NASTY, offending

ID_A, ID_B, ID_C = "a" * 32, "b" * 32, "c" * 32


def inst(iid: str, name: str, status: str = "active", kind: str = "gpu_1x_a10", region: str = "us-west-1") -> dict[str, Any]:
    return {"id": iid, "name": name, "status": status, "instance_type": {"name": kind, "price_cents_per_hour": 75},
            "region": {"name": region, "description": "x"}}


QUOTES = {
    "gpu_1x_a10": {"instance_type": {"name": "gpu_1x_a10", "price_cents_per_hour": 75},
                   "regions_with_capacity_available": [{"name": "us-west-1", "description": "California"}]},
    "gpu_8x_h100_sxm5": {"instance_type": {"name": "gpu_8x_h100_sxm5", "price_cents_per_hour": 2392},
                         "regions_with_capacity_available": []},
}


@pytest.fixture
def adapter(monkeypatch: pytest.MonkeyPatch) -> LambdaLabsAdapter:
    monkeypatch.setenv("SOPHIA_LAMBDALABS_SSH_KEY", "ops")
    a = LambdaLabsAdapter()
    a.quotes = dict(QUOTES)
    return a


def launch(target: str = "trainer", count: int = 1, kind: str = "gpu_1x_a10") -> Any:
    return spec_for("lambdalabs.instance.launch").call(target, {"instance_type": kind, "region": "us-west-1",
                                                               "count": count})


def test_registered_with_a_bearer_token() -> None:
    assert adapter_class("lambdalabs") is LambdaLabsAdapter
    headers = credential_for("lambdalabs", environ={"SOPHIA_LAMBDALABS_TOKEN": "secret_unit_0123456789"}).auth_headers()
    assert headers == {"Authorization": "Bearer secret_unit_0123456789"}


def test_live_instances_only_and_grouped_by_name() -> None:
    raw = [inst(ID_B, "sweep"), inst(ID_A, "sweep", "booting"), inst(ID_C, "sweep", "terminating"),
           {"name": "no id"}]
    live = _live(raw)
    assert [i["id"] for i in live] == [ID_B, ID_A]
    assert group_state("sweep", live) == {"name": "sweep", "instance_type": "gpu_1x_a10", "region": "us-west-1",
                                          "count": 2, "ids": [ID_A, ID_B]}
    mixed = group_state("m", [inst(ID_A, "m"), inst(ID_B, "m", kind="gpu_8x_a100", region="us-east-1")])
    assert mixed["instance_type"] == "gpu_1x_a10,gpu_8x_a100" and mixed["region"] == "us-east-1,us-west-1"


def test_targets_select_by_id_then_exact_name_then_any_case() -> None:
    live = [inst(ID_A, "Trainer"), inst(ID_B, "trainer"), inst(ID_C, "eval box")]
    assert _select(live, ID_A) == ("Trainer", [live[0]])
    assert _select(live, "trainer") == ("trainer", [live[1]])
    assert _select(live, "EVAL BOX") == ("eval box", [live[2]])
    assert _select(live, "ghost") == ("ghost", [])


@pytest.mark.parametrize("target", ["", None, "   ", "x" * 65])
def test_invalid_names_are_refused(target: str | None) -> None:
    with pytest.raises(ValidationFailedError, match="not a valid instance name"):
        instance_name(target)
    assert instance_name("  eval   box ") == "eval box"


def test_launch_predicts_the_group_and_its_hourly_price(adapter: LambdaLabsAdapter) -> None:
    call = launch(count=3)
    adapter.precheck(call, None)
    expected = adapter.predict(call, None)
    assert expected == {"name": "trainer", "instance_type": "gpu_1x_a10", "region": "us-west-1", "count": 3,
                        "unit_usd_per_hour": 0.75, "usd_per_hour": 2.25}
    after = {"name": "trainer", "instance_type": "gpu_1x_a10", "region": "us-west-1", "count": 3,
             "ids": [ID_A, ID_B, ID_C]}
    assert adapter.reached(call, expected, after), "the price is a quote: never read back"
    assert not adapter.reached(call, expected, {**after, "count": 2}), "a partial launch is not the launch"
    assert not adapter.reached(call, expected, None)
    inverse = spec_for(call.action).derive_inverse(call, None, after)
    assert inverse is not None and inverse.action == "lambdalabs.instance.terminate" and inverse.target == "trainer"
    assert adapter.predict(inverse, after) is None


def test_launch_refusals(adapter: LambdaLabsAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = {"name": "trainer", "count": 1, "ids": [ID_A]}
    with pytest.raises(ValidationFailedError, match="already named 'trainer'"):
        adapter.precheck(launch(), taken)
    with pytest.raises(ValidationFailedError, match="no price for instance type 'gpu_1x_h900'") as err:
        adapter.precheck(launch(kind="gpu_1x_h900"), None)
    assert "gpu_1x_a10, gpu_8x_h100_sxm5" in err.value.hint
    with pytest.raises(ValidationFailedError, match="no capacity in us-west-1"):
        adapter.precheck(launch(kind="gpu_8x_h100_sxm5"), None)
    adapter.quotes = {}
    with pytest.raises(ValidationFailedError, match="no price"):
        adapter.precheck(launch(), None)
    assert "usd_per_hour" not in (adapter.predict(launch(), None) or {}), "no quote read: no price in the plan"
    monkeypatch.delenv("SOPHIA_LAMBDALABS_SSH_KEY")
    with pytest.raises(ConfigError, match="SOPHIA_LAMBDALABS_SSH_KEY"):
        adapter.precheck(launch(), None)


def test_other_refusals(adapter: LambdaLabsAdapter) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForDocs1234 me@laptop"
    add = spec_for("lambdalabs.ssh_key.add").call("laptop", {"public_key": key})
    with pytest.raises(ValidationFailedError, match="already exists with this public key"):
        adapter.precheck(add, {"name": "laptop", "public_key": key})
    with pytest.raises(ValidationFailedError, match="with another public key"):
        adapter.precheck(add, {"name": "laptop", "public_key": "ssh-rsa AAAA other"})
    with pytest.raises(NotFoundError, match="no live instance named 'ghost'"):
        adapter.precheck(spec_for("lambdalabs.instance.terminate").call("ghost"), None)
    with pytest.raises(NotFoundError, match="no SSH key named 'ghost'"):
        adapter.precheck(spec_for("lambdalabs.ssh_key.remove").call("ghost"), None)


def test_terminate_says_plainly_it_cannot_be_undone() -> None:
    spec = spec_for("lambdalabs.instance.terminate")
    call = spec.call("trainer")
    before = {"name": "trainer", "instance_type": "gpu_1x_a10", "region": "us-west-1", "count": 1, "ids": [ID_A]}
    assert spec.risk.value == "destructive" and not spec.reversible
    assert spec.derive_inverse(call, before, None) is None
    assert "disk" in spec.inverse_hint and "gone" in spec.inverse_hint
    change = ChangeRecord(id="chg_t", run_id="run_t", seq=1, platform="lambdalabs", action=spec.id, target="trainer",
                          before=before, reversible=False, risk="destructive", actor="cli:alice",
                          status=ChangeStatus.APPLIED)
    with pytest.raises(IrreversibleError, match="can't be undone automatically") as err:
        _check_undoable(change)
    assert "irreversible" in err.value.hint
    assert "disk" in LambdaLabsAdapter.recreate_loses("instance", before)  # type: ignore[operator]


@pytest.mark.parametrize("hostile", NASTY, ids=range(len(NASTY)))
def test_a_hostile_key_id_from_the_listing_stays_one_path_segment(
    hostile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vendor answers are untrusted: the SSH key id a listing returns becomes a path segment.

    A test double, said plainly: ``httpx.MockTransport`` plays Lambda's listing with a hostile id
    (no contract server can be made to answer one); the oracle is what reaches the transport.
    """
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.method == "GET":
            return httpx.Response(200, json={"data": [{"id": hostile, "name": "laptop", "public_key": "k"}]})
        return httpx.Response(200, json={"data": {}})

    monkeypatch.setenv("SOPHIA_LAMBDALABS_BASE_URL", "http://lambda.test/base")
    monkeypatch.setenv("SOPHIA_LAMBDALABS_TOKEN", "secret_unit_0123456789")
    adapter = LambdaLabsAdapter(transport=httpx.MockTransport(answer))
    call = spec_for("lambdalabs.ssh_key.remove").call("laptop")
    try:
        asyncio.run(adapter.execute(call, {"name": "laptop", "public_key": "k"}))
    except ValidationFailedError:
        pass  # refused before the DELETE: nothing left the path
    for request in (r for r in sent if r.method == "DELETE"):
        raw = request.url.raw_path.decode("ascii")
        assert request.url.host == "lambda.test" and raw.startswith("/base/api/v1/ssh-keys/"), raw
        segment = raw.removeprefix("/base/api/v1/ssh-keys/")
        assert segment and "/" not in segment and offending(raw.removeprefix("/base")) is None, raw

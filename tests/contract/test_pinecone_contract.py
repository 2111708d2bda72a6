"""The Pinecone adapter against Pinecone's own control-plane document, served by Prism.

Pinecone publishes its API as OpenAPI (pinecone-io/pinecone-api, ``2026-04/db_control``, shipped in
``tests/contracts/vendor/pinecone`` with its SOURCE note). Every action runs through
``configure`` and every request must have zero request-side violations (body, header, path,
query), with strict mode refusing body fields the document doesn't declare. Prism is
stateless, so :class:`PineconeTwin` chooses its declared answers and plays the asynchronous
index lifecycle; ``twin.fault`` forces errors: the document's own (401, 403, 404, 409, 500), or,
for the 429 and 503 Pinecone's error guide documents but the document doesn't list, an answer
injected after Prism judged the request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import httpx
import pytest
import yaml

from adapters.ai.pinecone import API_VERSION, PineconeAdapter
from adapters.catalog import ActionCall
from adapters.http import PlatformAuthError
from adapters.registry import spec_for
from adapters.specs.pinecone import ACTIONS
from orchestrator.errors import AdapterError, ConfigError, NotFoundError, ValidationFailedError

from .common import assert_catalog_covered, pointed_at, sent
from .pinecone_twin import DOCUMENT, PineconeTwin
from .prism import (
    PrismPool,
    PrismServer,
    RecordingTransport,
    assert_no_request_violations,
    request_violations,
)
from .steered import Sleeps
from .strict import strict_violations

TOKEN = "pcsk_contract_9f8e7d6c5b4a"

#: action → (target, params, the one mutating request)
CASES: dict[str, tuple[str, dict[str, Any], tuple[str, str]]] = {
    "pinecone.index.create": ("product-search", {"dimension": 1536}, ("POST", "/indexes")),
    "pinecone.index.configure": ("support-kb", {"replicas": 3}, ("PATCH", "/indexes/support-kb")),
    "pinecone.index.delete": ("docs", {}, ("DELETE", "/indexes/docs")),
}


PRISM_SPECS = [DOCUMENT]


@pytest.fixture(scope="module")
def pinecone_server(prism: PrismPool) -> PrismServer:
    """The session's Prism serving Pinecone's own document."""
    (server,) = prism.serve(*DOCUMENT)
    return server


@pytest.fixture
def twin() -> PineconeTwin:
    return PineconeTwin()


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, pinecone_server: PrismServer, twin: PineconeTwin
) -> Iterator[RecordingTransport]:
    for var in ("CLOUD", "REGION", "POD_ENVIRONMENT", "POD_TYPE"):
        monkeypatch.delenv(f"SOPHIA_PINECONE_{var}", raising=False)
    with pointed_at(monkeypatch, "pinecone", pinecone_server.base_url, TOKEN):
        yield twin.attach(RecordingTransport())


@pytest.fixture
async def adapter(env: RecordingTransport) -> AsyncIterator[PineconeAdapter]:
    async with aclosing(PineconeAdapter(transport=env, sleep=Sleeps())) as a:
        yield a


def mutations(env: RecordingTransport) -> list[tuple[str, str]]:
    return [(m, p) for m, p in sent(env.exchanges) if m != "GET"]


def test_every_catalog_action_has_a_contract_case() -> None:
    assert_catalog_covered(PineconeAdapter, ACTIONS, CASES)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_speaks_the_contract(
    action: str, adapter: PineconeAdapter, env: RecordingTransport
) -> None:
    target, params, mutation = CASES[action]
    result = await adapter.configure(ActionCall(action=action, target=target, params=params))
    assert assert_no_request_violations(env.exchanges) >= 3
    assert mutations(env) == [mutation]
    assert sent(env.exchanges)[-1] == ("GET", f"/indexes/{target}"), "the change is read back"
    for ex in env.exchanges:
        assert ex.request.headers["api-key"] == TOKEN
        assert ex.request.headers["x-pinecone-api-version"] == API_VERSION
        assert "authorization" not in ex.request.headers
    assert adapter.reached(result.call, result.expected, result.after)
    assert result.inverse == adapter.spec(action).derive_inverse(result.call, result.before, result.after)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_dry_run_sends_nothing_mutating(
    action: str, adapter: PineconeAdapter, env: RecordingTransport
) -> None:
    target, params, _ = CASES[action]
    result = await adapter.configure(ActionCall(action=action, target=target, params=params), dry_run=True)
    assert result.dry_run and result.after is None
    assert mutations(env) == []
    assert_no_request_violations(env.exchanges)


# -- create --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_create_sends_a_serverless_index_and_waits_until_ready(
    adapter: PineconeAdapter, env: RecordingTransport
) -> None:
    result = await adapter.configure(
        spec_for("pinecone.index.create").call("Product-Search", {"dimension": 1536, "metric": "dot"})
    )
    post = next(ex for ex in env.exchanges if ex.request.method == "POST")
    assert json.loads(post.request.content) == {
        "name": "product-search",
        "dimension": 1536,
        "metric": "dotproduct",
        "vector_type": "dense",
        "deletion_protection": "disabled",
        "tags": {"managed-by": "sophia-iac"},
        "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}},
    }
    assert sent(env.exchanges)[2:] == [("GET", "/indexes/product-search")] * 3, (
        "Initializing twice, then Ready"
    )
    assert adapter.sleep.waits == [1.0, 2.0]  # type: ignore[union-attr]
    assert result.before is None
    assert result.after == {**result.expected, "deletion_protection": "disabled"}  # type: ignore[dict-item]
    assert result.inverse == ActionCall(action="pinecone.index.delete", target="Product-Search", params={})
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_create_pod_index_from_settings(
    adapter: PineconeAdapter, env: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHIA_PINECONE_POD_ENVIRONMENT", "us-east-1-aws")
    monkeypatch.setenv("SOPHIA_PINECONE_POD_TYPE", "S1.X2")
    result = await adapter.configure(spec_for("pinecone.index.create").call("legacy-kb", {"dimension": 384}))
    post = next(ex for ex in env.exchanges if ex.request.method == "POST")
    assert json.loads(post.request.content)["spec"] == {
        "pod": {"environment": "us-east-1-aws", "pod_type": "s1.x2", "pods": 1}
    }
    assert result.expected == {
        "name": "legacy-kb",
        "dimension": 384,
        "metric": "cosine",
        "replicas": 1,
        "deployment": "pod",
    }
    assert adapter.reached(result.call, result.expected, result.after)
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_create_in_another_region(
    adapter: PineconeAdapter, env: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHIA_PINECONE_CLOUD", "GCP")
    monkeypatch.setenv("SOPHIA_PINECONE_REGION", "europe-west4")
    await adapter.configure(spec_for("pinecone.index.create").call("eu-kb", {"dimension": 8}))
    post = next(ex for ex in env.exchanges if ex.request.method == "POST")
    assert json.loads(post.request.content)["spec"] == {
        "serverless": {"cloud": "gcp", "region": "europe-west4"}
    }
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("var", "value", "named"),
    [
        ("SOPHIA_PINECONE_CLOUD", "ibm", "SOPHIA_PINECONE_CLOUD"),
        ("SOPHIA_PINECONE_POD_TYPE", "p9.x3", "SOPHIA_PINECONE_POD_TYPE"),
    ],
)
async def test_impossible_settings_fail_at_plan_time(
    adapter: PineconeAdapter,
    env: RecordingTransport,
    monkeypatch: pytest.MonkeyPatch,
    var: str,
    value: str,
    named: str,
) -> None:
    monkeypatch.setenv("SOPHIA_PINECONE_POD_ENVIRONMENT", "us-east-1-aws" if "POD" in var else "")
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=named):
        await adapter.configure(spec_for("pinecone.index.create").call("kb", {"dimension": 8}), dry_run=True)
    assert mutations(env) == []


@pytest.mark.anyio
async def test_create_gives_up_waiting_at_the_bound(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PineconeAdapter, "settle_timeout", 30.0)
    twin.init_polls = 10_000
    result = await adapter.configure(spec_for("pinecone.index.create").call("slow-kb", {"dimension": 8}))
    waits = adapter.sleep.waits  # type: ignore[union-attr]
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0], "backed off, capped, and stopped once 30 s had passed"
    assert result.after is not None and result.after["name"] == "slow-kb", (
        "returned as it is, still initialising"
    )
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_initialization_failed_is_reported(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin
) -> None:
    twin.init_state = "InitializationFailed"
    with pytest.raises(AdapterError, match="'doomed' is InitializationFailed"):
        await adapter.configure(spec_for("pinecone.index.create").call("doomed", {"dimension": 8}))
    assert adapter.sleep.waits == [], "a failed index is not waited on"  # type: ignore[union-attr]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_creating_an_existing_index_is_refused_at_plan_time(
    adapter: PineconeAdapter, env: RecordingTransport
) -> None:
    with pytest.raises(ValidationFailedError, match="'docs' already exists"):
        await adapter.configure(spec_for("pinecone.index.create").call("docs", {"dimension": 8}))
    assert mutations(env) == []


@pytest.mark.anyio
async def test_409_on_create_says_already_exists(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin
) -> None:
    twin.fault("POST", "/indexes", 409, times=10)
    with pytest.raises(ValidationFailedError, match="'new-kb' already exists"):
        await adapter.configure(spec_for("pinecone.index.create").call("new-kb", {"dimension": 8}))
    posts = [ex.response.status_code for ex in env.exchanges if ex.request.method == "POST"]
    # A 409 on a create is final: asked once, reported at once.
    assert posts == [409]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_404_on_create_is_an_unknown_region(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHIA_PINECONE_REGION", "us-west1")
    twin.fault("POST", "/indexes", 404)
    with pytest.raises(ConfigError) as err:
        await adapter.configure(spec_for("pinecone.index.create").call("kb", {"dimension": 8}))
    assert "aws/us-west1" in err.value.message and "SOPHIA_PINECONE_REGION" in err.value.hint
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_403_on_create_names_the_key_and_the_quota(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin
) -> None:
    twin.fault("POST", "/indexes", 403)
    with pytest.raises(PlatformAuthError) as err:
        await adapter.configure(spec_for("pinecone.index.create").call("kb", {"dimension": 8}))
    assert "SOPHIA_PINECONE_TOKEN" in err.value.hint and "quota" in err.value.hint
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_429_on_create_is_retried(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin
) -> None:
    twin.fault("POST", "/indexes", 429)
    await adapter.configure(spec_for("pinecone.index.create").call("kb", {"dimension": 8}))
    assert [ex.response.status_code for ex in env.exchanges if ex.request.method == "POST"] == [429, 201]
    assert len(adapter.http.waits) == 1
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_5xx_on_create_is_not_repeated(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin
) -> None:
    twin.fault("POST", "/indexes", 500)
    with pytest.raises(AdapterError, match="HTTP 500"):
        await adapter.configure(spec_for("pinecone.index.create").call("kb", {"dimension": 8}))
    assert mutations(env) == [("POST", "/indexes")], "a create may have happened: it is not sent twice"


# -- configure -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_configure_a_pod_index(adapter: PineconeAdapter, env: RecordingTransport) -> None:
    result = await adapter.configure(spec_for("pinecone.index.configure").call("support-kb", {"replicas": 3}))
    patch = next(ex for ex in env.exchanges if ex.request.method == "PATCH")
    assert json.loads(patch.request.content) == {"spec": {"pod": {"replicas": 3}}}
    assert result.before is not None and result.before["replicas"] == 2
    assert result.after is not None and result.after["replicas"] == 3
    assert sent(env.exchanges)[-2:] == [("GET", "/indexes/support-kb")] * 2, "ScalingUp, then Ready"
    assert adapter.sleep.waits == [1.0]  # type: ignore[union-attr]
    assert result.inverse == ActionCall(
        action="pinecone.index.configure", target="support-kb", params={"replicas": 2}
    )
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_configure_dedicated_read_nodes_keeps_node_type_and_shards(
    adapter: PineconeAdapter, env: RecordingTransport
) -> None:
    result = await adapter.configure(spec_for("pinecone.index.configure").call("recs", {"replicas": 2}))
    patch = next(ex for ex in env.exchanges if ex.request.method == "PATCH")
    assert json.loads(patch.request.content) == {
        "spec": {
            "serverless": {
                "read_capacity": {
                    "mode": "Dedicated",
                    "dedicated": {
                        "node_type": "b1",
                        "scaling": "Manual",
                        "manual": {"shards": 1, "replicas": 2},
                    },
                }
            }
        }
    }
    assert result.after is not None and result.after["replicas"] == 2
    assert adapter.sleep.waits == [1.0], "waited once for read capacity Scaling → Ready"  # type: ignore[union-attr]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_configure_on_demand_is_refused_before_anything_is_sent(
    adapter: PineconeAdapter, env: RecordingTransport
) -> None:
    with pytest.raises(ValidationFailedError, match="without replicas") as err:
        await adapter.configure(spec_for("pinecone.index.configure").call("docs", {"replicas": 2}))
    assert "scales on-demand serverless indexes itself" in err.value.hint
    assert mutations(env) == []


@pytest.mark.anyio
async def test_configure_to_the_current_count_sends_nothing(
    adapter: PineconeAdapter, env: RecordingTransport
) -> None:
    result = await adapter.configure(spec_for("pinecone.index.configure").call("support-kb", {"replicas": 2}))
    assert mutations(env) == [] and result.after == result.before


@pytest.mark.anyio
async def test_configure_5xx_is_retried(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin
) -> None:
    twin.fault("PATCH", "/indexes/support-kb", 500)
    result = await adapter.configure(spec_for("pinecone.index.configure").call("support-kb", {"replicas": 4}))
    assert [ex.response.status_code for ex in env.exchanges if ex.request.method == "PATCH"] == [500, 202]
    assert result.after is not None and result.after["replicas"] == 4
    assert_no_request_violations(env.exchanges)


# -- delete --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_delete_waits_until_the_index_is_gone(
    adapter: PineconeAdapter, env: RecordingTransport
) -> None:
    result = await adapter.configure(spec_for("pinecone.index.delete").call("docs"))
    assert result.after is None and result.inverse is None
    reads = [ex.response.status_code for ex in env.exchanges if ex.request.method == "GET"]
    assert reads == [200, 200, 404], "before, Terminating, gone"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_delete_of_a_protected_index_is_refused_at_plan_time(
    adapter: PineconeAdapter, env: RecordingTransport
) -> None:
    with pytest.raises(ValidationFailedError, match="deletion protection enabled") as err:
        await adapter.configure(spec_for("pinecone.index.delete").call("billing-archive"), dry_run=True)
    assert "Pinecone console" in err.value.hint
    assert mutations(env) == []


@pytest.mark.anyio
async def test_protection_turned_on_after_the_plan_is_reported_as_such(
    adapter: PineconeAdapter, env: RecordingTransport
) -> None:
    stale = {"name": "billing-archive", "deletion_protection": "disabled", "replicas": None}
    with pytest.raises(ValidationFailedError, match="deletion protection enabled"):
        await adapter.execute(spec_for("pinecone.index.delete").call("billing-archive"), stale)
    assert [ex.response.status_code for ex in env.exchanges] == [403, 200]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_404_names_the_index(adapter: PineconeAdapter, env: RecordingTransport) -> None:
    with pytest.raises(NotFoundError, match="'ghost' not found"):
        await adapter.configure(spec_for("pinecone.index.delete").call("ghost"))
    assert sent(env.exchanges) == [("GET", "/indexes/ghost")], "nothing is deleted"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_404_on_delete_itself_names_the_index(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin
) -> None:
    twin.fault("DELETE", "/indexes/docs", 404)
    with pytest.raises(NotFoundError) as err:
        await adapter.configure(spec_for("pinecone.index.delete").call("docs"))
    assert err.value.details["target"] == "docs" and "docs not found" in err.value.message


# -- auth, names, status --------------------------------------------------------------------


@pytest.mark.anyio
async def test_401_names_the_credential_variable(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin
) -> None:
    twin.fault("GET", "/indexes/support-kb", 401)
    with pytest.raises(PlatformAuthError) as err:
        await adapter.configure(spec_for("pinecone.index.configure").call("support-kb", {"replicas": 3}))
    assert "SOPHIA_PINECONE_TOKEN" in err.value.hint
    assert TOKEN not in json.dumps(err.value.to_dict())
    assert [ex.response.status_code for ex in env.exchanges] == [401], "a refused key is not retried"


@pytest.mark.anyio
async def test_missing_key_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: RecordingTransport
) -> None:
    monkeypatch.delenv("SOPHIA_PINECONE_TOKEN")
    async with aclosing(PineconeAdapter(transport=env)) as adapter:
        status = await adapter.get_status()
    assert not status.configured and not status.healthy
    assert "SOPHIA_PINECONE_TOKEN" in status.message
    assert env.exchanges == []


@pytest.mark.anyio
async def test_prism_refuses_a_request_without_the_key(pinecone_server: PrismServer) -> None:
    """The contract requires Api-Key: proof that a keyless request would be caught."""
    async with httpx.AsyncClient(base_url=pinecone_server.base_url) as client:
        response = await client.get("/indexes", headers={"X-Pinecone-Api-Version": API_VERSION})
    assert response.status_code == 401 and request_violations(response)


def test_the_adapter_speaks_the_documents_api_version(pinecone_server: PrismServer) -> None:
    """The document declares the version header free-form, so Prism can't catch a wrong one: this does."""
    document = yaml.load(pinecone_server.spec.read_text(), Loader=yaml.CSafeLoader)
    assert document["info"]["version"] == API_VERSION
    for item in document["paths"].values():
        for operation in item.values():
            header = next(p for p in operation["parameters"] if p["name"] == "X-Pinecone-Api-Version")
            assert header["required"] and header["schema"]["default"] == API_VERSION


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "body", "problem"),
    [
        ({}, None, "x-pinecone-api-version"),
        (
            {"X-Pinecone-Api-Version": API_VERSION},
            {"name": "kb", "dimensions": 8, "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}}},
            "dimensions",
        ),
    ],
)
async def test_the_contract_catches_wrong_requests(
    pinecone_server: PrismServer, headers: dict[str, str], body: Any, problem: str
) -> None:
    """A missing version header or a misspelt field is a violation: the checks above can fail.

    The misspelt field is strict mode's finding (the document leaves bodies open to unknown
    properties, as Prism reads it).
    """
    async with httpx.AsyncClient(
        base_url=pinecone_server.base_url, headers={"Api-Key": TOKEN, **headers}
    ) as client:
        response = await (client.post("/indexes", json=body) if body else client.get("/indexes/kb"))
    found = [*request_violations(response), *strict_violations(response.request)]
    assert any(problem in json.dumps(v).lower() for v in found), found


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("target", "suggestion"),
    [("Product Search", "product-search"), ("-kb-", "kb"), ("kb_v2", "kb-v2"), ("x" * 46, "x" * 45)],
)
async def test_bad_index_names_are_refused_before_any_request(
    adapter: PineconeAdapter, env: RecordingTransport, target: str, suggestion: str
) -> None:
    with pytest.raises(ValidationFailedError, match="not a valid index name") as err:
        await adapter.configure(spec_for("pinecone.index.create").call(target, {"dimension": 8}))
    assert repr(suggestion) in err.value.hint
    assert env.exchanges == []


@pytest.mark.anyio
async def test_status_lists_every_index_with_readiness(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin
) -> None:
    twin.settling["recs"] = ["Scaling", 1]
    status = await adapter.get_status()
    assert status.healthy and status.configured
    items = {item["name"]: item for item in status.inventory["index"]}
    assert set(items) == {"support-kb", "recs", "docs", "billing-archive"}
    assert items["support-kb"] == {
        "name": "support-kb",
        "dimension": 768,
        "metric": "cosine",
        "replicas": 2,
        "deployment": "pod",
        "deletion_protection": "disabled",
        "ready": True,
        "state": "Ready",
        "host": "support-kb-c01b5b5.svc.us-east-1-aws.pinecone.io",
        "environment": "us-east-1-aws",
        "pod_type": "p1.x1",
    }
    assert (
        items["docs"]["cloud"] == "aws"
        and items["docs"]["region"] == "us-east-1"
        and items["docs"]["replicas"] is None
    )
    assert items["billing-archive"]["deletion_protection"] == "enabled"
    assert status.details["api_version"] == API_VERSION and status.details["circuit"]["state"] == "closed"
    assert sent(env.exchanges) == [("GET", "/indexes")]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_status_retries_a_5xx_then_reports_unhealthy(
    adapter: PineconeAdapter, env: RecordingTransport, twin: PineconeTwin
) -> None:
    twin.fault("GET", "/indexes", 503, times=2)
    assert (await adapter.get_status()).healthy
    twin.fault("GET", "/indexes", 500, times=10)
    status = await adapter.get_status()
    assert not status.healthy and status.configured and "pinecone" in status.message

"""The Weaviate adapter against Weaviate's published REST contract (Swagger 2.0), served by Prism.

Every action runs through ``configure``; every request it sends must have zero request-side
violations. The schema operations declare 401, 404 (reads), 422 and 429 (create), forced with
``Prefer: code=…``. Prism answers every collection read with one canned class (``string``, read
as the collection asked for), so a create forces 404 on its first read (the collection doesn't
exist yet); the conformance suite, in test_weaviate_conformance.py, adds a state model.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import httpx
import pytest

from adapters.ai.weaviate import WeaviateAdapter
from adapters.catalog import ActionCall
from adapters.http import CircuitOpenError, PlatformAuthError
from adapters.registry import spec_for
from adapters.specs.weaviate import ACTIONS
from orchestrator.errors import AdapterError, NotFoundError, ValidationFailedError

from .common import assert_catalog_covered, pointed_at, sent
from .prism import PrismPool, assert_no_request_violations
from .steered import Sleeps, SteeredTransport

PRISM_SPECS = [("weaviate", "schema.json")]
TOKEN = "wv-api-key-test-7a6b5c4d3e2f1a0b"
CREATE_BODY = {
    "class": "Articles",
    "description": "Vector index managed by sophia-iac [dimension=768]",
    "vectorizer": "none",
    "vectorIndexType": "hnsw",
    "vectorIndexConfig": {"distance": "dot"},
}

#: action → (target, params, steering per request, the mutating request)
CASES: dict[str, tuple[str, dict[str, Any], list[str | None], tuple[str, str]]] = {
    "weaviate.index.create": (
        "articles",
        {"dimension": 768, "metric": "dot"},
        ["prefer:404"],
        ("POST", "/schema"),
    ),
    "weaviate.index.delete": ("String", {}, [], ("DELETE", "/schema/String")),
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prism: PrismPool) -> Iterator[SteeredTransport]:
    (server,) = prism.serve("weaviate", "schema.json")
    with pointed_at(monkeypatch, "weaviate", server.base_url, TOKEN):
        yield SteeredTransport()


@pytest.fixture
async def adapter(env: SteeredTransport) -> AsyncIterator[WeaviateAdapter]:
    async with aclosing(WeaviateAdapter(transport=env, sleep=Sleeps())) as a:
        yield a


def test_every_catalog_action_has_a_contract_case() -> None:
    assert_catalog_covered(WeaviateAdapter, ACTIONS, CASES)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_speaks_the_contract(
    action: str, adapter: WeaviateAdapter, env: SteeredTransport
) -> None:
    target, params, steps, mutation = CASES[action]
    env.steered(*steps)
    result = await adapter.configure(ActionCall(action=action, target=target, params=params))
    assert assert_no_request_violations(env.exchanges) >= 3
    assert [(m, p) for m, p in sent(env.exchanges) if m != "GET"] == [mutation]
    name = target[:1].upper() + target[1:]
    assert sent(env.exchanges)[-2:] == [("GET", f"/schema/{name}"), ("GET", f"/nodes/{name}")], (
        "the change is read back"
    )
    for ex in env.exchanges:
        assert ex.request.headers["authorization"] == f"Bearer {TOKEN}"
    spec = adapter.spec(action)
    assert result.inverse == spec.derive_inverse(result.call, result.before, result.after)


@pytest.mark.anyio
async def test_create_sends_the_collection_definition(
    adapter: WeaviateAdapter, env: SteeredTransport
) -> None:
    env.steered("prefer:404")
    result = await adapter.configure(
        spec_for("weaviate.index.create").call("articles", {"dimension": 768, "metric": "ip"})
    )
    post = next(ex for ex in env.exchanges if ex.request.method == "POST")
    assert json.loads(post.request.content) == CREATE_BODY
    assert result.before is None
    assert result.expected == {"name": "Articles", "dimension": 768, "metric": "dot"}
    assert result.inverse == ActionCall(action="weaviate.index.delete", target="articles", params={})
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_dry_run_sends_nothing_mutating(
    action: str, adapter: WeaviateAdapter, env: SteeredTransport
) -> None:
    target, params, steps, _ = CASES[action]
    env.steered(*steps)
    result = await adapter.configure(ActionCall(action=action, target=target, params=params), dry_run=True)
    assert result.dry_run and result.after is None
    assert {ex.request.method for ex in env.exchanges} == {"GET"}
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_delete_reports_what_it_destroys(adapter: WeaviateAdapter, env: SteeredTransport) -> None:
    def objects(request: httpx.Request, body: Any) -> Any:
        """Prism's canned shard belongs to a class named "string" with a negative count; give the
        collection two shards with objects, to show the count is summed over them."""
        if request.url.path.startswith("/nodes/") and isinstance(body, dict):
            node = body["nodes"][0]
            shards = [{**node["shards"][0], "class": "String", "objectCount": n} for n in (1200, 34)]
            return {**body, "nodes": [{**node, "shards": shards}]}
        return body

    env.edit_json = objects
    result = await adapter.configure(spec_for("weaviate.index.delete").call("String"), dry_run=True)
    assert result.before == {"name": "String", "dimension": None, "metric": "cosine", "rows": 1234}
    assert result.expected is None and result.inverse is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("target", "suggestion"),
    [("support-docs", "SupportDocs"), ("9lives", "C9lives"), ("Robert'); DROP", "RobertDROP")],
)
async def test_bad_collection_names_are_refused_before_any_request(
    adapter: WeaviateAdapter, env: SteeredTransport, target: str, suggestion: str
) -> None:
    with pytest.raises(ValidationFailedError, match="not a valid collection name") as err:
        await adapter.configure(spec_for("weaviate.index.create").call(target, {"dimension": 8}))
    assert repr(suggestion) in err.value.hint
    assert env.exchanges == []


@pytest.mark.anyio
async def test_creating_an_existing_collection_is_refused(
    adapter: WeaviateAdapter, env: SteeredTransport
) -> None:
    with pytest.raises(ValidationFailedError, match="already exists"):
        await adapter.configure(spec_for("weaviate.index.create").call("String", {"dimension": 8}))
    assert {ex.request.method for ex in env.exchanges} == {"GET"}


@pytest.mark.anyio
async def test_anonymous_access_sends_no_credential(
    monkeypatch: pytest.MonkeyPatch, env: SteeredTransport
) -> None:
    monkeypatch.delenv("SOPHIA_WEAVIATE_TOKEN")
    adapter = WeaviateAdapter(transport=env)
    status = await adapter.get_status()
    await adapter.aclose()
    assert status.healthy
    assert all("authorization" not in ex.request.headers for ex in env.exchanges)
    assert_no_request_violations(env.exchanges)


# -- forced errors -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_401_names_the_credential_variable(adapter: WeaviateAdapter, env: SteeredTransport) -> None:
    env.steered("prefer:401")
    with pytest.raises(PlatformAuthError) as err:
        await adapter.configure(spec_for("weaviate.index.delete").call("String"))
    assert "SOPHIA_WEAVIATE_TOKEN" in err.value.hint
    assert TOKEN not in json.dumps(err.value.to_dict())
    assert [ex.response.status_code for ex in env.exchanges] == [401]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_404_names_the_target(adapter: WeaviateAdapter, env: SteeredTransport) -> None:
    env.steered("prefer:404")
    with pytest.raises(NotFoundError) as err:
        await adapter.configure(spec_for("weaviate.index.delete").call("ghost"))
    assert "'Ghost' not found" in err.value.message
    assert sent(env.exchanges) == [("GET", "/schema/Ghost")], "nothing is deleted"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_429_on_create_is_retried(adapter: WeaviateAdapter, env: SteeredTransport) -> None:
    env.steered("prefer:404", "prefer:429")
    await adapter.configure(
        spec_for("weaviate.index.create").call("Articles", {"dimension": 768, "metric": "dot"})
    )
    posts = [ex.response.status_code for ex in env.exchanges if ex.request.method == "POST"]
    assert posts == [429, 200]
    assert len(adapter.sleep.waits) == 1  # type: ignore[union-attr]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_422_on_create_is_final_and_clear(adapter: WeaviateAdapter, env: SteeredTransport) -> None:
    env.steered("prefer:404", "prefer:422")
    with pytest.raises(AdapterError) as err:
        await adapter.configure(spec_for("weaviate.index.create").call("Articles", {"dimension": 8}))
    assert "weaviate rejected weaviate.index.create on Articles (HTTP 422)" in err.value.message
    assert [ex.request.method for ex in env.exchanges].count("POST") == 1, "a refusal is not retried"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_5xx_storm_opens_the_breaker_and_status_shows_it(
    adapter: WeaviateAdapter, env: SteeredTransport
) -> None:
    env.steer = lambda request: "prefer:500"
    with pytest.raises(AdapterError) as err:
        await adapter.configure(spec_for("weaviate.index.delete").call("String"))
    assert "weaviate" in err.value.message and "weaviate.index.delete" in err.value.message
    with pytest.raises(CircuitOpenError):
        await adapter.configure(spec_for("weaviate.index.delete").call("String"))
    status = await adapter.get_status()
    assert not status.healthy and status.details["circuit"]["state"] == "open"
    assert {ex.request.method for ex in env.exchanges} == {"GET"}, "nothing was deleted"


# -- status --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_status_reports_readiness_version_and_collections(
    adapter: WeaviateAdapter, env: SteeredTransport
) -> None:
    status = await adapter.get_status()
    assert status.healthy and status.configured
    assert status.inventory == {
        "index": [{"name": "string", "dimension": None, "metric": "cosine", "rows": 0}]
    }
    assert status.details["version"] == "string" and status.details["circuit"]["state"] == "closed"
    assert sent(env.exchanges) == [
        ("GET", "/.well-known/ready"),
        ("GET", "/meta"),
        ("GET", "/schema"),
        ("GET", "/nodes"),
    ]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_not_ready_is_unhealthy(adapter: WeaviateAdapter, env: SteeredTransport) -> None:
    env.steer = lambda request: "prefer:503" if request.url.path == "/.well-known/ready" else None
    status = await adapter.get_status()
    assert not status.healthy and status.configured and "503" in status.message


@pytest.mark.anyio
async def test_missing_base_url_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, env: SteeredTransport
) -> None:
    monkeypatch.delenv("SOPHIA_WEAVIATE_BASE_URL")
    adapter = WeaviateAdapter(transport=env)
    status = await adapter.get_status()
    assert not status.configured and "SOPHIA_WEAVIATE_BASE_URL" in status.message
    assert env.exchanges == []

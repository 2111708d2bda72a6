"""The Estuary adapter against Estuary's GraphQL schema and a HAND-WRITTEN PostgREST contract, via Prism.

Reads: every GraphQL document is validated with graphql-core against Estuary's production schema
(``tests/contracts/vendor/estuary``), and every query the adapter sends is validated and executed
against it by :class:`~tests.contract.estuary_twin.EstuaryTwin`. Changes: drafts, draft specs and
publications, which no Estuary contract file describes, against ``fixtures/estuary/openapi.yaml``
(written by hand, citing flowctl's and the dashboard's sources) served by Prism with unknown
request fields refused. Stand-in, said plainly: no Estuary control plane runs here; the twin's
publications are jobs that stay ``queued`` for a set number of status reads, as Estuary's do.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import pytest

from adapters.catalog import ActionCall
from adapters.data.estuary import EstuaryAdapter
from adapters.data.estuary.records import DOCUMENTS, SUPABASE_KEY_VAR
from adapters.http import PlatformAuthError
from adapters.specs.estuary import ACTIONS
from orchestrator.errors import (
    AdapterError,
    BusyError,
    ConfigError,
    NotFoundError,
    ValidationFailedError,
    outcome_unknown,
)

from .common import assert_catalog_covered, pointed_at, sent
from .estuary_twin import ACCESS, KEY, REFRESH, EstuaryTwin, estuary_schema, shared_server
from .prism import PrismServer, RecordingTransport, assert_no_request_violations
from .steered import Sleeps

#: action → (target, wanted enabled flag)
CASES: dict[str, tuple[str, bool]] = {
    "estuary.capture.disable": ("acmeCo/postgres-orders", False),
    "estuary.capture.enable": ("acmeCo/hubspot-source", True),
    "estuary.materialization.disable": ("acmeCo/snowflake-orders", False),
    "estuary.materialization.enable": ("acmeCo/warehouse-sync", True),
}
CHANGES = [("POST", "/rest/v1/drafts"), ("POST", "/rest/v1/draft_specs"), ("POST", "/rest/v1/publications")]


@pytest.fixture(scope="module")
def estuary_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract."""
    return shared_server(request.config)


@pytest.fixture
def twin() -> Iterator[EstuaryTwin]:
    """Estuary's state for one test; its query strings and GraphQL documents are checked at teardown."""
    twin = EstuaryTwin()
    yield twin
    assert twin.query_problems == [], "query strings the contract refuses"
    assert twin.validation_errors == [], "GraphQL documents Estuary's schema refuses"


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, estuary_server: PrismServer, twin: EstuaryTwin
) -> Iterator[RecordingTransport]:
    """A recording transport to Prism, steered by ``twin``; the adapter pointed at it (one server for both hosts)."""
    monkeypatch.delenv("SOPHIA_ESTUARY_PG_URL", raising=False)
    with pointed_at(monkeypatch, "estuary", estuary_server.base_url, REFRESH, **{SUPABASE_KEY_VAR: KEY}):
        yield twin.transport()


@pytest.fixture
async def adapter(env: RecordingTransport) -> AsyncIterator[EstuaryAdapter]:
    """An adapter sending through ``env``, recording waits instead of sleeping."""
    async with aclosing(EstuaryAdapter(transport=env, sleep=Sleeps())) as a:
        yield a


def changes(env: RecordingTransport) -> list[tuple[str, str]]:
    """The requests that may change something (not GraphQL, not the token exchange, not GETs)."""
    return [
        (m, p)
        for m, p in sent(env.exchanges)
        if m != "GET" and p not in ("/api/graphql", "/rest/v1/rpc/generate_access_token")
    ]


def body_of(env: RecordingTransport, path: str) -> Any:
    return next(json.loads(ex.request.content) for ex in env.exchanges if ex.request.url.path == path)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_validates_against_estuarys_schema(name: str) -> None:
    from graphql import parse, validate

    assert [e.message for e in validate(estuary_schema(), parse(DOCUMENTS[name]))] == []


def test_the_validator_catches_a_field_off_the_schema() -> None:
    twin = EstuaryTwin()
    answer = twin._graphql({"query": DOCUMENTS["spec"].replace("isDisabled", "disabled")})
    assert answer.status_code == 400
    assert twin.validation_errors == [
        "Cannot query field 'disabled' on type 'LiveSpec'. Did you mean 'isDisabled'?"
    ]


def test_every_catalog_action_has_a_contract_case() -> None:
    assert_catalog_covered(EstuaryAdapter, ACTIONS, CASES)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_speaks_the_contract(
    action: str, adapter: EstuaryAdapter, env: RecordingTransport, twin: EstuaryTwin
) -> None:
    target, enabled = CASES[action]
    live_pub = twin.specs[target]["pub"]
    result = await adapter.configure(ActionCall(action=action, target=target))
    assert assert_no_request_violations(env.exchanges) >= 8
    assert changes(env) == CHANGES
    assert result.before == {"name": target, "enabled": not enabled}
    assert result.after == result.expected == {"name": target, "enabled": enabled}
    assert twin.disabled(target) is not enabled and twin.drafts == {}
    spec = body_of(env, "/rest/v1/draft_specs")
    assert spec["catalog_name"] == target and spec["expect_pub_id"] == live_pub.replace(":", "")
    assert spec["spec"].get("shards", {}).get("disable", False) is not enabled
    assert spec["spec"]["endpoint"] == twin.specs[target]["model"]["endpoint"], (
        "the rest of the model is kept"
    )
    assert body_of(env, "/rest/v1/publications")["dry_run"] is False
    assert result.inverse is not None and result.inverse.action.endswith("disable" if enabled else "enable")
    assert result.inverse == adapter.spec(action).derive_inverse(result.call, result.before, result.after)
    for ex in env.exchanges:
        assert ex.request.headers.get("authorization") in (None, f"Bearer {ACCESS}")
    assert twin.exchanges == 1, "the refresh token is exchanged once, then the access token is reused"


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_dry_run_sends_only_reads(
    action: str, adapter: EstuaryAdapter, env: RecordingTransport
) -> None:
    result = await adapter.configure(ActionCall(action=action, target=CASES[action][0]), dry_run=True)
    assert result.dry_run and result.after is None and result.before is not None
    assert changes(env) == [] and env.exchanges
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_status_lists_captures_materializations_and_collections(adapter: EstuaryAdapter) -> None:
    status = await adapter.get_status()
    assert status.healthy, status.message
    assert status.inventory == {
        "capture": [
            {"name": "acmeCo/hubspot-source", "enabled": False},
            {"name": "acmeCo/postgres-orders", "enabled": True},
        ],
        "materialization": [
            {"name": "acmeCo/snowflake-orders", "enabled": True},
            {"name": "acmeCo/warehouse-sync", "enabled": False},
        ],
        "collection": [{"name": "acmeCo/orders", "enabled": True}],
    }
    assert status.message == "2 capture(s), 2 materialization(s) (2 disabled), 1 collection(s)"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("action", "target", "error"),
    [
        ("estuary.capture.disable", "acmeCo/hubspot-source", ValidationFailedError),  # already disabled
        ("estuary.capture.enable", "acmeCo/postgres-orders", ValidationFailedError),  # already enabled
        ("estuary.capture.disable", "acmeCo/snowflake-orders", NotFoundError),  # a materialization
        ("estuary.materialization.disable", "acmeCo/orders", NotFoundError),  # a collection
        ("estuary.capture.disable", "otherCo/secret-capture", NotFoundError),  # no grant: hidden
        ("estuary.capture.disable", "acmeCo/nope", NotFoundError),
    ],
)
async def test_refused_before_anything_changes(
    action: str, target: str, error: type[Exception], adapter: EstuaryAdapter, env: RecordingTransport
) -> None:
    with pytest.raises(error):
        await adapter.configure(ActionCall(action=action, target=target))
    assert changes(env) == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "/acmeCo/x",
        "acmeCo/x/",
        "acmeCo//x",
        "acme Co/x",
        "acmeCo/x?y=1",
        "acmeCo/x#y",
        "acmeCo/x%2f",
        "acmeCo/x\ny",
        "acmeCo/x\x00",
        "acmeCo\\x",
        "acmeCo/x;y",
        "acmeCo/x\u202e",
        "a" * 513,
        "acmeCo/x:y",
    ],
)
async def test_names_outside_flows_grammar_are_refused_before_sending(
    name: str, adapter: EstuaryAdapter, env: RecordingTransport
) -> None:
    with pytest.raises(ValidationFailedError, match=r"not a Flow catalog name|can.t be used"):
        await adapter.configure(ActionCall(action="estuary.capture.disable", target=name))
    assert env.exchanges == []


@pytest.mark.anyio
async def test_a_name_with_slashes_and_unicode_is_data(
    adapter: EstuaryAdapter, env: RecordingTransport, twin: EstuaryTwin
) -> None:
    name = "acmeCo/Приключения/v1.2_east-1"
    twin.specs[name] = {"type": "capture", "model": {"endpoint": {}}, "pub": twin.new_id()}
    result = await adapter.configure(ActionCall(action="estuary.capture.disable", target=name))
    assert result.after == {"name": name, "enabled": False}
    assert {p for _, p in sent(env.exchanges)} <= {
        "/api/graphql",
        "/rest/v1/rpc/generate_access_token",
        "/rest/v1/drafts",
        "/rest/v1/draft_specs",
        "/rest/v1/publications",
    }
    assert body_of(env, "/api/graphql")["variables"] == {"names": [name]}
    drafts = [ex.request for ex in env.exchanges if ex.request.url.path == "/rest/v1/drafts"]
    assert drafts[0].url.params["detail"] == f"eq.sophia-iac: {name}"


@pytest.mark.anyio
@pytest.mark.parametrize("outcome", ["buildFailed"])
async def test_a_failed_publication_is_refused_and_changes_nothing(
    outcome: str, adapter: EstuaryAdapter, env: RecordingTransport, twin: EstuaryTwin
) -> None:
    twin.outcome = outcome
    with pytest.raises(AdapterError, match=f"ended {outcome}: twin says {outcome}") as caught:
        await adapter.configure(ActionCall(action="estuary.capture.disable", target="acmeCo/postgres-orders"))
    assert caught.value.details["outcome"] == "refused" and not outcome_unknown(caught.value)
    assert not twin.disabled("acmeCo/postgres-orders") and twin.drafts == {}, "the failed draft is deleted"
    assert changes(env)[-1] == ("DELETE", "/rest/v1/drafts")
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_someone_elses_publication_meanwhile_is_an_expect_pub_id_mismatch(
    adapter: EstuaryAdapter, twin: EstuaryTwin
) -> None:
    call = ActionCall(action="estuary.capture.disable", target="acmeCo/postgres-orders")
    before = await adapter.observe(call)
    real_node = adapter._node

    async def node_then_publish(name: str, action: str, document: str = "spec") -> Any:
        found = await real_node(name, action, document)
        twin.specs[name]["pub"] = twin.new_id()  # someone publishes right after we read the model
        return found

    adapter._node = node_then_publish  # type: ignore[method-assign]
    with pytest.raises(AdapterError, match="expectPubIdMismatch"):
        await adapter.execute(call, before)
    assert not twin.disabled("acmeCo/postgres-orders")


@pytest.mark.anyio
async def test_still_queued_at_the_timeout_is_unknown_and_reads_are_busy_until_it_ends(
    adapter: EstuaryAdapter, env: RecordingTransport, twin: EstuaryTwin
) -> None:
    twin.polls = 1000
    adapter.settle_timeout = 3.0  # type: ignore[misc]
    call = ActionCall(action="estuary.capture.disable", target="acmeCo/postgres-orders")
    before = await adapter.observe(call)
    with pytest.raises(AdapterError, match="still queued") as caught:
        await adapter.execute(call, before)
    assert outcome_unknown(caught.value)
    with pytest.raises(BusyError, match="still running"):
        await adapter.observe(call)
    twin.finish()
    assert await adapter.observe(call) == {"name": "acmeCo/postgres-orders", "enabled": False}
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_an_access_token_is_used_as_it_is(
    monkeypatch: pytest.MonkeyPatch, adapter: EstuaryAdapter, env: RecordingTransport, twin: EstuaryTwin
) -> None:
    monkeypatch.setenv("SOPHIA_ESTUARY_TOKEN", ACCESS)
    assert (await adapter.get_status()).healthy
    assert twin.exchanges == 0 and all(
        p != "/rest/v1/rpc/generate_access_token" for _, p in sent(env.exchanges)
    )


@pytest.mark.anyio
async def test_a_rejected_token_names_the_credential(adapter: EstuaryAdapter, twin: EstuaryTwin) -> None:
    twin.fault("POST", "/api/graphql", 401, times=5)
    with pytest.raises(PlatformAuthError) as caught:
        await adapter.observe(ActionCall(action="estuary.capture.disable", target="acmeCo/postgres-orders"))
    assert "SOPHIA_ESTUARY_TOKEN" in caught.value.hint and ACCESS not in str(caught.value)


@pytest.mark.anyio
async def test_without_the_supabase_key_it_says_which_variable(
    monkeypatch: pytest.MonkeyPatch, adapter: EstuaryAdapter
) -> None:
    monkeypatch.delenv(SUPABASE_KEY_VAR)
    with pytest.raises(ConfigError, match=SUPABASE_KEY_VAR):
        await adapter.observe(ActionCall(action="estuary.capture.disable", target="acmeCo/postgres-orders"))
    status = await adapter.get_status()
    assert not status.healthy and not status.configured


@pytest.mark.anyio
async def test_losing_sight_of_a_queued_publication_leaves_the_outcome_unknown(
    adapter: EstuaryAdapter, twin: EstuaryTwin
) -> None:
    """The publication was queued, then status reads are refused (the token expired while waiting).

    The error is a definite 401, but the publication may yet land: the outcome must stay unknown.
    """
    call = ActionCall(action="estuary.capture.disable", target="acmeCo/postgres-orders")
    before = await adapter.observe(call)
    twin.fault("GET", "/rest/v1/publications", 401, times=20)
    with pytest.raises(PlatformAuthError) as caught:
        await adapter.execute(call, before)
    assert caught.value.details["outcome"] == "unknown" and outcome_unknown(caught.value)
    assert [p["status"] for p in twin.publications.values()] == ["queued"]


@pytest.mark.anyio
async def test_an_access_token_refused_early_is_exchanged_again_once(
    adapter: EstuaryAdapter, twin: EstuaryTwin
) -> None:
    adapter._access = ("eyJ.revoked.token", 4102444800.0)  # cached, not expired, but refused
    state = await adapter.observe(
        ActionCall(action="estuary.capture.disable", target="acmeCo/postgres-orders")
    )
    assert state == {"name": "acmeCo/postgres-orders", "enabled": True}
    assert twin.exchanges == 1 and adapter._access is not None and adapter._access[0] == ACCESS

"""The Apollo adapter's errors, credentials and status against its hand-written contract, and the checks' teeth.

Same set-up as :mod:`.test_apollo_contract` (Prism serving ``fixtures/apollo/openapi.yaml``,
steered by :class:`~tests.contract.apollo_twin.ApolloTwin`). Here: 429 without ``Retry-After``,
5xx on a change (never repeated) and on a search (repeated), 401/403 naming the variable, a
missing key, the status inventory and paging; and proof that the checks can fail: Prism refuses
a keyless request and malformed ones, the twin's query check catches what Prism can't see, and
Prism 5.14 can't read bracketed query names at all (why the contract says
``x-sophia-required``).
"""

# The fixtures come from .apollo_fixtures (two modules share them): tests name them as parameters.
# ruff: noqa: F811

from __future__ import annotations

import json
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.data.apollo import ApolloAdapter
from adapters.http import PlatformAuthError
from adapters.registry import spec_for
from orchestrator.errors import AdapterError

from .apollo_fixtures import JANE, TOKEN, adapter, apollo_server, env, twin  # noqa: F401 (fixtures)
from .apollo_twin import EMAIL_ACCOUNT, FIXTURE, SEQ, ApolloTwin, query_problems
from .handwritten import serve_fixture
from .prism import PrismServer, RecordingTransport, assert_no_request_violations, request_violations


@pytest.mark.anyio
async def test_429_without_retry_after_backs_off_then_succeeds(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin
) -> None:
    twin.fault("POST", r"/emailer_campaigns/[^/]+/approve", 429)
    result = await adapter.configure(spec_for("apollo.sequence.activate").call("Q4 Outbound"))
    assert [ex.response.status_code for ex in env.exchanges if ex.request.url.path.endswith("/approve")] == [
        429,
        200,
    ]
    waits = adapter.sleep.waits  # type: ignore[union-attr]
    assert len(waits) == 1 and 0 <= waits[0] <= 0.5, "jittered backoff: Apollo documents no Retry-After"
    assert result.after is not None and result.after["active"] is True


@pytest.mark.anyio
async def test_a_change_is_not_repeated_after_a_server_error_but_a_search_is(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin
) -> None:
    twin.fault("POST", "/emailer_campaigns/search", 503, times=2)
    state = await adapter.observe(spec_for("apollo.sequence.activate").call("Q4 Outbound"))
    assert state is not None and state["active"] is False
    twin.fault("POST", r"/emailer_campaigns/[^/]+/approve", 503)
    with pytest.raises(AdapterError, match="HTTP 503") as err:
        await adapter.execute(spec_for("apollo.sequence.activate").call("Q4 Outbound"), state)
    assert err.value.details["outcome"] == "unknown", "a 5xx may follow an applied change"
    approves = [ex for ex in env.exchanges if ex.request.url.path.endswith("/approve")]
    assert len(approves) == 1 and approves[0].response.headers.get("x-sophia-injected")


@pytest.mark.anyio
@pytest.mark.parametrize("code", [401, 403])
async def test_auth_failures_name_the_credential_variable(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin, code: int
) -> None:
    twin.fault("POST", "/emailer_campaigns/search", code)
    with pytest.raises(PlatformAuthError) as err:
        await adapter.configure(spec_for("apollo.sequence.activate").call("Q4 Outbound"))
    assert "SOPHIA_APOLLO_TOKEN" in err.value.hint and TOKEN not in json.dumps(err.value.to_dict())
    assert [ex.response.status_code for ex in env.exchanges] == [code], "a refused key is not retried"


@pytest.mark.anyio
async def test_missing_key_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: RecordingTransport
) -> None:
    monkeypatch.delenv("SOPHIA_APOLLO_TOKEN")
    async with aclosing(ApolloAdapter(transport=env)) as adapter:
        status = await adapter.get_status()
    assert not status.configured and not status.healthy and "SOPHIA_APOLLO_TOKEN" in status.message
    assert env.exchanges == []


@pytest.mark.anyio
async def test_prism_refuses_a_request_without_the_key(apollo_server: PrismServer) -> None:
    """The contract requires x-api-key: proof that a keyless request would be caught."""
    async with httpx.AsyncClient(base_url=apollo_server.base_url) as client:
        response = await client.post("/emailer_campaigns/search")
    assert response.status_code == 401 and request_violations(response)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "params", "body", "problem"),
    [
        ("/contacts/search", None, {"q_keywords": "jane@acme.com", "emails": ["x"]}, "emails"),
        ("/contacts/search", None, {"per_page": 10}, "q_keywords"),
        ("/emailer_campaigns/Q4 Outbound/approve", None, None, "sequence_id"),
        (
            f"/emailer_campaigns/{SEQ['Q4 Outbound']}/add_contact_ids",
            {"emailer_campaign_id": SEQ["Q4 Outbound"], "contact_ids[]": JANE},
            None,
            "send_email_from_email_account_id",
        ),
        (
            "/emailer_campaigns/remove_or_stop_contact_ids",
            {"emailer_campaign_ids[]": SEQ["Q4 Outbound"], "contact_ids[]": JANE, "mode": "delete"},
            None,
            "mode",
        ),
    ],
)
async def test_the_contract_catches_wrong_requests(
    apollo_server: PrismServer, path: str, params: Any, body: Any, problem: str
) -> None:
    """A misspelt field, a missing one, a name for an id, a missing mailbox, a bad mode: the checks can fail."""
    transport = RecordingTransport()
    async with httpx.AsyncClient(
        base_url=apollo_server.base_url, headers={"x-api-key": TOKEN}, transport=transport
    ) as client:
        await client.post(path, params=params, json=body)
    with pytest.raises(AssertionError) as err:
        assert_no_request_violations(transport.exchanges)
    assert problem in str(err.value), str(err.value)


@pytest.mark.parametrize(
    ("path", "params", "problem"),
    [
        ("/emailer_campaigns/search", {"q_nmae": "Q4", "page": "1"}, "q_nmae is not declared"),
        ("/emailer_campaigns/search", {"page": "0"}, "page: '0' does not match"),
        (
            f"/emailer_campaigns/{SEQ['Q4 Outbound']}/add_contact_ids",
            {"emailer_campaign_id": SEQ["Q4 Outbound"], "send_email_from_email_account_id": EMAIL_ACCOUNT},
            "contact_ids[] is required",
        ),
        (
            f"/emailer_campaigns/{SEQ['Q4 Outbound']}/add_contact_ids",
            {
                "emailer_campaign_id": SEQ["Q4 Outbound"],
                "contact_ids[]": ["jane.doe@acme.com"],
                "send_email_from_email_account_id": EMAIL_ACCOUNT,
            },
            "'jane.doe@acme.com' does not match",
        ),
        (
            "/emailer_campaigns/remove_or_stop_contact_ids",
            {"emailer_campaign_ids[]": SEQ["Q4 Outbound"], "contact_ids[]": JANE, "mode": ["remove", "stop"]},
            "mode is given 2 times",
        ),
    ],
)
def test_the_query_check_catches_what_prism_cannot(path: str, params: dict[str, Any], problem: str) -> None:
    """A misspelt name, a bad page, a missing or malformed bracketed id, a repeated mode."""
    found = query_problems("POST", path, httpx.QueryParams(params))
    assert any(problem in p for p in found), found


def test_prism_cannot_read_bracketed_query_names(apollo_server: PrismServer, tmp_path: Path) -> None:
    """Why the contract says x-sophia-required: Prism 5.14 finds no spelling of ``contact_ids[]``.

    A copy of the contract with ``required: true`` is served; every spelling is reported
    missing. If a later Prism reads them, this fails: then mark them ``required`` again.
    """
    copy = tmp_path / "openapi.yaml"
    copy.write_text(
        FIXTURE.read_text().replace(
            '"contact_ids[]", in: query, x-sophia-required: true',
            '"contact_ids[]", in: query, required: true',
        )
    )
    query = f"emailer_campaign_id={SEQ['Q4 Outbound']}&send_email_from_email_account_id={EMAIL_ACCOUNT}"
    with serve_fixture(copy) as server:
        for spelling in ("contact_ids[]", "contact_ids%5B%5D", "contact_ids%5b%5d", "contact_ids"):
            url = f"{server.base_url}/emailer_campaigns/{SEQ['Q4 Outbound']}/add_contact_ids?{query}&{spelling}={JANE}"
            response = httpx.post(url, headers={"x-api-key": TOKEN})
            assert response.status_code == 422, spelling
            assert any("contact_ids%5b%5d" in v["message"] for v in request_violations(response)), spelling


@pytest.mark.anyio
async def test_status_lists_every_sequence(adapter: ApolloAdapter, env: RecordingTransport) -> None:
    status = await adapter.get_status()
    assert status.healthy and status.configured and "5 sequence(s), 2 active" in status.message
    assert [s["name"] for s in status.inventory["sequence"]] == [
        "Q4 Outbound",
        "Enterprise Nurture",
        "Webinar Follow-up",
        "Trial Nudges",
        "trial  NUDGES",
    ]
    assert status.inventory["sequence"][2] == {
        "id": SEQ["Webinar Follow-up"],
        "name": "Webinar Follow-up",
        "active": False,
        "archived": True,
    }
    assert status.details["circuit"]["state"] == "closed"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_searches_are_read_page_by_page(
    adapter: ApolloAdapter, env: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ApolloAdapter, "page_size", 2)
    status = await adapter.get_status()
    assert len(status.inventory["sequence"]) == 5
    pages = [(ex.request.url.params["page"], ex.request.url.params["per_page"]) for ex in env.exchanges]
    assert pages == [("1", "2"), ("2", "2"), ("3", "2")]
    assert_no_request_violations(env.exchanges)

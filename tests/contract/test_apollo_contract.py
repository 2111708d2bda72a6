"""The Apollo adapter against a HAND-WRITTEN contract of Apollo's REST API, served by Prism.

``fixtures/apollo/openapi.yaml`` describes, from Apollo's API reference (cited in the file), the
seven operations the adapter uses, with strict request schemas (a closed search body, 24-hex
ids, required query parameters). Every request must have zero request-side violations (body,
header, path, query), and its query string no problem by the contract
(:attr:`ApolloTwin.query_problems`: what Prism can't check). Prism is stateless, so
:class:`ApolloTwin` chooses its declared answers and keeps the team's sequences and contacts.
Here: every action speaks the contract, dry runs, read-backs and inverses, refusals before
sending, Apollo's skips and 422s, hostile ids in Apollo's answers, the sender mailbox. Errors,
auth, status and the checks' own teeth are in :mod:`.test_apollo_errors`.
"""

# The fixtures come from .apollo_fixtures (two modules share them): tests name them as parameters.
# ruff: noqa: F811

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from adapters.catalog import ActionCall
from adapters.data.apollo import ApolloAdapter
from adapters.registry import spec_for
from adapters.specs.apollo import ACTIONS
from orchestrator.errors import AdapterError, ConfigError, NotFoundError, ValidationFailedError

from .apollo_fixtures import JANE, TOKEN, adapter, apollo_server, env, mutations, twin  # noqa: F401 (fixtures)
from .apollo_twin import EMAIL_ACCOUNT, SEQ, ApolloTwin
from .common import assert_catalog_covered, sent
from .prism import RecordingTransport, assert_no_request_violations

#: action → (target, params, the one mutating request)
CASES: dict[str, tuple[str, dict[str, Any], tuple[str, str]]] = {
    "apollo.sequence.activate": (
        "Q4 Outbound",
        {},
        ("POST", f"/emailer_campaigns/{SEQ['Q4 Outbound']}/approve"),
    ),
    "apollo.sequence.deactivate": (
        "Enterprise Nurture",
        {},
        ("POST", f"/emailer_campaigns/{SEQ['Enterprise Nurture']}/abort"),
    ),
    "apollo.contact.add_to_sequence": (
        "Jane.Doe@acme.com",
        {"sequence": "q4 outbound"},
        ("POST", f"/emailer_campaigns/{SEQ['Q4 Outbound']}/add_contact_ids"),
    ),
    "apollo.contact.remove_from_sequence": (
        "BOB@globex.io",
        {"sequence": "enterprise  nurture"},
        ("POST", "/emailer_campaigns/remove_or_stop_contact_ids"),
    ),
}


def test_every_catalog_action_has_a_contract_case() -> None:
    assert_catalog_covered(ApolloAdapter, ACTIONS, CASES)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_speaks_the_contract(
    action: str, adapter: ApolloAdapter, env: RecordingTransport
) -> None:
    target, params, mutation = CASES[action]
    result = await adapter.configure(ActionCall(action=action, target=target, params=params))
    assert assert_no_request_violations(env.exchanges) >= 3
    assert mutations(env) == [mutation]
    for ex in env.exchanges:
        assert ex.request.headers["x-api-key"] == TOKEN and "authorization" not in ex.request.headers
    assert adapter.reached(result.call, result.expected, result.after)
    assert result.inverse == adapter.spec(action).derive_inverse(result.call, result.before, result.after)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_dry_run_sends_nothing_mutating(
    action: str, adapter: ApolloAdapter, env: RecordingTransport
) -> None:
    target, params, _ = CASES[action]
    result = await adapter.configure(ActionCall(action=action, target=target, params=params), dry_run=True)
    assert result.dry_run and result.after is None and result.before is not None
    assert mutations(env) == [] and env.exchanges
    assert_no_request_violations(env.exchanges)


# -- sequences ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_activate_reads_back_and_its_inverse_deactivates(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin
) -> None:
    result = await adapter.configure(spec_for("apollo.sequence.activate").call("q4  outbound"))
    seq = SEQ["Q4 Outbound"]
    assert result.before == {"id": seq, "name": "Q4 Outbound", "active": False, "archived": False}
    assert result.after == {**result.before, "active": True} and twin.sequences[seq]["active"] is True
    approve = next(ex for ex in env.exchanges if ex.request.url.path.endswith("/approve"))
    assert approve.request.content == b"" and not approve.request.url.params, (
        "the id travels in the path only"
    )
    search = env.exchanges[-1].request  # the read-back: a search by the name Apollo shows
    assert search.url.path == "/emailer_campaigns/search" and search.url.params["q_name"] == "Q4 Outbound"
    assert result.inverse == ActionCall(action="apollo.sequence.deactivate", target="q4  outbound")
    undo = await adapter.configure(result.inverse)
    assert undo.after is not None and undo.after["active"] is False and twin.sequences[seq]["active"] is False
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_a_read_back_that_disagrees_is_returned_as_seen(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin
) -> None:
    """Apollo answers 200 but the sequence stays inactive: the read-back says so, not the answer."""
    seq = SEQ["Q4 Outbound"]
    real_route = twin.route

    def route(method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        code, note = real_route(method, path, body, request)
        if path.endswith("/approve"):
            twin.sequences[seq]["active"] = False  # applied by the answer, undone by the platform
        return code, note

    twin.route = route  # type: ignore[method-assign]
    result = await adapter.configure(spec_for("apollo.sequence.activate").call("Q4 Outbound"))
    assert result.after is not None and result.after["active"] is False
    assert not adapter.reached(result.call, result.expected, result.after)


@pytest.mark.parametrize(
    ("action", "target", "message"),
    [
        ("apollo.sequence.activate", "Enterprise Nurture", "already active"),
        ("apollo.sequence.deactivate", "Q4 Outbound", "already inactive"),
        ("apollo.sequence.activate", "Webinar Follow-up", "archived"),
    ],
)
@pytest.mark.anyio
async def test_refusals_send_no_mutation(
    adapter: ApolloAdapter, env: RecordingTransport, action: str, target: str, message: str
) -> None:
    with pytest.raises(ValidationFailedError, match=message) as err:
        await adapter.configure(spec_for(action).call(target))
    assert err.value.details["outcome"] == "unsent" and mutations(env) == []


@pytest.mark.anyio
async def test_missing_and_ambiguous_sequences(adapter: ApolloAdapter, env: RecordingTransport) -> None:
    with pytest.raises(NotFoundError, match="no sequence named 'Ghost'"):
        await adapter.configure(spec_for("apollo.sequence.activate").call("Ghost"))
    with pytest.raises(ValidationFailedError, match="2 sequences are called 'TRIAL NUDGES'") as err:
        await adapter.configure(spec_for("apollo.sequence.deactivate").call("TRIAL NUDGES"))
    assert SEQ["Trial Nudges"] in err.value.message and SEQ["Trial Nudges (copy)"] in err.value.message
    state = await adapter.observe(spec_for("apollo.sequence.deactivate").call("Trial Nudges"))
    assert state is not None and state["id"] == SEQ["Trial Nudges"], "an exact-case match wins"
    assert mutations(env) == []


@pytest.mark.anyio
async def test_422_carries_apollos_message(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin
) -> None:
    """Activated by someone else between plan and apply: Apollo's 422 reaches the error, refused."""
    call = spec_for("apollo.sequence.activate").call("Q4 Outbound")
    before = await adapter.observe(call)
    twin.sequences[SEQ["Q4 Outbound"]]["active"] = True
    with pytest.raises(AdapterError, match="already active") as err:
        await adapter.execute(call, before)
    assert err.value.details["status"] == 422 and err.value.details["outcome"] == "refused"


# -- contacts -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_add_to_sequence_sends_the_ids_and_reads_the_contact_back(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin
) -> None:
    call = spec_for("apollo.contact.add_to_sequence").call("jane.doe@ACME.com", {"sequence": "Q4  outbound"})
    result = await adapter.configure(call)
    seq = SEQ["Q4 Outbound"]
    add = next(ex for ex in env.exchanges if ex.request.url.path.endswith("/add_contact_ids")).request
    assert add.url.params.multi_items() == [
        ("emailer_campaign_id", seq),
        ("contact_ids[]", JANE),
        ("send_email_from_email_account_id", EMAIL_ACCOUNT),
    ]
    assert add.content == b""
    assert result.before == {"id": JANE, "email": "jane.doe@acme.com", "sequences": []}
    assert result.after == {"id": JANE, "email": "jane.doe@acme.com", "sequences": ["Q4 Outbound"]}
    assert twin.contacts[JANE]["statuses"] == {seq: "paused"}, "added to an inactive sequence: paused"
    assert result.inverse == ActionCall(
        action="apollo.contact.remove_from_sequence",
        target="jane.doe@ACME.com",
        params={"sequence": "Q4 outbound"},
    )
    assert sent(env.exchanges)[-1] == ("POST", "/contacts/search"), "the after-state is a fresh read"
    searched = json.loads(env.exchanges[-1].request.content)
    assert searched == {"q_keywords": "jane.doe@ACME.com", "page": 1, "per_page": 100}
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_remove_from_sequence_undoes_an_add(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin
) -> None:
    """The add's inverse is the catalog's removal, sent with ``mode=remove``; it restores the before-state."""
    call = spec_for("apollo.contact.add_to_sequence").call("jane.doe@acme.com", {"sequence": "Q4 Outbound"})
    result = await adapter.configure(call)
    assert result.inverse == ActionCall(
        action="apollo.contact.remove_from_sequence",
        target="jane.doe@acme.com",
        params={"sequence": "Q4 Outbound"},
    )
    undone = await adapter.configure(result.inverse)
    assert undone.after == result.before and twin.contacts[JANE]["statuses"] == {}
    remove = next(ex for ex in env.exchanges if "remove_or_stop" in ex.request.url.path).request
    assert remove.url.params.multi_items() == [
        ("emailer_campaign_ids[]", SEQ["Q4 Outbound"]),
        ("contact_ids[]", JANE),
        ("mode", "remove"),
    ]
    assert undone.inverse == call
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_removing_a_contact_not_in_the_sequence_sends_nothing(
    adapter: ApolloAdapter, env: RecordingTransport
) -> None:
    call = spec_for("apollo.contact.remove_from_sequence").call("bob@globex.io", {"sequence": "Q4 Outbound"})
    with pytest.raises(ValidationFailedError, match="not in the sequence"):
        await adapter.configure(call)
    assert mutations(env) == []


@pytest.mark.anyio
async def test_a_skipped_contact_is_an_error_naming_apollos_reason(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin
) -> None:
    call = spec_for("apollo.contact.add_to_sequence").call("ana@initech.com", {"sequence": "Q4 Outbound"})
    with pytest.raises(AdapterError, match="contacts_active_in_other_campaigns") as err:
        await adapter.configure(call)
    assert err.value.details["outcome"] == "refused"
    assert SEQ["Q4 Outbound"] not in twin.contacts["66e34b81740c50074e3d1b03"]["statuses"]


@pytest.mark.parametrize("hostile", ["../contacts", "a/b", "x?y=1", "%2e%2e", "q4\r\nX-Injected: 1", ""])
@pytest.mark.anyio
async def test_an_id_in_apollos_answer_that_is_not_one_is_refused_before_sending(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin, hostile: str
) -> None:
    """Vendor answers are untrusted: a sequence id that could leave its path never reaches one."""
    twin.sequences[hostile] = twin.sequences.pop(SEQ["Q4 Outbound"])
    with pytest.raises(ValidationFailedError, match="is not an Apollo id"):
        await adapter.configure(
            spec_for("apollo.contact.add_to_sequence").call("jane.doe@acme.com", {"sequence": "Q4 Outbound"})
        )
    with pytest.raises(ValidationFailedError):
        await adapter.configure(spec_for("apollo.sequence.activate").call("Q4 Outbound"))
    assert mutations(env) == []


@pytest.mark.parametrize(
    ("target", "sequence", "error", "message"),
    [
        ("bob@globex.io", "enterprise nurture", ValidationFailedError, "already in the sequence"),
        ("nobody@nowhere.io", "Q4 Outbound", NotFoundError, "no contact with the email"),
        ("jane.doe@acme.com", "Ghost", NotFoundError, "no sequence named 'Ghost'"),
        ("not-an-email", "Q4 Outbound", ValidationFailedError, "not an email address"),
    ],
)
@pytest.mark.anyio
async def test_contact_refusals_send_no_mutation(
    adapter: ApolloAdapter,
    env: RecordingTransport,
    target: str,
    sequence: str,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        await adapter.configure(
            spec_for("apollo.contact.add_to_sequence").call(target, {"sequence": sequence})
        )
    assert mutations(env) == []


@pytest.mark.anyio
async def test_the_sender_mailbox(
    adapter: ApolloAdapter, env: RecordingTransport, twin: ApolloTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = spec_for("apollo.contact.add_to_sequence").call("jane.doe@acme.com", {"sequence": "Q4 Outbound"})
    twin.accounts.append(
        {**twin.accounts[0], "id": "6630ffa2a7f52601c7578399", "email": "second@example.com"}
    )
    with pytest.raises(ConfigError, match="2 active default mailboxes") as err:
        await adapter.configure(call)
    assert "SOPHIA_APOLLO_EMAIL_ACCOUNT_ID" in err.value.hint and "second@example.com" in err.value.hint
    assert mutations(env) == []
    monkeypatch.setenv("SOPHIA_APOLLO_EMAIL_ACCOUNT_ID", "6630ffa2a7f52601c7578399")
    twin.accounts[0]["active"] = False
    result = await adapter.configure(call)
    assert result.after is not None and result.after["sequences"] == ["Q4 Outbound"]
    assert ("GET", "/email_accounts") not in sent(env.exchanges[-6:]), "the setting wins; no listing"
    monkeypatch.setenv("SOPHIA_APOLLO_EMAIL_ACCOUNT_ID", "../email_accounts")
    with pytest.raises(ConfigError, match="is not an Apollo id"):
        await adapter.email_account("apollo.contact.add_to_sequence")

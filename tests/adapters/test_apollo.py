"""Apollo adapter logic as plain functions: names, emails, ids, plan checks, predictions, credentials.

The requests are judged against the hand-written contract in
tests/contract/test_apollo_contract.py, apply → read back → undo and the fault matrix run in
tests/contract/test_apollo_conformance.py, and the contract is checked against Apollo's own
document in tests/contract/test_apollo_crosscheck.py. These need neither Prism nor a network.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.credentials import credential_for
from adapters.data.apollo import ApolloAdapter, apollo_id, contact_email, sequence_name, sequence_state
from adapters.registry import adapter_class, spec_for
from orchestrator.errors import NotFoundError, ValidationFailedError

SEQUENCE: dict[str, Any] = {
    "id": "64a1f0c2e4b0a1000000a001",
    "name": "Q4 Outbound",
    "active": False,
    "archived": False,
}
CONTACT: dict[str, Any] = {
    "id": "66e34b81740c50074e3d1b01",
    "email": "jane@acme.com",
    "sequences": ["Enterprise Nurture"],
}


@pytest.fixture
def adapter() -> ApolloAdapter:
    return ApolloAdapter()


def test_registered_in_the_data_stack() -> None:
    assert adapter_class("apollo") is ApolloAdapter
    assert ApolloAdapter.stack.value == "data"
    assert {s.id for s in ApolloAdapter.actions} == {
        "apollo.sequence.activate",
        "apollo.sequence.deactivate",
        "apollo.contact.add_to_sequence",
        "apollo.contact.remove_from_sequence",
    }


def test_the_key_goes_in_x_api_key_by_reference(tmp_path: Any) -> None:
    key_file = tmp_path / "apollo.key"
    key_file.write_text("apollo-key-from-a-file-0123\n")
    credential = credential_for("apollo", environ={"SOPHIA_APOLLO_TOKEN_FILE": str(key_file)})
    assert credential.auth_headers() == {"x-api-key": "apollo-key-from-a-file-0123"}
    assert "apollo-key" not in repr(credential) and credential.env_var == "SOPHIA_APOLLO_TOKEN"


def test_names_emails_and_ids() -> None:
    assert sequence_name("  Q4   Outbound ") == "Q4 Outbound"
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(ValidationFailedError, match="not a sequence name"):
            sequence_name(bad)
    assert contact_email(" Jane@Acme.com ") == "Jane@Acme.com"
    for bad in ("jane", "jane@acme", "a b@c.io", "a@b@c.io", "x" * 250 + "@a.io"):
        with pytest.raises(ValidationFailedError, match="not an email address"):
            contact_email(bad)
    assert apollo_id("64a1f0c2e4b0a1000000a001", "id") == "64a1f0c2e4b0a1000000a001"
    for bad in ("../x", "a/b", "x?y", "", None, 7, "x" * 65):
        with pytest.raises(ValidationFailedError, match="not an Apollo id") as err:
            apollo_id(bad, "id")
        assert err.value.details["outcome"] == "unsent"


def test_sequence_state_from_apollos_record() -> None:
    raw = {"id": "64a1", "name": "Q4", "active": True, "archived": None, "num_steps": 3, "unique_opened": 9}
    assert sequence_state(raw) == {"id": "64a1", "name": "Q4", "active": True, "archived": False}


def test_predictions(adapter: ApolloAdapter) -> None:
    activate = spec_for("apollo.sequence.activate").call("Q4 Outbound")
    assert adapter.predict(activate, SEQUENCE) == {**SEQUENCE, "active": True}
    deactivate = spec_for("apollo.sequence.deactivate").call("Q4 Outbound")
    assert adapter.predict(deactivate, {**SEQUENCE, "active": True}) == SEQUENCE
    add = spec_for("apollo.contact.add_to_sequence").call("jane@acme.com", {"sequence": "q4 outbound"})
    assert adapter.predict(add, CONTACT) == {**CONTACT, "sequences": ["Enterprise Nurture", "q4 outbound"]}
    remove = spec_for("apollo.contact.remove_from_sequence").call(
        "jane@acme.com", {"sequence": "enterprise  NURTURE"}
    )
    assert adapter.predict(remove, CONTACT) == {**CONTACT, "sequences": []}
    both = {**CONTACT, "sequences": ["Trial Nudges", "trial  NUDGES"]}
    exact = spec_for("apollo.contact.remove_from_sequence").call(
        "jane@acme.com", {"sequence": "Trial Nudges"}
    )
    assert adapter.predict(exact, both) == {**CONTACT, "sequences": ["trial  NUDGES"]}, "one, not both"


def test_reached_ignores_case_and_spacing_of_sequence_names_only(adapter: ApolloAdapter) -> None:
    add = spec_for("apollo.contact.add_to_sequence").call("jane@acme.com", {"sequence": "q4 outbound"})
    expected = adapter.predict(add, CONTACT)
    assert adapter.reached(add, expected, {**CONTACT, "sequences": ["Q4  Outbound", "Enterprise Nurture"]})
    assert not adapter.reached(add, expected, CONTACT), "the sequence is missing"
    assert not adapter.reached(
        add, expected, {**CONTACT, "sequences": ["Q4 Outbound", "Enterprise Nurture", "X"]}
    )
    assert not adapter.reached(
        add, expected, {**CONTACT, "id": "other", "sequences": ["Q4 Outbound", "Enterprise Nurture"]}
    )
    assert not adapter.reached(add, expected, None)
    activate = spec_for("apollo.sequence.activate").call("Q4 Outbound")
    assert not adapter.reached(activate, {**SEQUENCE, "active": True}, SEQUENCE)


@pytest.mark.parametrize(
    ("action", "target", "params", "before", "error", "message"),
    [
        ("apollo.sequence.activate", "Q4 Outbound", {}, None, NotFoundError, "no sequence named"),
        (
            "apollo.sequence.activate",
            "Q4 Outbound",
            {},
            {**SEQUENCE, "active": True},
            ValidationFailedError,
            "already active",
        ),
        (
            "apollo.sequence.activate",
            "Q4 Outbound",
            {},
            {**SEQUENCE, "archived": True},
            ValidationFailedError,
            "archived",
        ),
        (
            "apollo.sequence.deactivate",
            "Q4 Outbound",
            {},
            SEQUENCE,
            ValidationFailedError,
            "already inactive",
        ),
        (
            "apollo.contact.add_to_sequence",
            "jane@acme.com",
            {"sequence": "X"},
            None,
            NotFoundError,
            "no contact with the email",
        ),
        (
            "apollo.contact.add_to_sequence",
            "jane@acme.com",
            {"sequence": "enterprise  NURTURE"},
            CONTACT,
            ValidationFailedError,
            "already in the sequence",
        ),
        (
            "apollo.contact.remove_from_sequence",
            "jane@acme.com",
            {"sequence": "Q4 Outbound"},
            None,
            NotFoundError,
            "no contact with the email",
        ),
        (
            "apollo.contact.remove_from_sequence",
            "jane@acme.com",
            {"sequence": "Q4 Outbound"},
            CONTACT,
            ValidationFailedError,
            "not in the sequence",
        ),
    ],
)
def test_precheck_refuses_before_anything_is_sent(
    adapter: ApolloAdapter,
    action: str,
    target: str,
    params: dict[str, Any],
    before: Any,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message) as err:
        adapter.precheck(spec_for(action).call(target, params), before)
    assert err.value.details["outcome"] == "unsent"  # type: ignore[attr-defined]


def test_precheck_lets_real_changes_through(adapter: ApolloAdapter) -> None:
    adapter.precheck(spec_for("apollo.sequence.activate").call("Q4 Outbound"), SEQUENCE)
    adapter.precheck(spec_for("apollo.sequence.deactivate").call("Q4 Outbound"), {**SEQUENCE, "active": True})
    adapter.precheck(
        spec_for("apollo.contact.add_to_sequence").call("jane@acme.com", {"sequence": "Q4"}), CONTACT
    )
    adapter.precheck(
        spec_for("apollo.contact.remove_from_sequence").call(
            "jane@acme.com", {"sequence": "enterprise nurture"}
        ),
        CONTACT,
    )


def test_inverses_come_from_the_catalog() -> None:
    activate = spec_for("apollo.sequence.activate")
    call = activate.call("Q4 Outbound")
    assert activate.derive_inverse(call, SEQUENCE, {**SEQUENCE, "active": True}) == spec_for(
        "apollo.sequence.deactivate"
    ).call("Q4 Outbound")
    add = spec_for("apollo.contact.add_to_sequence")
    remove = spec_for("apollo.contact.remove_from_sequence")
    added = add.call("jane@acme.com", {"sequence": " Q4  Outbound "})
    assert add.derive_inverse(added, CONTACT, None) == remove.call(
        "jane@acme.com", {"sequence": "Q4 Outbound"}
    )
    removed = remove.call("jane@acme.com", {"sequence": "Enterprise Nurture"})
    assert remove.derive_inverse(removed, CONTACT, None) == add.call(
        "jane@acme.com", {"sequence": "Enterprise Nurture"}
    )
    assert "not restored" in remove.inverse_hint, "undo says what re-adding cannot bring back"

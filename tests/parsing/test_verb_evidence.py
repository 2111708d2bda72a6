"""A change is chosen by what the user said to do, not by which params happen to fit (issue 16)."""

from __future__ import annotations

import pytest

from orchestrator.parsing.offline import OfflineParser


@pytest.mark.parametrize(("text", "action"), [
    ("make a portkey key called billing-bot with a $50 limit", "portkey.api_key.create"),
    ('relabel the hubspot contact property churn_risk_score to "Churn risk (0-100)"', "hubspot.property.update"),
    ("get rid of the deal property temp_score in hubspot", "hubspot.property.archive"),
    ("subscribe https://example.com/hooks to file update events for figma team 12345", "figma.webhook.create"),
])
def test_the_verb_said_decides(text: str, action: str) -> None:
    parsed = OfflineParser().parse(text)
    assert parsed.intent.value == "action" and [c.action for c in parsed.actions] == [action], parsed


@pytest.mark.parametrize("text", [
    'the hubspot contact property churn_risk_score, label "Churn risk"',
    "portkey key prod-gateway with a $50 limit?",
])
def test_no_removal_or_reset_nobody_asked_for(text: str) -> None:
    parsed = OfflineParser().parse(text)
    removing = {"archive", "delete", "drop", "disable", "revoke"}
    assert not any(c.action.rsplit(".", 1)[1] in removing for c in parsed.actions), parsed


def test_an_identifier_that_is_not_in_the_inventory_never_resolves_to_a_neighbour() -> None:
    inventory = {"portkey.api_key": ["prod-gateway", "summariser"]}
    parsed = OfflineParser().parse("disable the portkey key staging-gateway", inventory)
    assert parsed.intent.value == "clarify" and "prod-gateway" in parsed.candidates, parsed
    loose = OfflineParser().parse("rotate the summariser key in portkey", inventory)
    assert [(c.action, c.target) for c in loose.actions] == [("portkey.api_key.rotate", "summariser")]


def test_with_a_limit_describes_the_new_thing() -> None:
    parsed = OfflineParser().parse("new openrouter key summariser-v2 with a 40 dollar cap")
    assert [(c.action, c.target, c.params) for c in parsed.actions] == [
        ("openrouter.key.create", "summariser-v2", {"limit_usd": 40.0})]


def test_a_figma_file_key_is_not_the_word_after_file() -> None:
    parsed = OfflineParser().parse("fetch file metadata for figma file AbCdEf123456")
    assert [(c.action, c.target) for c in parsed.actions] == [("figma.file.get", "AbCdEf123456")]


@pytest.mark.parametrize("text", ["bump the openrouter limit a bit on eval-runner",
                                  "raise the portkey budget on prod-gateway a little"])
def test_no_amount_no_change_and_never_a_create(text: str) -> None:
    parsed = OfflineParser().parse(text)
    assert parsed.intent.value == "clarify", parsed


@pytest.mark.parametrize("text", ["jane shouldn't be on the acme/web repo anymore",
                                  "we don't need the ANALYTICS_WH warehouse anymore",
                                  "the billing-bot key is no longer needed in portkey"])
def test_words_that_take_away_are_never_a_create(text: str) -> None:
    """No verb of the catalog, and the words say less, not more: ask rather than create or add."""
    parsed = OfflineParser().parse(text)
    assert parsed.intent.value != "action" or all(
        c.action.rsplit(".", 1)[1] not in ("create", "launch", "add", "add_member", "invite", "grant")
        for c in parsed.actions), parsed


@pytest.mark.parametrize(("text", "action"), [
    ("take priya off the data-eng team on github", "github.team.remove_member"),
    ("turn the Q4 Outbound sequence off in apollo", "apollo.sequence.deactivate"),
    ("shut ETL_WH down for the weekend", "snowflake.warehouse.suspend"),
    ("turn FINANCE_WH back on", "snowflake.warehouse.resume"),
])
def test_a_phrasal_verb_around_its_object(text: str, action: str) -> None:
    """"take X off", "turn X off", "shut X down": the particle after the object still says the verb."""
    parsed = OfflineParser().parse(text)
    assert action in [c.action for c in parsed.actions] + parsed.candidates or action in (parsed.message or ""), parsed
    assert not any(c.action.endswith(("add_member", "activate", "drop")) and c.action != action
                   for c in parsed.actions), parsed


@pytest.mark.parametrize("text", ["ANALYTICS_WH is suspended but finance needs it today",
                                  "the acme/web repo was archived by mistake last week, finance still uses it"])
def test_a_state_described_is_no_request_for_it(text: str) -> None:
    """"is suspended" says how things are; doing it again is never the answer."""
    parsed = OfflineParser().parse(text)
    assert not any(c.action.endswith((".suspend", ".archive")) for c in parsed.actions), parsed


def test_a_removing_verb_with_a_new_size_lowers_rather_than_removes() -> None:
    parsed = OfflineParser().parse("drop ETL_WH to small over the weekend")
    assert "snowflake.warehouse.drop" not in [c.action for c in parsed.actions], parsed
    assert [c.action for c in OfflineParser().parse("drop ETL_WH").actions] == ["snowflake.warehouse.drop"]


@pytest.mark.parametrize(("text", "creates"), [
    ("can you make the portkey key prod-gateway expire? it leaked", False),
    ("make the acme/web repo private", False),
    ("make a private repo acme/new-thing", True),
    ("make it a private repo called acme/thing2", True),
])
def test_a_causative_make_is_no_create(text: str, creates: bool) -> None:
    """"make the X expire / private" changes one that exists; "make a X" and "make … called X" create."""
    parsed = OfflineParser().parse(text)
    assert any(c.action.endswith(".create") for c in parsed.actions) is creates, parsed

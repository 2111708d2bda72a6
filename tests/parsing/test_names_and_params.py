"""Names, pointers back and tacked-on metadata as people type them (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.parsing.offline import OfflineParser

INVENTORY = {"weaviate.index": ["Articles", "TempArticles"], "asana.project": ["Board deck Q4", "Onboarding revamp"],
             "github.repo": ["acme/data-pipelines", "acme/web"], "snowflake.warehouse": ["ETL_WH", "ANALYTICS_WH"]}


def _steps(text: str) -> list[dict[str, Any]]:
    parsed = OfflineParser().parse(text, INVENTORY)
    assert parsed.intent.value == "action", parsed
    return [{"action": c.action, "target": c.target, **c.params} for c in parsed.actions]


def test_a_loosely_spaced_name_beats_the_shorter_name_inside_it() -> None:
    assert _steps("delete the temp articles collection in weaviate")[0]["target"] == "TempArticles"
    assert _steps("delete the Articles collection in weaviate")[0]["target"] == "Articles"
    assert _steps("archive the data pipelines repo")[0]["target"] == "acme/data-pipelines"


def test_a_target_of_another_kind_resolves_against_its_own_inventory() -> None:
    step = _steps("create an asana task Draft the board narrative in project Board deck Q4")[0]
    assert step["target"] == "Board deck Q4" and step["name"] == "Draft the board narrative"


def test_pronouns_point_back_and_are_never_names() -> None:
    _grant, revoke = _steps("grant jdoe the ANALYST role, then revoke it from them")
    assert revoke == {"action": "snowflake.role.revoke", "target": "jdoe", "role": "ANALYST"}
    assert OfflineParser().parse("revoke it from them").intent.value == "clarify"


def test_a_statement_then_a_command_is_still_a_command() -> None:
    assert _steps("ETL_WH is costing a fortune, suspend it pls") == [
        {"action": "snowflake.warehouse.suspend", "target": "ETL_WH"}]


@pytest.mark.parametrize(("text", "title", "priority"), [
    ("create a linear issue in team ENG: Fix flaky ledger test, urgent", "Fix flaky ledger test", 1),
    ("create a linear issue in team OPS titled Rotate certs, priority high", "Rotate certs", 2),
    ("create a linear issue in team ENG titled Ledger drift, description: reconcile misses rows", "Ledger drift", None),
    ("open a linear ticket in ENG called Payments v2 rollout - high prio", "Payments v2 rollout", 2),
])
def test_metadata_after_a_title_is_not_the_title(text: str, title: str, priority: int | None) -> None:
    step = _steps(text)[0]
    assert (step["title"], step["priority"]) == (title, priority)


def test_a_list_joined_with_plus() -> None:
    step = _steps("add a github webhook on acme/web for push + pull_request to https://hooks.example.com/gh")[0]
    assert step["events"] == ["push", "pull_request"]


@pytest.mark.parametrize(("text", "want"), [
    ("protect main on acme/web, require 2 reviews",
     [{"action": "github.branch_protection.set", "target": "acme/web", "branch": "main",
       "required_reviews": 2}]),
    ("add a stage Legal review to the Partner Deals pipeline with 60% probability",
     [{"action": "hubspot.pipeline.stage.create", "target": "Partner Deals", "label": "Legal review",
       "probability": 0.6}]),
    ("add status.payready.com to the status-page project",
     [{"action": "vercel.domain.add", "target": "status-page", "domain": "status.payready.com"}]),
    ("new deal pipeline in hubspot: Channel Deals",
     [{"action": "hubspot.pipeline.create", "target": "Channel Deals", "object_type": "deals"}]),
])
def test_one_change_said_loosely(text: str, want: list[dict[str, Any]]) -> None:
    assert _steps(text) == want


@pytest.mark.parametrize(("text", "want"), [
    ("can you grant ANALYST to svc_looker and FINANCE_READ to priya_n",
     [{"action": "snowflake.role.grant", "target": "svc_looker", "role": "ANALYST"},
      {"action": "snowflake.role.grant", "target": "priya_n", "role": "FINANCE_READ"}]),
    ("scale ETL_WH to large and ANALYTICS_WH to small",
     [{"action": "snowflake.warehouse.scale", "target": "ETL_WH", "size": "LARGE"},
      {"action": "snowflake.warehouse.scale", "target": "ANALYTICS_WH", "size": "SMALL"}]),
    ("could you archive the Onboarding revamp project in asana when you get a sec",
     [{"action": "asana.project.archive", "target": "Onboarding revamp"}]),
    ("remove jane@acme.io from usergems tracking", [{"action": "usergems.contact.untrack", "target": "jane@acme.io"}]),
])
def test_the_verb_said_once_for_two_and_other_loose_shapes(text: str, want: list[dict[str, Any]]) -> None:
    assert _steps(text) == want


@pytest.mark.parametrize(("text", "want"), [
    ("file a bug for ENG: checkout button misaligned",
     {"action": "linear.issue.create", "target": "ENG", "title": "checkout button misaligned", "priority": None}),
    ("new issue in the OPS team - rotate the TLS certs",
     {"action": "linear.issue.create", "target": "OPS", "title": "rotate the TLS certs", "priority": None}),
    ("add a Negotiation stage at 70% to the Enterprise Sales pipeline",
     {"action": "hubspot.pipeline.stage.create", "target": "Enterprise Sales", "label": "Negotiation",
      "probability": 0.7}),
    ('hubspot: new stage "Security review" in Renewals, 40%',
     {"action": "hubspot.pipeline.stage.create", "target": "Renewals", "label": "Security review", "probability": 0.4}),
])
def test_teams_titles_and_stages_as_people_say_them(text: str, want: dict[str, Any]) -> None:
    assert _steps(text) == [want]


@pytest.mark.parametrize(("text", "target"), [
    ("deactivate sequence Webinar follow-up in apollo", "Webinar follow-up"),
    ("pause the apollo sequence Webinar follow-up", "Webinar follow-up"),
    ("archive the asana project Board deck Q4 and tell the team", "Board deck Q4"),
    ("deactivate sequence Webinar now please", "Webinar"),  # words that are never part of a name end it
    ("create weaviate collection SupportTickets dim 384", "SupportTickets"),  # an identifier, then a param
])
def test_a_title_case_name_may_finish_in_lower_case(text: str, target: str) -> None:
    """With no inventory to match against, a name said after its noun is kept whole up to a clear boundary."""
    parsed = OfflineParser().parse(text, {})
    assert parsed.intent.value == "action", parsed
    assert parsed.actions[0].target == target

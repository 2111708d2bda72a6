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

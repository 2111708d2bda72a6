"""Taking a contact out of an Apollo sequence parses offline to ``apollo.contact.remove_from_sequence``.

The removal is add_to_sequence's inverse; said in any of these ways it must not read as an add,
as UserGems' untrack, or as deactivating the sequence itself.
"""

from __future__ import annotations

import pytest

from adapters.catalog import ActionCall
from orchestrator.parsing.offline import OfflineParser
from orchestrator.state import Intent

PARSER = OfflineParser()


@pytest.mark.parametrize(
    ("text", "email", "sequence"),
    [
        ("remove jane@acme.com from the Q4 Outbound sequence in apollo", "jane@acme.com", "Q4 Outbound"),
        ("take bob@globex.io out of sequence Webinar follow-up", "bob@globex.io", "Webinar follow-up"),
        ("unenroll ana@initech.com from apollo sequence Onboarding", "ana@initech.com", "Onboarding"),
    ],
)
def test_a_removal_parses_to_the_catalog_action(text: str, email: str, sequence: str) -> None:
    parsed = PARSER.parse(text, {})
    assert parsed.intent is Intent.ACTION, parsed
    assert parsed.actions == [
        ActionCall(action="apollo.contact.remove_from_sequence", target=email, params={"sequence": sequence})
    ]


def test_an_add_still_parses_as_an_add() -> None:
    parsed = PARSER.parse("enroll ana@initech.com in the Onboarding sequence in apollo", {})
    assert [a.action for a in parsed.actions] == ["apollo.contact.add_to_sequence"]

"""UserGems actions: start or stop tracking a contact (target = the contact's email).

Before-state: ``{"email", "tracked"}``.
"""

from __future__ import annotations

from adapters.catalog import ActionSpec, inverse_same_target

__all__ = ["ACTIONS"]

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="usergems.contact.track",
        summary="Start tracking a contact for job changes",
        target="email",
        inverse=inverse_same_target("usergems.contact.untrack"),
        inverse_hint="untrack",
        examples=(
            "track jane.doe@acme.com in usergems",
            "start tracking the contact bob@globex.io with usergems",
            "usergems: watch ana@initech.com for job changes",
        ),
    ),
    ActionSpec(
        id="usergems.contact.untrack",
        summary="Stop tracking a contact",
        target="email",
        inverse=inverse_same_target("usergems.contact.track"),
        inverse_hint="track",
        examples=(
            "untrack jane.doe@acme.com in usergems",
            "stop tracking bob@globex.io in usergems",
            "usergems: stop watching ana@initech.com",
        ),
    ),
)

"""Apollo's records as the adapter states them, and the checks on what goes into a request.

Targets and params come from command text and LLM output, ids from Apollo's answers: all are
checked here before they reach a path segment or a query value (:func:`apollo_id`,
:func:`sequence_name`, :func:`contact_email`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from orchestrator.errors import SophiaError, ValidationFailedError

__all__ = [
    "ALREADY_THERE",
    "CONTACT_ACTIONS",
    "DEFAULT_BASE_URL",
    "EMAIL_ACCOUNT_VAR",
    "ID",
    "apollo_id",
    "contact_email",
    "emails",
    "key",
    "memberships",
    "obj",
    "sequence_name",
    "sequence_state",
    "sorted_names",
    "unsent",
    "without",
]

DEFAULT_BASE_URL = "https://api.apollo.io/api/v1"
EMAIL_ACCOUNT_VAR = "SOPHIA_APOLLO_EMAIL_ACCOUNT_ID"
#: Apollo ids are 24-hex object ids; anything safe as one path segment or query value is let
#: through here (the contract checks the shape), anything else is refused as untrusted.
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
#: The skip reason that means the contact is already where it was asked to be.
ALREADY_THERE = "contacts_already_exists_in_current_campaign"
#: The actions whose target is a contact (its email) and whose ``sequence`` param must exist.
CONTACT_ACTIONS = frozenset({"apollo.contact.add_to_sequence", "apollo.contact.remove_from_sequence"})


def obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (Apollo's answers are untrusted)."""
    return value if isinstance(value, dict) else {}


def key(text: object) -> str:
    """A name as compared: spacing collapsed, case folded."""
    return " ".join(str(text).split()).casefold()


def unsent(exc: SophiaError) -> SophiaError:
    """``exc`` marked as raised before any change was sent (the executor then trusts read-back)."""
    exc.details.setdefault("outcome", "unsent")
    return exc


def sequence_name(target: str | None) -> str:
    """A sequence name with spacing collapsed (1-200 characters), or a refusal."""
    name = " ".join((target or "").split())
    if not name or len(name) > 200:
        raise ValidationFailedError(
            f"apollo: {target!r} is not a sequence name",
            hint="give the sequence's name as Apollo shows it (1-200 characters)",
            details={"field": "target"},
        )
    return name


def contact_email(target: str | None) -> str:
    """The contact's email as typed (stripped), or a refusal when it is not one address."""
    email = (target or "").strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailedError(
            f"apollo: {target!r} is not an email address",
            hint="name the contact by its email address",
            details={"field": "target"},
        )
    return email


def apollo_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise ValidationFailedError(
            f"apollo: {what} {str(value)[:60]!r} is not an Apollo id",
            hint="Apollo answered something unexpected; nothing was sent",
            details={"field": what, "outcome": "unsent"},
        )
    return value


def sequence_state(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``{"id", "name", "active", "archived"}`` from an Apollo sequence (emailer campaign)."""
    return {
        "id": raw.get("id"),
        "name": raw.get("name"),
        "active": raw.get("active") is True,
        "archived": raw.get("archived") is True,
    }


def memberships(raw: Mapping[str, Any]) -> list[str]:
    """The ids of the sequences a contact is in: ``emailer_campaign_ids`` and its campaign statuses."""
    ids = [i for i in raw.get("emailer_campaign_ids") or [] if isinstance(i, str)]
    ids += [
        s.get("emailer_campaign_id")
        for s in raw.get("contact_campaign_statuses") or []
        if isinstance(s, dict) and isinstance(s.get("emailer_campaign_id"), str)
    ]
    return list(dict.fromkeys(ids))


def emails(raw: Mapping[str, Any]) -> set[str]:
    """Every address of a contact (``email`` and ``contact_emails``), case folded."""
    found = {raw.get("email")} | {obj(e).get("email") for e in raw.get("contact_emails") or []}
    return {e.casefold() for e in found if isinstance(e, str)}


def sorted_names(names: list[str]) -> list[str]:
    """Sequence names in the order states keep them (case and spacing ignored)."""
    return sorted(names, key=lambda n: (key(n), n))


def without(names: list[str], name: str) -> list[str]:
    """``names`` less one ``name``: the exact spelling if listed, else one equal by :func:`key`."""
    rest = list(names)
    same = [n for n in rest if n == name] or [n for n in rest if key(n) == key(name)]
    if same:
        rest.remove(same[0])
    return sorted_names(rest)

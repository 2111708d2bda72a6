"""Gong's records as the adapter states them, the checks on what goes into a request, and times.

Targets and params come from command text and LLM output, ids from Gong's answers: all are
checked here before they reach a path segment, a query value or a body (:func:`gong_id`,
:func:`user_email`). :func:`since_instant` turns the catalog's canonical ``since`` forms
(``7d``, ``monday``, ``2026-11-30``, ``09:00`` …) into the ISO-8601 instant Gong's
``fromDateTime`` takes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.specs._fields import WEEKDAYS
from orchestrator.errors import SophiaError, ValidationFailedError

__all__ = [
    "DEFAULT_BASE_URL",
    "ID",
    "access_state",
    "call_summary",
    "gong_id",
    "iso",
    "obj",
    "since_instant",
    "unsent",
    "user_email",
    "user_state",
]

#: Gong's API root (each company may have its own: Gong's API page shows it; set
#: ``SOPHIA_GONG_BASE_URL`` to that).
DEFAULT_BASE_URL = "https://api.gong.io"
#: Gong ids are numeric strings of up to 20 digits (call, user, workspace ids).
ID = re.compile(r"^[0-9]{1,20}$")
_EMAIL = re.compile(r"^[^@\s/\\?#%]{1,64}@[^@\s/\\?#%]+\.[^@\s/\\?#%]+$")


def obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (Gong's answers are untrusted)."""
    return value if isinstance(value, dict) else {}


def unsent(exc: SophiaError) -> SophiaError:
    """``exc`` marked as raised before any change was sent (the executor then trusts read-back)."""
    exc.details.setdefault("outcome", "unsent")
    return exc


def gong_id(value: object, what: str) -> str:
    """A Gong id (digits only, ≤ 20), or a refusal naming ``what``: nothing is sent."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not ID.match(text):
        raise ValidationFailedError(
            f"gong: {what} {str(value)[:60]!r} is not a Gong id (digits only)",
            hint="Gong's ids are numbers; copy the call id from the call's URL in Gong",
            details={"field": what, "outcome": "unsent"},
        )
    return text


def user_email(target: str | None) -> str:
    """The user's email (lower case), or a refusal when the target is not one address."""
    email = (target or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailedError(
            f"gong: {target!r} is not an email address",
            hint="name the Gong user by their email address",
            details={"field": "target"},
        )
    return email


def user_state(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``{"name", "id", "email", "active"}`` of a Gong user (``name`` is the email: inventory)."""
    email = str(raw.get("emailAddress") or "").lower()
    return {"name": email, "id": raw.get("id"), "email": email, "active": raw.get("active") is True}


def call_summary(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a call a listing shows (titles are untrusted text: length-capped)."""
    return {
        "id": raw.get("id"),
        "title": str(raw.get("title") or "")[:200],
        "started": raw.get("started"),
        "duration": raw.get("duration"),
        "primary_user_id": raw.get("primaryUserId"),
        "url": raw.get("url"),
    }


def access_state(email: str, user_id: str, call_id: str, users: list[str]) -> dict[str, Any]:
    """A user's individual (API-granted) access to one call."""
    return {"user": email, "user_id": user_id, "call": call_id, "access": user_id in users}


def iso(moment: datetime) -> str:
    """``2026-12-07T09:00:00Z``: the UTC form Gong's date parameters take."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SPAN = re.compile(r"^(\d+)([mhd])$")
_CLOCK = re.compile(r"^(\d{2}):(\d{2})$")


def _day_start(text: str, now: datetime) -> datetime | None:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if text in ("today", "now"):
        return today if text == "today" else now
    if text == "yesterday":
        return today - timedelta(days=1)
    if text in WEEKDAYS:
        back = (today.weekday() - WEEKDAYS.index(text)) % 7 or 7
        return today - timedelta(days=back)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return None


def since_instant(since: str, now: datetime | None = None) -> datetime:
    """The instant a canonical ``since`` names, in UTC (``7d``: 7 days ago; ``monday``: the last one).

    Raises:
        ValidationFailedError: a form no past instant fits (``tomorrow``, a future date).
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    text = since.strip().lower()
    moment: datetime | None = None
    if m := _SPAN.match(text):
        unit = {"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        moment = now - timedelta(**{unit: int(m.group(1))})
    elif m := _CLOCK.match(text):
        moment = now.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0, microsecond=0)
    elif "t" in text and re.match(r"^\d{4}-\d{2}-\d{2}t", text):
        parsed = datetime.fromisoformat(text.upper())
        moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    elif " " in text:
        day, _, clock = text.partition(" ")
        start, hm = _day_start(day, now), _CLOCK.match(clock)
        if start is not None and hm:
            moment = start.replace(hour=int(hm.group(1)), minute=int(hm.group(2)))
    else:
        moment = _day_start(text, now)
    if moment is None or moment > now:
        raise ValidationFailedError(
            f"gong: can't list calls since {since!r}",
            hint="name a past time: 7d, yesterday, monday, 2026-11-30",
            details={"field": "since"},
        )
    return moment

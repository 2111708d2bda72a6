"""Gong's records as the adapter states them, and the times its listings take.

:func:`since_instant` turns the catalog's canonical ``since`` forms
(``7d``, ``monday``, ``2026-11-30``, ``09:00`` …) into the ISO-8601 instant Gong's
``fromDateTime`` takes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.specs._fields import WEEKDAYS
from orchestrator.errors import ValidationFailedError

__all__ = [
    "DEFAULT_BASE_URL",
    "call_summary",
    "iso",
    "obj",
    "since_instant",
    "user_state",
]

#: Gong's API root (each company may have its own: Gong's API page shows it; set
#: ``SOPHIA_GONG_BASE_URL`` to that).
DEFAULT_BASE_URL = "https://api.gong.io"


def obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (Gong's answers are untrusted)."""
    return value if isinstance(value, dict) else {}


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

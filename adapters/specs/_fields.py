"""Shared value normalisers for the spec modules' params models (and the offline parser).

Each function takes what a person (or a model) wrote and returns the one canonical form the
catalog stores, or raises ``ValueError`` with a message that says what is allowed. They are
plain functions so params models can use them as ``field_validator(mode="before")`` bodies
and the parser can reuse them to recognise values in free text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.catalog import ActionCall, InverseFn

__all__ = [
    "WEEKDAYS",
    "dedupe",
    "duration_seconds",
    "email",
    "github_login",
    "hostname",
    "https_url",
    "money_usd",
    "normalize_time",
    "split_list",
    "swap_with_params",
]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_ABBR = {d[:3]: d for d in WEEKDAYS} | {"tues": "tuesday", "weds": "wednesday", "thur": "thursday",
                                                 "thurs": "thursday"}

_UNIT_SECONDS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "wks": 604800, "week": 604800, "weeks": 604800,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|an?|one)\s*([a-z]+)\s*$")
_WORD_NUMBERS = {"a": 1, "an": 1, "one": 1}


def duration_seconds(value: object) -> object:
    """``"5 minutes"``, ``"5m"``, ``"90s"``, ``"1 hour"``, ``300`` → whole seconds.

    A bare number is already seconds. Anything else is returned unchanged so the field's own
    type check reports it.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return value
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    match = _DURATION.match(text)
    if not match:
        return value
    amount_text, unit = match.groups()
    amount = _WORD_NUMBERS.get(amount_text) or float(amount_text)
    if unit not in _UNIT_SECONDS:
        return value
    return round(amount * _UNIT_SECONDS[unit])


_MONEY = re.compile(r"^\s*(?:usd\s*)?\$?\s*(\d[\d,]*(?:\.\d+)?)\s*(k|m)?\s*(?:usd|dollars?|bucks)?\s*$")


def money_usd(value: object) -> object:
    """``"$500"``, ``"1,500 USD"``, ``"1.5k"``, ``"20 dollars"`` → a float rounded to cents."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return round(float(value), 2)
    match = _MONEY.match(str(value).strip().lower())
    if not match:
        return value
    number, scale = match.groups()
    amount = float(number.replace(",", ""))
    amount *= {"k": 1_000, "m": 1_000_000}.get(scale or "", 1)
    return round(amount, 2)


_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def email(value: object) -> str:
    """Validate an email address and lowercase it (mailbox names are case-insensitive in practice)."""
    text = str(value).strip().strip("<>").lower()
    text = text.removeprefix("mailto:")
    if not _EMAIL.match(text) or len(text) > 254:
        raise ValueError(f"not an email address: {value!r}")
    return text


_LOGIN = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}$")


def github_login(value: object) -> str:
    """A GitHub login: ``@Octo-Cat`` → ``octo-cat`` (logins are case-insensitive)."""
    text = str(value).strip().lstrip("@").lower()
    if not _LOGIN.match(text):
        raise ValueError(f"not a GitHub username: {value!r} (letters, digits, single hyphens; ≤39)")
    return text


_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def hostname(value: object) -> str:
    """A domain name: ``https://WWW.Example.com/`` → ``www.example.com``."""
    text = str(value).strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/", 1)[0].rstrip(".")
    if not _HOST.match(text):
        raise ValueError(f"not a domain name: {value!r}")
    return text


_URL = re.compile(r"^https://([a-z0-9.-]+)(:\d{1,5})?(/[^\s]*)?$", re.IGNORECASE)


def https_url(value: object) -> str:
    """An ``https://`` URL (webhook endpoints must be TLS); the host part is lowercased."""
    text = str(value).strip().strip("<>")
    match = _URL.match(text)
    if not match:
        raise ValueError(f"not an https URL: {value!r}")
    host = hostname(match.group(1))
    return f"https://{host}{match.group(2) or ''}{match.group(3) or ''}"


def split_list(value: object, *, on_spaces: bool = True) -> object:
    """``"a, b and c"`` → ``["a", "b", "c"]``; lists pass through; other values unchanged.

    With ``on_spaces=False`` only commas, semicolons and "and" separate items.
    """
    if isinstance(value, str):
        sep = r"\s*(?:,|;|\band\b|\s)\s*" if on_spaces else r"\s*(?:,|;|\band\b)\s*"
        parts = re.split(sep, value.strip())
        return [p for p in parts if p]
    return value


def dedupe(items: Iterable[str]) -> list[str]:
    """Keep the first occurrence of each item, in order."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[t ](\d{2}:\d{2})(?::\d{2})?(z|[+-]\d{2}:?\d{2})?$")
_AGO = re.compile(r"^(\d+|an?|one)\s*([a-z]+)(?:\s+ago)?$")
_PAST = re.compile(r"^(?:the\s+)?(?:last|past)\s+(?:(\d+)\s+)?([a-z]+)$")
_IN = re.compile(r"^in\s+(\d+|an?|one)\s*([a-z]+)$")
_UNIT_LETTER = {"m": "m", "h": "h", "d": "d", "w": "w"}


def _clock(text: str) -> str | None:
    match = _CLOCK.match(text)
    if not match:
        return None
    hour, minute, meridiem = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if meridiem is None and match.group(2) is None:
        return None  # a bare number is not a time of day
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def _relative(amount_text: str | None, unit: str) -> str | None:
    amount = int(amount_text) if amount_text and amount_text.isdigit() else 1
    seconds = _UNIT_SECONDS.get(unit)
    if seconds is None or seconds < 60 or amount < 1:
        return None
    if seconds == 604800:
        amount, seconds = amount * 7, 86400
    letter = {60: "m", 3600: "h", 86400: "d"}[seconds]
    return f"{amount}{letter}"


def _day(text: str) -> str | None:
    if text in ("today", "yesterday", "tomorrow", "now"):
        return text
    if text in ("this morning", "earlier today"):
        return "today"
    if text in ("tonight", "this evening"):
        return "today 18:00"
    if text in ("midnight",):
        return "00:00"
    if text in ("noon", "midday"):
        return "12:00"
    if text in ("eod", "end of day", "close of business", "cob"):
        return "today 17:00"
    name = text.removeprefix("next ").removeprefix("this ").removeprefix("last ").rstrip(".")
    if name in WEEKDAYS:
        return name
    if name in _WEEKDAY_ABBR:
        return _WEEKDAY_ABBR[name]
    if _ISO_DATE.match(text):
        return text
    return None


def normalize_time(value: object) -> str:
    """A time expression in its canonical form (relative ones stay relative, never resolved).

    Canonical forms: ``HH:MM`` (24 h), ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM``, a weekday
    (``monday``), ``today`` / ``yesterday`` / ``tomorrow`` / ``now``, a day plus a clock
    (``friday 09:00``), or a span ``<n>m|h|d`` (weeks become days; ``7d``: "the last 7 days" for ``since``,
    "7 days from now" for ``until``). Resolution to an instant happens when the command runs.

    Raises:
        ValueError: when the text is not a time expression.
    """
    text = re.sub(r"\s+", " ", str(value).strip().lower()).strip(" .,!?")
    text = text.removeprefix("since ").removeprefix("until ").removeprefix("till ").removeprefix("til ")
    text = text.removeprefix("from ").removeprefix("after ")
    if not text:
        raise ValueError("empty time")
    iso = _ISO_DATETIME.match(text)
    if iso:
        return f"{iso.group(1)}T{iso.group(2)}" + (iso.group(3) or "").upper()
    if (clock := _clock(text)) is not None:
        return clock
    if (day := _day(text)) is not None:
        return day
    if re.fullmatch(r"\d+[mhd]", text):
        return text
    if re.fullmatch(r"\d+w", text):
        return f"{int(text[:-1]) * 7}d"
    for pattern in (_AGO, _IN):
        match = pattern.match(text)
        if match and (text.endswith(" ago") or pattern is _IN or match.group(2) in _UNIT_SECONDS):
            amount = match.group(1)
            rel = _relative(amount if amount.isdigit() else None, match.group(2))
            if rel:
                return rel
    past = _PAST.match(text)
    if past:
        rel = _relative(past.group(1), past.group(2))
        if rel:
            return rel
    # "<day> [at] <clock>" / "<clock> <day>"
    parts = re.split(r"\s+(?:at\s+)?", text, maxsplit=1)
    if len(parts) == 2:
        for day_part, clock_part in ((parts[0], parts[1]), (parts[1], parts[0])):
            day = _day(day_part)
            clock = _clock(clock_part)
            if day and clock and day not in ("now",) and " " not in day:
                return f"{day} {clock}"
    raise ValueError(
        f"not a time: {value!r} (use HH:MM, a date, a weekday, today/yesterday, or a span like 7d)"
    )


def swap_with_params(action_id: str, keep: tuple[str, ...]) -> InverseFn:
    """Inverse that runs ``action_id`` on the same target with params copied from the call.

    ``grant(role)`` → ``revoke(role)``, ``domain.add(domain)`` → ``domain.remove(domain)``.
    """

    def derive(
        call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> ActionCall | None:
        params = {name: call.params[name] for name in keep if name in call.params}
        return ActionCall(action=action_id, target=call.target, params=params)

    return derive

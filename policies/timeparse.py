"""When a freeze ends, as people say it: ``18:00``, ``5pm``, ``tomorrow``, ``friday``, ``2h``, ISO.

Times of day and weekdays are read in UTC unless a zone is given. A time of day already past
today means tomorrow; a weekday means the start (00:00) of its next occurrence, so
``until monday`` lifts the freeze as Monday begins.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from policies.durations import parse_duration

__all__ = ["FOREVER", "parse_until"]

#: ``until`` for a freeze with no end ("freeze production"): lifted only by ``unfreeze``.
FOREVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")


def _clock(text: str) -> tuple[int, int] | None:
    m = _CLOCK.match(text)
    if not m or (m.group(2) is None and m.group(3) is None):
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m.group(3) == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return hour, minute


def parse_until(text: str | None, now: datetime | None = None, tz: tzinfo = UTC) -> datetime:
    """The end of a freeze described by ``text`` (None or empty: :data:`FOREVER`).

    Raises:
        ValueError: text that isn't a time, day, duration or ISO timestamp, or one in the past.
    """
    now = (now or datetime.now(UTC)).astimezone(tz)
    if text is None or not text.strip():
        return FOREVER
    low = text.strip().lower().removeprefix("until ").removeprefix("+").strip()
    start_of_today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    result: datetime | None = None
    if low in ("tomorrow", "tmrw", "eod", "end of day", "tonight", "midnight"):
        result = start_of_today + timedelta(days=1)
    elif len(low) >= 3 and any(d.startswith(low) for d in _DAYS):
        day = next(i for i, d in enumerate(_DAYS) if d.startswith(low))
        ahead = (day - now.weekday()) % 7 or 7
        result = start_of_today + timedelta(days=ahead)
    elif (clock := _clock(low)) is not None:
        result = now.replace(hour=clock[0], minute=clock[1], second=0, microsecond=0)
        if result <= now:
            result += timedelta(days=1)
    else:
        try:
            result = now + timedelta(seconds=parse_duration(low))
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.strip().upper() if "t" in low else text.strip())
            except ValueError:
                raise ValueError(
                    f"can't read the time {text!r}: use 18:00, 5pm, tomorrow, friday, 2h or an ISO timestamp"
                ) from None
            result = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    if result <= now:
        raise ValueError(f"{text!r} is in the past ({result.astimezone(UTC):%Y-%m-%d %H:%M} UTC)")
    return result.astimezone(UTC)

"""Reading the times people type after ``since`` (history filters, "undo everything since T")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.errors import ValidationFailedError

__all__ = ["parse_since"]


def parse_since(text: str) -> datetime:
    """``14:00`` (today, UTC), ``2026-11-24T14:00``, ``30m`` / ``2h`` / ``1d`` ago."""
    text = text.strip().lower()
    now = datetime.now(UTC)
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    if text[:-1].isdigit() and text[-1] in units:
        return now - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(x) for x in text.split(":"))
            return now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError as exc:
        raise ValidationFailedError(
            f"can't read the time {text!r}", hint="use HH:MM (UTC), an ISO timestamp, or 30m / 2h / 1d"
        ) from exc

"""Built-in ``change_window``: mutating changes only inside the listed windows.

Each window is a set of weekdays and a ``start``–``end`` time of day in ``tz``; an ``end``
earlier than ``start`` runs past midnight (the days name the day it starts). Outside every
window the rule fires (``require_approval`` by default). Narrow it with ``when``
(``env == 'prod'``).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orchestrator.state import Effect
from policies.rules.base import BuiltinRule, EvalInputs, Finding, PackDefaults, RuleSpec

__all__ = ["ChangeWindowRule", "Window"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Window(BaseModel):
    """Weekdays (``mon``…``sun``) and a time span (``HH:MM``)."""

    model_config = ConfigDict(extra="forbid")

    days: tuple[str, ...] = DAYS[:5]
    start: time
    end: time

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        days = [str(d).strip().lower()[:3] for d in (value if isinstance(value, list | tuple) else [value])]
        bad = [d for d in days if d not in DAYS]
        if bad:
            raise ValueError(f"unknown day {', '.join(bad)}; use {', '.join(DAYS)}")
        return tuple(days)

    def contains(self, local: datetime) -> bool:
        """Whether ``local`` (already in the window's zone) falls inside."""
        clock = local.time().replace(tzinfo=None)
        today = DAYS[local.weekday()]
        if self.start <= self.end:
            return today in self.days and self.start <= clock < self.end
        yesterday = DAYS[(local - timedelta(days=1)).weekday()]
        return (today in self.days and clock >= self.start) or (yesterday in self.days and clock < self.end)


class ChangeWindowConfig(BaseModel):
    """``windows`` (at least one) in time zone ``tz``."""

    model_config = ConfigDict(extra="forbid")

    windows: tuple[Window, ...] = Field(min_length=1)
    tz: str = "UTC"

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class ChangeWindowRule(BuiltinRule):
    """Fires for a mutating change outside every window."""

    builtin = "change_window"
    Config = ChangeWindowConfig
    effects = (Effect.REQUIRE_APPROVAL, Effect.DENY)

    def __init__(self, spec: RuleSpec, defaults: PackDefaults, origin: str = "") -> None:
        super().__init__(spec, defaults, origin)
        self.zone = ZoneInfo(self.config.tz)

    def check(self, inputs: EvalInputs) -> Finding | None:
        """Compares ``now`` in the configured zone with each window."""
        ctx = inputs.ctx
        if not ctx.change.mutating:
            return None
        local = ctx.now.astimezone(self.zone)
        if any(w.contains(local) for w in self.config.windows):
            return None
        spans = "; ".join(
            f"{','.join(w.days)} {w.start:%H:%M}-{w.end:%H:%M}" for w in self.config.windows
        )
        message = f"{local:%a %H:%M} {self.config.tz} is outside the change windows for {ctx.env} ({spans})"
        return self.finding(self.effect, f"{self.description} — {message}" if self.description else message)

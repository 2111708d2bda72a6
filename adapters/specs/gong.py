"""Gong actions (read-only): list calls and users. No before-state (nothing changes)."""

from __future__ import annotations

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, Params, Risk
from adapters.specs._fields import normalize_time

__all__ = ["ACTIONS", "CallListParams"]


class CallListParams(Params):
    """``gong.call.list`` params: ``since`` in the canonical time form (see ``normalize_time``)."""

    since: str = Field(description="HH:MM, a date, a weekday, today/yesterday, or a span like 7d")

    _since = field_validator("since", mode="before")(classmethod(lambda cls, v: normalize_time(v)))


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="gong.call.list",
        summary="List recorded calls since a time",
        params=CallListParams,
        risk=Risk.READ,
        target="(none)",
        target_required=False,
        examples=(
            "list gong calls since monday",
            "show me the gong calls from the last 7 days",
            "which calls did gong record since yesterday?",
        ),
    ),
    ActionSpec(
        id="gong.user.list",
        summary="List Gong users",
        risk=Risk.READ,
        target="(none)",
        target_required=False,
        examples=(
            "list gong users",
            "who has a gong seat?",
            "show all users in gong",
        ),
    ),
)

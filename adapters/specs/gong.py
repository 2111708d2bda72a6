"""Gong actions: list calls and users (reads), and a user's individual access to a call.

Before-state of ``call.access`` (target = the user's email): ``{"user", "user_id", "call",
"access"}``, ``access`` being whether the user holds access to the call given through the API
(Gong's ``/v2/calls/users-access``, which lists only that kind). Grant and revoke are each
other's inverse. The adapter is :mod:`adapters.data.gong`.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, Params, Risk
from adapters.specs._fields import normalize_time, swap_with_params

__all__ = ["ACTIONS", "CallAccessParams", "CallListParams"]


class CallListParams(Params):
    """``gong.call.list`` params: ``since`` in the canonical time form (see ``normalize_time``)."""

    since: str = Field(description="HH:MM, a date, a weekday, today/yesterday, or a span like 7d")

    _since = field_validator("since", mode="before")(classmethod(lambda cls, v: normalize_time(v)))


class CallAccessParams(Params):
    """``gong.call.access.grant`` / ``revoke`` params: the call, by Gong's numeric id."""

    call: str = Field(pattern=r"^[0-9]{1,20}$", description="the Gong call id (digits, from the call's URL)")

    @field_validator("call", mode="before")
    @classmethod
    def _call(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value.strip().removeprefix("#") if isinstance(value, str) else value


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
    ActionSpec(
        id="gong.call.access.grant",
        summary="Give a user individual access to a recorded call",
        params=CallAccessParams,
        target="user email",
        inverse=swap_with_params("gong.call.access.revoke", ("call",)),
        inverse_hint="revoke the access",
        examples=(
            "give jane.doe@acme.com access to gong call 7782342274025937895",
            "grant bob@globex.io access to the gong call 1283746501928374650",
            "share gong call 5550001112223334445 with ana@initech.com",
        ),
    ),
    ActionSpec(
        id="gong.call.access.revoke",
        summary="Remove a user's individual access to a recorded call",
        params=CallAccessParams,
        target="user email",
        inverse=swap_with_params("gong.call.access.grant", ("call",)),
        inverse_hint="grant the access again",
        examples=(
            "revoke jane.doe@acme.com's access to gong call 7782342274025937895",
            "remove bob@globex.io's access to the gong call 1283746501928374650",
            "take away ana@initech.com's access to gong call 5550001112223334445",
        ),
    ),
)

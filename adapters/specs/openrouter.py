"""OpenRouter actions: provisioned API keys and their credit limits.

Before-state for a key: ``{"name", "hash", "disabled", "limit_usd"}`` (``limit_usd`` None
means unlimited).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from adapters.catalog import ActionCall, ActionSpec, Params, inverse_same_target
from adapters.specs._fields import money_usd

__all__ = ["ACTIONS", "KeyCreateParams", "SetLimitParams"]


class KeyCreateParams(Params):
    """``openrouter.key.create`` params: an optional credit limit in USD."""

    limit_usd: float | None = Field(default=None, ge=0, le=10_000_000, description="credit limit, USD")

    _m = field_validator("limit_usd", mode="before")(classmethod(lambda cls, v: money_usd(v)))


class SetLimitParams(Params):
    """``openrouter.key.set_limit`` params: the new limit (``null`` removes the limit)."""

    limit_usd: float | None = Field(ge=0, le=10_000_000, description="credit limit in USD, or null")

    _m = field_validator("limit_usd", mode="before")(classmethod(lambda cls, v: money_usd(v)))


def _limit_before(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    if not before or "limit_usd" not in before:
        return None
    return ActionCall(action="openrouter.key.set_limit", target=call.target,
                      params={"limit_usd": before["limit_usd"]})


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="openrouter.key.create",
        summary="Create an API key, optionally with a credit limit",
        params=KeyCreateParams,
        target="key name",
        inverse=inverse_same_target("openrouter.key.disable"),
        inverse_hint="key.disable",
        examples=(
            "create an openrouter key called batch-jobs",
            "new openrouter api key agent-sandbox with a $50 limit",
            "make an openrouter key for prototype-app capped at 20 dollars",
        ),
    ),
    ActionSpec(
        id="openrouter.key.set_limit",
        summary="Change a key's credit limit",
        params=SetLimitParams,
        target="key name",
        inverse=_limit_before,
        inverse_hint="set the before limit",
        examples=(
            "set the openrouter key batch-jobs limit to $100",
            "raise the credit limit on openrouter key agent-sandbox to 250 usd",
            "cap openrouter key prototype-app at 10 dollars",
        ),
    ),
    ActionSpec(
        id="openrouter.key.disable",
        summary="Disable an API key",
        target="key name",
        inverse=inverse_same_target("openrouter.key.enable"),
        inverse_hint="enable",
        examples=(
            "disable the openrouter key batch-jobs",
            "turn off openrouter key agent-sandbox",
            "kill the prototype-app key on openrouter",
        ),
    ),
    ActionSpec(
        id="openrouter.key.enable",
        summary="Re-enable a disabled API key",
        target="key name",
        inverse=inverse_same_target("openrouter.key.disable"),
        inverse_hint="disable",
        examples=(
            "enable the openrouter key batch-jobs",
            "turn openrouter key agent-sandbox back on",
            "reactivate the prototype-app key on openrouter",
        ),
    ),
)

"""Portkey actions: API keys, gateway configs and budgets.

Before-states the adapter records:

* api_key: ``{"name", "status"}`` (``active``/``disabled``).
* config: ``{"name", "fallback", "loadbalance", "retry"}`` in the params' canonical form.
* budget (target = workspace or key): ``{"limit_usd"}`` (None when there was no limit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from adapters.catalog import ActionCall, ActionSpec, Params, inverse_same_target, restore_fields
from adapters.specs._fields import dedupe, money_usd, split_list

__all__ = ["ACTIONS", "BudgetSetParams", "ConfigUpdateParams"]

_TARGET = re.compile(r"^[A-Za-z0-9@._:/-]{1,120}$")


def _targets(value: object) -> object:
    items = split_list(value)
    if not isinstance(items, list):
        return items
    out = dedupe(str(t).strip().lower() for t in items)
    for item in out:
        if not _TARGET.match(item):
            raise ValueError(f"not a provider or virtual key name: {item!r}")
    return out


class ConfigUpdateParams(Params):
    """``portkey.config.update`` params: the routing strategy and retries.

    ``fallback`` is an ordered list of targets (providers / virtual keys) tried in turn;
    ``loadbalance`` maps targets to weights; ``retry`` is the attempt count (0–5). At least one
    must be given, and a config is either fallback or loadbalance, not both.
    """

    fallback: list[str] | None = Field(default=None, min_length=1, max_length=10)
    loadbalance: dict[str, float] | None = Field(default=None, min_length=1, max_length=10)
    retry: int | None = Field(default=None, ge=0, le=5, description="retry attempts, 0 to 5")

    _fb = field_validator("fallback", mode="before")(classmethod(lambda cls, v: _targets(v)))

    @field_validator("loadbalance", mode="before")
    @classmethod
    def _loadbalance(cls, value: object) -> object:
        if isinstance(value, list | str):
            names = _targets(value)
            if isinstance(names, list) and names:
                return {n: round(1 / len(names), 4) for n in names}
        if isinstance(value, dict):
            out: dict[str, float] = {}
            for name, weight in value.items():
                clean = _targets([name])
                assert isinstance(clean, list)
                out[clean[0]] = float(weight)
                if out[clean[0]] < 0:
                    raise ValueError("loadbalance weights must be >= 0")
            if out and sum(out.values()) <= 0:
                raise ValueError("loadbalance weights must not all be 0")
            return out
        return value

    @model_validator(mode="after")
    def _one_strategy(self) -> ConfigUpdateParams:
        if self.fallback is None and self.loadbalance is None and self.retry is None:
            raise ValueError("give at least one of fallback, loadbalance, retry")
        if self.fallback is not None and self.loadbalance is not None:
            raise ValueError("a config is either fallback or loadbalance, not both")
        return self


class BudgetSetParams(Params):
    """``portkey.budget.set`` params: the spend limit in US dollars."""

    limit_usd: float = Field(ge=0, le=10_000_000, description="spend limit in USD, e.g. 500")

    _m = field_validator("limit_usd", mode="before")(classmethod(lambda cls, v: money_usd(v)))


def _config_before(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    if not before:
        return None
    try:
        params = ConfigUpdateParams.model_validate(
            {k: before.get(k) for k in ("fallback", "loadbalance", "retry")}
        ).model_dump(mode="json")
    except ValidationError:
        return None
    return ActionCall(action="portkey.config.update", target=call.target, params=params)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="portkey.api_key.create",
        summary="Create an API key",
        target="key name",
        inverse=inverse_same_target("portkey.api_key.disable"),
        inverse_hint="api_key.disable",
        examples=(
            "create a portkey api key called support-bot",
            "new portkey key for the ranking-service",
            "issue a portkey API key named eval-runner",
        ),
    ),
    ActionSpec(
        id="portkey.api_key.rotate",
        summary="Rotate an API key (the old key stays valid until the new one is verified)",
        target="key name",
        inverse_hint="none automatic: the old key is kept until the new one is verified",
        examples=(
            "rotate the portkey api key support-bot",
            "roll the portkey key for ranking-service",
            "cycle portkey key eval-runner",
        ),
    ),
    ActionSpec(
        id="portkey.api_key.disable",
        summary="Disable an API key",
        target="key name",
        inverse=inverse_same_target("portkey.api_key.enable"),
        inverse_hint="enable",
        examples=(
            "disable the portkey api key support-bot",
            "turn off portkey key ranking-service",
            "deactivate the eval-runner key in portkey",
        ),
    ),
    ActionSpec(
        id="portkey.api_key.enable",
        summary="Re-enable a disabled API key",
        target="key name",
        inverse=inverse_same_target("portkey.api_key.disable"),
        inverse_hint="disable",
        examples=(
            "enable the portkey api key support-bot",
            "turn portkey key ranking-service back on",
            "reactivate the eval-runner key in portkey",
        ),
    ),
    ActionSpec(
        id="portkey.config.update",
        summary="Change a gateway config's fallback / loadbalance targets or retries",
        params=ConfigUpdateParams,
        target="config name",
        inverse=_config_before,
        inverse_hint="update to the before config",
        examples=(
            "set the portkey config prod-routing to fall back from openai to anthropic",
            "loadbalance the portkey config chat-default across openai and azure-openai",
            "make portkey config prod-routing retry 3 times",
        ),
    ),
    ActionSpec(
        id="portkey.budget.set",
        summary="Set a spend limit on a workspace or key",
        params=BudgetSetParams,
        target="workspace or key",
        inverse=restore_fields("portkey.budget.set", {"limit_usd": "limit_usd"}),
        inverse_hint="set the before limit",
        examples=(
            "set the portkey budget for workspace research to $500",
            "cap portkey key support-bot at 200 dollars",
            "limit spend on the marketing workspace in portkey to 1.5k usd",
        ),
    ),
)

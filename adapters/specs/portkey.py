"""Portkey actions: API keys, gateway configs and budgets.

Before-states the adapter records:

* api_key: ``{"name", "status"}`` (``active``/``disabled``/``exhausted``), plus the key's
  ``id``, ``expires_at`` and ``rotated_from`` (the id of the key it replaced, if any).
* config: ``{"name", "fallback", "loadbalance", "retry"}`` in the params' canonical form.
* budget (target = workspace or key): ``{"limit_usd"}`` (None when there was no limit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from adapters.catalog import ActionCall, ActionSpec, Params, inverse_same_target, restore_fields
from adapters.specs._fields import dedupe, money_usd, split_list

__all__ = ["ACTIONS", "ApiKeyCreateParams", "ApiKeyEnableParams", "BudgetSetParams", "ConfigUpdateParams"]

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


_SCOPE = re.compile(r"^[a-z_]+\.[a-z_]+$")


class _WithAdditions(Params):
    """Params with adapter-added optional fields, left out of the JSON form while unset (None or
    False), so calls written before the fields existed keep their canonical form."""

    _omitted_when_unset: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self._omitted_when_unset:
            if data.get(name) in (None, False):
                data.pop(name, None)
        return data


class ApiKeyCreateParams(_WithAdditions):
    """``portkey.api_key.create`` params (both optional).

    ``workspace`` (id or slug) makes a workspace service key (default: ``SOPHIA_PORTKEY_WORKSPACE``,
    else an organisation service key); ``scopes`` default to ``completions.write``.
    """

    _omitted_when_unset = frozenset({"workspace", "scopes"})

    workspace: str | None = Field(default=None, max_length=120, description="workspace id or slug")
    scopes: list[str] | None = Field(
        default=None, min_length=1, max_length=60, description="permission scopes, e.g. completions.write"
    )

    @field_validator("scopes", mode="before")
    @classmethod
    def _scopes(cls, value: object) -> object:
        items = split_list(value)
        if not isinstance(items, list):
            return items
        out = dedupe(str(s).strip().lower() for s in items)
        for scope in out:
            if not _SCOPE.match(scope):
                raise ValueError(f"not a Portkey scope: {scope!r} (like completions.write)")
        return out


class ApiKeyEnableParams(_WithAdditions):
    """``portkey.api_key.enable`` params: the expiry to restore (None: the key does not expire)."""

    _omitted_when_unset = frozenset({"expires_at"})

    expires_at: datetime | None = Field(default=None, description="when the re-enabled key expires (UTC)")

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(microsecond=0)


class ConfigUpdateParams(_WithAdditions):
    """``portkey.config.update`` params: the routing strategy and retries.

    ``fallback`` is an ordered list of targets (providers / virtual keys) tried in turn;
    ``loadbalance`` maps targets to weights; ``retry`` is the attempt count (0–5). At least one
    must be given, and a config is either fallback or loadbalance, not both.

    ``replace`` (used by the derived inverse) makes the given fields the whole routing: a
    strategy or retry left out is removed rather than kept. It is left out of the JSON form
    when false, so ordinary calls look as they always did.
    """

    fallback: list[str] | None = Field(default=None, min_length=1, max_length=10)
    loadbalance: dict[str, float] | None = Field(default=None, min_length=1, max_length=10)
    retry: int | None = Field(default=None, ge=0, le=5, description="retry attempts, 0 to 5")
    _omitted_when_unset = frozenset({"replace"})

    replace: bool = Field(default=False, description="fields left out are removed, not kept")

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
        if self.fallback is None and self.loadbalance is None and self.retry is None and not self.replace:
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
            {**{k: before.get(k) for k in ("fallback", "loadbalance", "retry")}, "replace": True}
        ).model_dump(mode="json")
    except ValidationError:
        return None
    return ActionCall(action="portkey.config.update", target=call.target, params=params)


def _enable_as_before(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    """Re-enable, restoring the expiry the key had before it was disabled (if any)."""
    expires = (before or {}).get("expires_at")
    params = ApiKeyEnableParams.model_validate({"expires_at": expires} if expires else {})
    return ActionCall(
        action="portkey.api_key.enable", target=call.target, params=params.model_dump(mode="json")
    )


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="portkey.api_key.create",
        summary="Create an API key",
        params=ApiKeyCreateParams,
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
        inverse=_enable_as_before,
        inverse_hint="enable (with the expiry it had before)",
        examples=(
            "disable the portkey api key support-bot",
            "turn off portkey key ranking-service",
            "deactivate the eval-runner key in portkey",
        ),
    ),
    ActionSpec(
        id="portkey.api_key.enable",
        summary="Re-enable a disabled API key",
        params=ApiKeyEnableParams,
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

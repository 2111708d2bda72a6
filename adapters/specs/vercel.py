"""Vercel actions: environment variables, deployments and domains (target = project name).

Before-states the adapter records (the inverse functions read these keys):

* env (``env.set`` / ``env.unset``): ``{"key", "environment", "exists", "value_ref"}`` — the
  previous value is never recorded; ``value_ref`` is a secret *reference* (resolved inside the
  adapter) to the value that was replaced, or absent/None when there was none.
* deployment (``promote`` / ``rollback``): ``{"production_deployment_id"}``.
* domain: ``{"project", "domains"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from adapters.catalog import ActionCall, ActionSpec, Params
from adapters.specs._fields import hostname, swap_with_params

__all__ = [
    "ACTIONS",
    "DeploymentParams",
    "DomainParams",
    "EnvSetParams",
    "EnvUnsetParams",
    "RollbackParams",
]

Environment = Literal["production", "preview", "development"]
_ENV_ALIASES = {"prod": "production", "production": "production", "live": "production",
                "preview": "preview", "previews": "preview",
                "dev": "development", "development": "development", "local": "development"}
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,255}$")
_DEPLOYMENT = re.compile(r"^dpl_[A-Za-z0-9]{6,64}$")


def _environment(value: object) -> object:
    return _ENV_ALIASES.get(str(value).strip().lower(), value)


def _key(value: object) -> str:
    text = str(value).strip().strip("\"'`").removeprefix("$")
    if not _ENV_KEY.match(text):
        raise ValueError(f"not an environment variable name: {value!r} (letters, digits, _)")
    return text


def _deployment(value: object) -> object:
    if value is None:
        return None
    text = str(value).strip()
    if not _DEPLOYMENT.match(text):
        raise ValueError(f"not a Vercel deployment id: {value!r} (dpl_…)")
    return text


class EnvSetParams(Params):
    """``vercel.env.set`` params; ``value`` is secret (never logged or stored)."""

    key: str = Field(description="variable name, e.g. API_URL")
    value: str = Field(min_length=1, max_length=65536, description="the value (secret)")
    environment: Environment = "production"

    _k = field_validator("key", mode="before")(classmethod(lambda cls, v: _key(v)))
    _e = field_validator("environment", mode="before")(classmethod(lambda cls, v: _environment(v)))


class EnvUnsetParams(Params):
    """``vercel.env.unset`` params."""

    key: str
    environment: Environment = "production"

    _k = field_validator("key", mode="before")(classmethod(lambda cls, v: _key(v)))
    _e = field_validator("environment", mode="before")(classmethod(lambda cls, v: _environment(v)))


class DeploymentParams(Params):
    """``vercel.deployment.promote`` params."""

    deployment_id: str = Field(description="deployment id, dpl_…")

    _d = field_validator("deployment_id", mode="before")(classmethod(lambda cls, v: _deployment(v)))


class RollbackParams(Params):
    """``vercel.deployment.rollback`` params: none means the previous production deployment."""

    deployment_id: str | None = None

    _d = field_validator("deployment_id", mode="before")(classmethod(lambda cls, v: _deployment(v)))


class DomainParams(Params):
    """``vercel.domain.add`` / ``remove`` params."""

    domain: str = Field(description="a domain name, e.g. app.example.com")

    _d = field_validator("domain", mode="before")(classmethod(lambda cls, v: hostname(v)))


def _env_restore(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    if not before:
        return None
    key, env = call.params.get("key"), call.params.get("environment", "production")
    if before.get("exists") and before.get("value_ref"):
        return ActionCall(action="vercel.env.set", target=call.target,
                          params={"key": key, "value": before["value_ref"], "environment": env})
    if before.get("exists") is False and call.action == "vercel.env.set":
        return ActionCall(action="vercel.env.unset", target=call.target, params={"key": key, "environment": env})
    return None


def _promote_before(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    previous = (before or {}).get("production_deployment_id")
    if not previous:
        return None
    return ActionCall(action="vercel.deployment.promote", target=call.target, params={"deployment_id": previous})


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="vercel.env.set",
        summary="Set an environment variable on a project",
        params=EnvSetParams,
        target="project",
        inverse=_env_restore,
        inverse_hint="set the before value (by secret reference), or unset if there was none",
        secret_params=frozenset({"value"}),
        examples=(
            "set API_URL to https://api.example.com on the vercel project web",
            "add env var FEATURE_FLAG=true to marketing-site in preview",
            "on vercel project dashboard set SENTRY_DSN to abc123 for development",
        ),
    ),
    ActionSpec(
        id="vercel.env.unset",
        summary="Remove an environment variable from a project",
        params=EnvUnsetParams,
        target="project",
        inverse=_env_restore,
        inverse_hint="set the before value (by secret reference)",
        examples=(
            "unset API_URL on the vercel project web",
            "remove env var FEATURE_FLAG from marketing-site preview",
            "delete the SENTRY_DSN variable from dashboard in vercel",
        ),
    ),
    ActionSpec(
        id="vercel.deployment.promote",
        summary="Promote a deployment to production",
        params=DeploymentParams,
        target="project",
        inverse=_promote_before,
        inverse_hint="promote the before deployment",
        examples=(
            "promote deployment dpl_8fK2mQx9 to production on web",
            "ship dpl_Ab12Cd34 live for the vercel project dashboard",
            "make dpl_Zz99Yy88 the production deployment of marketing-site",
        ),
    ),
    ActionSpec(
        id="vercel.deployment.rollback",
        summary="Roll production back (to the previous deployment, or a given one)",
        params=RollbackParams,
        target="project",
        inverse=_promote_before,
        inverse_hint="promote the before deployment",
        examples=(
            "roll back the vercel project web",
            "rollback marketing-site to dpl_Ab12Cd34",
            "revert production of dashboard on vercel to the previous deploy",
        ),
    ),
    ActionSpec(
        id="vercel.domain.add",
        summary="Add a domain to a project",
        params=DomainParams,
        target="project",
        inverse=swap_with_params("vercel.domain.remove", ("domain",)),
        inverse_hint="remove",
        examples=(
            "add the domain app.example.com to the vercel project web",
            "point docs.acme.io at the vercel project docs",
            "attach shop.example.org to marketing-site on vercel",
        ),
    ),
    ActionSpec(
        id="vercel.domain.remove",
        summary="Remove a domain from a project",
        params=DomainParams,
        target="project",
        inverse=swap_with_params("vercel.domain.add", ("domain",)),
        inverse_hint="add",
        examples=(
            "remove the domain app.example.com from the vercel project web",
            "detach docs.acme.io from docs on vercel",
            "take shop.example.org off marketing-site",
        ),
    ),
)

"""Snowflake actions added after the first set: schemas, users and resource monitors.

Appended to :data:`adapters.specs.snowflake.ACTIONS` (ids are a contract: never renamed).
Before-states the adapter records (the inverse functions read these keys):

* schema (target ``DATABASE.SCHEMA``): ``{"name", "database", "schema", "retention_days"}``.
* user: ``{"name", "disabled", "email", "default_role"}``.
* resource monitor: ``{"name", "credit_quota", "frequency", "suspend_at", "warehouses"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from adapters.catalog import (
    ActionCall,
    ActionSpec,
    InverseFn,
    Params,
    Risk,
    inverse_same_target,
    restore_fields,
)
from adapters.specs._fields import email

__all__ = [
    "FREQUENCIES",
    "MORE_ACTIONS",
    "MonitorCreateParams",
    "SetQuotaParams",
    "UserCreateParams",
    "frequency",
]

Frequency = Literal["MONTHLY", "DAILY", "WEEKLY", "YEARLY", "NEVER"]
FREQUENCIES: tuple[str, ...] = Frequency.__args__  # type: ignore[attr-defined]
_PERIODS = {
    "MONTH": "MONTHLY",
    "DAY": "DAILY",
    "WEEK": "WEEKLY",
    "YEAR": "YEARLY",
    "ANNUAL": "YEARLY",
    "ANNUALLY": "YEARLY",
}
_NAME = re.compile(r"^[A-Z_][A-Z0-9_$]{0,254}$")
_MAX_CREDITS = 1_000_000


def frequency(value: object) -> object:
    """``monthly``, ``a month``, ``per month``, ``month`` → ``MONTHLY`` (unknown: unchanged)."""
    if value is None:
        return value
    text = re.sub(r"^(?:A|AN|PER|EVERY|EACH)\s+", "", str(value).strip().upper())
    return _PERIODS.get(text, text)


def _plain_name(value: object, what: str) -> str:
    text = str(value).strip().upper()
    if not _NAME.match(text):
        raise ValueError(f"not a plain Snowflake {what} name: {value!r}")
    return text


def _credits(value: object) -> object:
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*(?:credits?)?\s*", value, re.IGNORECASE)
        return int(match.group(1)) if match else value
    return value


class UserCreateParams(Params):
    """``snowflake.user.create`` params. No password is ever set: the user signs in by SSO or a
    key an administrator adds."""

    email: str | None = Field(default=None, description="the user's email address")
    default_role: str | None = Field(default=None, description="role used at sign-in, e.g. ANALYST")

    _email = field_validator("email", mode="before")(classmethod(lambda cls, v: v if v is None else email(v)))
    _role = field_validator("default_role", mode="before")(
        classmethod(lambda cls, v: v if v is None else _plain_name(v, "role"))
    )


class MonitorCreateParams(Params):
    """``snowflake.resource_monitor.create`` params: the quota, how often it resets, and the
    warehouse it caps (suspended when the quota is used up)."""

    credit_quota: int = Field(ge=1, le=_MAX_CREDITS, description="credits per interval")
    frequency: Frequency = Field(default="MONTHLY", description="when used credits reset to 0")
    warehouse: str | None = Field(default=None, description="warehouse to attach and suspend at 100%")

    _quota = field_validator("credit_quota", mode="before")(classmethod(lambda cls, v: _credits(v)))
    _freq = field_validator("frequency", mode="before")(classmethod(lambda cls, v: frequency(v)))
    _wh = field_validator("warehouse", mode="before")(
        classmethod(lambda cls, v: v if v is None else _plain_name(v, "warehouse"))
    )


class SetQuotaParams(Params):
    """``snowflake.resource_monitor.set_quota`` params."""

    credit_quota: int = Field(ge=1, le=_MAX_CREDITS, description="credits per interval")

    _quota = field_validator("credit_quota", mode="before")(classmethod(lambda cls, v: _credits(v)))


def _flip(action_id: str, *, when_disabled: bool) -> InverseFn:
    """The opposite switch, only when the call changed something (a no-op has nothing to undo)."""

    def derive(
        call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> ActionCall | None:
        if not before or before.get("disabled") is (not when_disabled):
            return None  # already in the state the call asked for: nothing to undo
        return ActionCall(action=action_id, target=call.target, params={})

    return derive


_RETENTION = (
    "only within the schema's Time Travel retention (DATA_RETENTION_TIME_IN_DAYS; 0 = never), and only "
    "while no other schema has taken the name"
)

MORE_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="snowflake.schema.create",
        summary="Create a schema in a database",
        target="DATABASE.SCHEMA",
        inverse=inverse_same_target("snowflake.schema.drop"),
        inverse_hint="schema.drop",
        examples=(
            "create schema ANALYTICS.STAGING",
            "add a snowflake schema RAW.EVENTS",
            "new schema MARKETING.REPORTS in snowflake",
        ),
    ),
    ActionSpec(
        id="snowflake.schema.drop",
        summary="Drop a schema and everything in it (UNDROP SCHEMA only within the retention period)",
        risk=Risk.DESTRUCTIVE,
        target="DATABASE.SCHEMA",
        inverse_hint=f"none automatic: snowflake.schema.undrop, {_RETENTION}",
        examples=(
            "drop schema ANALYTICS.TMP",
            "delete the snowflake schema RAW.LEGACY_EVENTS",
            "get rid of schema MARKETING.SCRATCH",
        ),
    ),
    ActionSpec(
        id="snowflake.schema.undrop",
        summary=f"Restore a dropped schema with UNDROP SCHEMA ({_RETENTION})",
        target="DATABASE.SCHEMA",
        inverse=inverse_same_target("snowflake.schema.drop"),
        inverse_hint="schema.drop",
        examples=(
            "undrop schema ANALYTICS.TMP",
            "restore the dropped snowflake schema RAW.LEGACY_EVENTS",
            "bring back schema MARKETING.SCRATCH with undrop",
        ),
    ),
    ActionSpec(
        id="snowflake.user.create",
        summary="Create a Snowflake user (no password: SSO or a key set by an admin)",
        params=UserCreateParams,
        target="user name",
        inverse=inverse_same_target("snowflake.user.drop"),
        inverse_hint="user.drop",
        examples=(
            "create the snowflake user JDOE",
            "add a snowflake user ASMITH with email asmith@example.com",
            "new snowflake user BI_SERVICE with default role REPORTER",
        ),
    ),
    ActionSpec(
        id="snowflake.user.drop",
        summary="Drop a Snowflake user (there is no UNDROP USER)",
        risk=Risk.DESTRUCTIVE,
        target="user",
        inverse_hint="none: create the user again and re-grant its roles by hand",
        examples=(
            "drop the snowflake user JDOE",
            "delete snowflake user BATCH_BOT",
            "remove the snowflake user TEMP_CONTRACTOR",
        ),
    ),
    ActionSpec(
        id="snowflake.user.disable",
        summary="Disable a Snowflake user (locks them out and aborts their running queries)",
        target="user",
        inverse=_flip("snowflake.user.enable", when_disabled=False),
        inverse_hint="enable (aborted queries are not re-run)",
        examples=(
            "disable the snowflake user JDOE",
            "lock out snowflake user CONTRACTOR_1",
            "deactivate snowflake user BATCH_BOT",
        ),
    ),
    ActionSpec(
        id="snowflake.user.enable",
        summary="Enable a disabled Snowflake user",
        target="user",
        inverse=_flip("snowflake.user.disable", when_disabled=True),
        inverse_hint="disable",
        examples=(
            "enable the snowflake user JDOE",
            "re-enable snowflake user CONTRACTOR_1",
            "unlock snowflake user BATCH_BOT",
        ),
    ),
    ActionSpec(
        id="snowflake.resource_monitor.create",
        summary="Create a resource monitor (credit quota per interval) and attach it to a warehouse,"
        " which it suspends when the quota is used",
        params=MonitorCreateParams,
        target='resource monitor name ("cap WH at N credits" names it WH_MONITOR)',
        inverse=inverse_same_target("snowflake.resource_monitor.drop"),
        inverse_hint="resource_monitor.drop",
        examples=(
            "cap ETL_WH at 200 credits a month",
            "create a resource monitor ANALYTICS_MONITOR with 500 credits a month on warehouse ANALYTICS_WH",
            "cap REPORTING_WH at 50 credits per week",
        ),
    ),
    ActionSpec(
        id="snowflake.resource_monitor.set_quota",
        summary="Change a resource monitor's credit quota",
        params=SetQuotaParams,
        target="resource monitor",
        inverse=restore_fields("snowflake.resource_monitor.set_quota", {"credit_quota": "credit_quota"}),
        inverse_hint="set the before quota",
        examples=(
            "set the quota of resource monitor ETL_WH_MONITOR to 300 credits",
            "raise the credit quota on monitor ANALYTICS_MONITOR to 800",
            "change resource monitor REPORTING_WH_MONITOR quota to 75 credits",
        ),
    ),
    ActionSpec(
        id="snowflake.resource_monitor.drop",
        summary="Drop a resource monitor (its warehouses are no longer capped; used credits are lost)",
        risk=Risk.DESTRUCTIVE,
        target="resource monitor",
        inverse_hint="none: create it again (its used-credit count starts from 0)",
        examples=(
            "drop the resource monitor ETL_WH_MONITOR",
            "delete snowflake resource monitor TRIAL_MONITOR",
            "remove resource monitor TEMP_MONITOR",
        ),
    ),
)

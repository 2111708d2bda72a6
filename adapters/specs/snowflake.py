"""Snowflake actions: warehouses, databases and role grants (schemas, users and resource
monitors are in :mod:`adapters.specs.snowflake_more`, appended to :data:`ACTIONS`).

Before-states the adapter records (the inverse functions read these keys):

* warehouse: ``{"name", "size", "state", "auto_suspend_seconds"}`` (``state`` is
  ``STARTED``/``SUSPENDED``; ``size`` in the canonical form below).
* database: ``{"name", "retention_days"}``.
* role grant (target = user): ``{"user", "roles"}`` (the user's granted roles).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, Params, Risk, inverse_same_target, restore_fields
from adapters.specs._fields import duration_seconds, swap_with_params
from adapters.specs.snowflake_more import MORE_ACTIONS

__all__ = [
    "ACTIONS",
    "SIZES",
    "RoleParams",
    "SetAutoSuspendParams",
    "WarehouseCreateParams",
    "WarehouseScaleParams",
    "normalize_size",
]

Size = Literal["XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE", "XXLARGE", "XXXLARGE", "X4LARGE", "X5LARGE", "X6LARGE"]
SIZES: tuple[str, ...] = Size.__args__  # type: ignore[attr-defined]

_SIZE_ALIASES = {
    "XS": "XSMALL", "XSMALL": "XSMALL", "EXTRASMALL": "XSMALL",
    "S": "SMALL", "SM": "SMALL", "SMALL": "SMALL",
    "M": "MEDIUM", "MED": "MEDIUM", "MEDIUM": "MEDIUM",
    "L": "LARGE", "LG": "LARGE", "LARGE": "LARGE",
    "XL": "XLARGE", "XLARGE": "XLARGE", "EXTRALARGE": "XLARGE",
    "XXL": "XXLARGE", "2XL": "XXLARGE", "XXLARGE": "XXLARGE", "2XLARGE": "XXLARGE",
    "XXXL": "XXXLARGE", "3XL": "XXXLARGE", "XXXLARGE": "XXXLARGE", "3XLARGE": "XXXLARGE",
    "4XL": "X4LARGE", "X4LARGE": "X4LARGE", "4XLARGE": "X4LARGE",
    "5XL": "X5LARGE", "X5LARGE": "X5LARGE", "5XLARGE": "X5LARGE",
    "6XL": "X6LARGE", "X6LARGE": "X6LARGE", "6XLARGE": "X6LARGE",
}


def normalize_size(value: object) -> object:
    """``X-Large``, ``xlarge``, ``XL``, ``2x-large`` → Snowflake's ``XLARGE``/``XXLARGE`` form.

    Unknown values are returned unchanged so the ``Literal`` check names the allowed sizes.
    """
    key = re.sub(r"[\s_-]+", "", str(value)).upper().replace("EXTRA", "X") if value is not None else ""
    key = {"XSMALL": "XSMALL", "XLARGE": "XLARGE"}.get(key, key)
    return _SIZE_ALIASES.get(key, value)


_WEEK = 7 * 86400


class WarehouseCreateParams(Params):
    """``snowflake.warehouse.create`` params."""

    size: Size = "XSMALL"
    auto_suspend_seconds: int = Field(
        default=600, ge=0, le=_WEEK, description="idle seconds before suspending (0 = never)"
    )

    _size = field_validator("size", mode="before")(classmethod(lambda cls, v: normalize_size(v)))
    _secs = field_validator("auto_suspend_seconds", mode="before")(classmethod(lambda cls, v: duration_seconds(v)))


class WarehouseScaleParams(Params):
    """``snowflake.warehouse.scale`` params."""

    size: Size = Field(description="warehouse size, XSMALL to X6LARGE")

    _size = field_validator("size", mode="before")(classmethod(lambda cls, v: normalize_size(v)))


class SetAutoSuspendParams(Params):
    """``snowflake.warehouse.set_auto_suspend`` params."""

    seconds: int = Field(ge=0, le=_WEEK, description="idle seconds before suspending (0 = never)")

    _secs = field_validator("seconds", mode="before")(classmethod(lambda cls, v: duration_seconds(v)))


_ROLE = re.compile(r"^[A-Z_][A-Z0-9_$]{0,254}$")


class RoleParams(Params):
    """``snowflake.role.grant`` / ``revoke`` params: the role, as an unquoted (upper-case) identifier."""

    role: str = Field(description="role name, e.g. ANALYST")

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, value: object) -> str:
        text = re.sub(r"[\s-]+", "_", str(value).strip()).upper()
        if not _ROLE.match(text):
            raise ValueError(f"not a Snowflake role name: {value!r}")
        return text


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="snowflake.warehouse.create",
        summary="Create a virtual warehouse",
        params=WarehouseCreateParams,
        target="warehouse name",
        inverse=inverse_same_target("snowflake.warehouse.drop"),
        inverse_hint="warehouse.drop",
        examples=(
            "create a snowflake warehouse called REPORTING_WH",
            "spin up a new medium warehouse named ML_WH that suspends after 5 minutes",
            "new warehouse ADHOC_WH, size small",
        ),
    ),
    ActionSpec(
        id="snowflake.warehouse.scale",
        summary="Resize a warehouse",
        params=WarehouseScaleParams,
        target="warehouse",
        inverse=restore_fields("snowflake.warehouse.scale", {"size": "size"}),
        inverse_hint="scale to the before size",
        examples=(
            "scale ETL_WH to large",
            "bump the analytics warehouse up to x-large",
            "resize warehouse REPORTING_WH to XS",
            "make ETL_WH a medium",
        ),
    ),
    ActionSpec(
        id="snowflake.warehouse.suspend",
        summary="Suspend a warehouse (stops credit use)",
        target="warehouse",
        inverse=inverse_same_target("snowflake.warehouse.resume"),
        inverse_hint="resume",
        examples=(
            "suspend the ETL_WH warehouse",
            "pause warehouse ANALYTICS_WH",
            "put LOADING_WH to sleep",
        ),
    ),
    ActionSpec(
        id="snowflake.warehouse.resume",
        summary="Resume a suspended warehouse",
        target="warehouse",
        inverse=inverse_same_target("snowflake.warehouse.suspend"),
        inverse_hint="suspend",
        examples=(
            "resume the ETL_WH warehouse",
            "wake up warehouse ANALYTICS_WH",
            "start LOADING_WH again",
        ),
    ),
    ActionSpec(
        id="snowflake.warehouse.set_auto_suspend",
        summary="Set how long a warehouse idles before it suspends itself",
        params=SetAutoSuspendParams,
        target="warehouse",
        inverse=restore_fields("snowflake.warehouse.set_auto_suspend", {"seconds": "auto_suspend_seconds"}),
        inverse_hint="set the before value",
        examples=(
            "set auto suspend on ETL_WH to 5 minutes",
            "make ANALYTICS_WH auto-suspend after 120 seconds",
            "change the idle timeout of REPORTING_WH to 1 hour",
        ),
    ),
    ActionSpec(
        id="snowflake.warehouse.drop",
        summary="Drop a warehouse",
        risk=Risk.DESTRUCTIVE,
        target="warehouse",
        inverse_hint="none: recreate it by hand",
        examples=(
            "drop the warehouse OLD_WH",
            "delete snowflake warehouse TEMP_WH",
            "get rid of the SCRATCH_WH warehouse",
        ),
    ),
    ActionSpec(
        id="snowflake.database.create",
        summary="Create a database",
        target="database",
        inverse=inverse_same_target("snowflake.database.drop"),
        inverse_hint="database.drop",
        examples=(
            "create a snowflake database called MARKETING",
            "new database STAGING_DB in snowflake",
            "make a database named SANDBOX",
        ),
    ),
    ActionSpec(
        id="snowflake.database.drop",
        summary="Drop a database (UNDROP is possible within the retention period, by hand)",
        risk=Risk.DESTRUCTIVE,
        target="database",
        inverse_hint="none automatic: UNDROP DATABASE within the Time Travel retention period",
        examples=(
            "drop the snowflake database SANDBOX",
            "delete database OLD_MARKETING",
            "remove the STAGING_DB database",
        ),
    ),
    ActionSpec(
        id="snowflake.role.grant",
        summary="Grant a role to a user",
        params=RoleParams,
        target="user",
        inverse=swap_with_params("snowflake.role.revoke", ("role",)),
        inverse_hint="revoke",
        examples=(
            "grant the ANALYST role to user JSMITH",
            "give alice the SYSADMIN role in snowflake",
            "add role REPORTER to BOB",
        ),
    ),
    ActionSpec(
        id="snowflake.role.revoke",
        summary="Revoke a role from a user",
        params=RoleParams,
        target="user",
        inverse=swap_with_params("snowflake.role.grant", ("role",)),
        inverse_hint="grant",
        examples=(
            "revoke ANALYST from user JSMITH",
            "take the SYSADMIN role away from alice",
            "remove role REPORTER from BOB in snowflake",
        ),
    ),
    *MORE_ACTIONS,
)

"""Snowflake warehouses and databases (pulumi-snowflake).

Credentials reach the provider as environment variables: ``SNOWFLAKE_TOKEN`` is resolved by
reference from ``SOPHIA_SNOWFLAKE_TOKEN``; the account, user and authenticator are read by the
provider from ``SNOWFLAKE_ORGANIZATION_NAME`` / ``SNOWFLAKE_ACCOUNT_NAME`` / ``SNOWFLAKE_USER``
/ ``SNOWFLAKE_AUTHENTICATOR`` as usual.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import pulumi
import pulumi_snowflake as snowflake
from pydantic import Field, field_validator

from adapters.catalog import ActionCall
from adapters.specs.snowflake import SIZES, Size, normalize_size
from iac.programs.base import Program, ProgramContext, Spec, Transition

__all__ = ["PROGRAM", "DatabaseSpec", "SnowflakeProgram", "SnowflakeSpec", "WarehouseSpec", "snowflake_program"]

_IDENT = re.compile(r"^[A-Z_][A-Z0-9_$]{0,254}$")


def _ident(value: object) -> str:
    text = str(value).strip().upper()
    if not _IDENT.match(text):
        raise ValueError(f"not a Snowflake identifier: {value!r}")
    return text


class WarehouseSpec(Spec):
    """One virtual warehouse."""

    name: str
    size: Size = "XSMALL"
    auto_suspend_seconds: int = Field(default=600, ge=0, le=7 * 86400)
    auto_resume: bool = True
    comment: str = ""

    _n = field_validator("name", mode="before")(classmethod(lambda cls, v: _ident(v)))
    _s = field_validator("size", mode="before")(classmethod(lambda cls, v: normalize_size(v)))


class DatabaseSpec(Spec):
    """One database."""

    name: str
    retention_days: int = Field(default=1, ge=0, le=90)
    comment: str = ""

    _n = field_validator("name", mode="before")(classmethod(lambda cls, v: _ident(v)))


class SnowflakeSpec(Spec):
    """Every warehouse and database the stack manages, by name."""

    warehouses: dict[str, WarehouseSpec] = Field(default_factory=dict)
    databases: dict[str, DatabaseSpec] = Field(default_factory=dict)


def snowflake_program(spec: SnowflakeSpec) -> dict[str, pulumi.CustomResource]:
    """Declare one ``snowflake.Warehouse`` / ``snowflake.Database`` per spec entry."""
    resources: dict[str, pulumi.CustomResource] = {}
    for name, wh in sorted(spec.warehouses.items()):
        resources[f"warehouse/{name}"] = snowflake.Warehouse(
            f"warehouse-{name.lower()}",
            name=wh.name,
            warehouse_size=wh.size,
            auto_suspend=wh.auto_suspend_seconds,
            auto_resume="true" if wh.auto_resume else "false",
            comment=wh.comment or None,
        )
    for name, db in sorted(spec.databases.items()):
        resources[f"database/{name}"] = snowflake.Database(
            f"database-{name.lower()}",
            name=db.name,
            data_retention_time_in_days=db.retention_days,
            comment=db.comment or None,
        )
    return resources


def _size(value: Any) -> Any:
    normalized = normalize_size(str(value).replace("-", "")) if value else value
    return normalized if normalized in SIZES else value


class SnowflakeProgram(Program[SnowflakeSpec]):
    """snowflake.warehouse.{create,scale,set_auto_suspend,drop}, snowflake.database.{create,drop}."""

    name: ClassVar[str] = "snowflake"
    platform: ClassVar[str] = "snowflake"
    spec_model = SnowflakeSpec
    handles: ClassVar[frozenset[str]] = frozenset({
        "snowflake.warehouse.create", "snowflake.warehouse.scale", "snowflake.warehouse.set_auto_suspend",
        "snowflake.warehouse.drop", "snowflake.database.create", "snowflake.database.drop",
    })
    creates: ClassVar[frozenset[str]] = frozenset({"snowflake.warehouse.create", "snowflake.database.create"})
    secret_env: ClassVar[Mapping[str, tuple[str, str]]] = {"SNOWFLAKE_TOKEN": ("snowflake", "TOKEN")}
    plugins: ClassVar[tuple[str, ...]] = ("snowflake",)

    def build(self, spec: SnowflakeSpec, ctx: ProgramContext) -> dict[str, Any]:
        return dict(snowflake_program(spec))

    def exports(self, spec: SnowflakeSpec, resources: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, res in resources.items():
            if key.startswith("warehouse/"):
                out[key] = pulumi.Output.all(res.name, res.warehouse_size, res.auto_suspend).apply(
                    lambda v: {"name": v[0], "size": _size(v[1]), "auto_suspend_seconds": v[2]}
                )
            else:
                out[key] = pulumi.Output.all(res.name, res.data_retention_time_in_days).apply(
                    lambda v: {"name": v[0], "retention_days": v[1]}
                )
        return out

    def describe(self, spec: SnowflakeSpec) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, wh in spec.warehouses.items():
            out[f"warehouse/{name}"] = {"name": wh.name, "size": wh.size, "auto_suspend_seconds": wh.auto_suspend_seconds}
        for name, db in spec.databases.items():
            out[f"database/{name}"] = {"name": db.name, "retention_days": db.retention_days}
        return out

    def key(self, call: ActionCall) -> str:
        resource = call.action.split(".")[1]
        return f"{resource}/{_ident(call.target)}"

    def transition(self, spec: SnowflakeSpec, call: ActionCall) -> Transition[SnowflakeSpec]:
        name, p, verb = _ident(call.target), call.params, call.action.rsplit(".", 1)[-1]
        warehouses, databases = dict(spec.warehouses), dict(spec.databases)
        if call.action.startswith("snowflake.warehouse."):
            if verb == "create":
                warehouses[name] = WarehouseSpec(name=name, size=p.get("size", "XSMALL"),
                                                 auto_suspend_seconds=p.get("auto_suspend_seconds", 600))
            elif verb == "drop":
                warehouses.pop(name, None)
            else:
                current = warehouses[name]
                change = {"size": p["size"]} if verb == "scale" else {"auto_suspend_seconds": p["seconds"]}
                warehouses[name] = current.model_copy(update=change)
        elif verb == "create":
            databases[name] = DatabaseSpec(name=name)
        else:
            databases.pop(name, None)
        return Transition(SnowflakeSpec(warehouses=warehouses, databases=databases))


PROGRAM = SnowflakeProgram()

"""Warehouses and databases over the REST API (``/api/v2/warehouses``, ``/api/v2/databases``)."""

from __future__ import annotations

from typing import Any

from adapters.base import State
from adapters.catalog import ActionCall
from adapters.http import api_path
from adapters.specs.snowflake import normalize_size
from orchestrator.errors import NotFoundError

from .base import SnowflakeBase
from .names import identifier

__all__ = ["STRING_FLAGS", "WarehouseMixin", "database_state", "warehouse_state"]

#: Fields the warehouse API reports but does not accept back on PUT.
_WAREHOUSE_READ_ONLY = frozenset(
    {
        "state",
        "started_clusters",
        "running",
        "queued",
        "is_default",
        "is_current",
        "available",
        "provisioning",
        "quiescing",
        "other",
        "created_on",
        "resumed_on",
        "updated_on",
        "owner",
        "budget",
        "kind",
        "owner_role_type",
        "type",
        "size",
        # options of a single CREATE/ALTER, not properties to carry forward
        "wait_for_completion",
        "initially_suspended",
    }
)
#: Typed ``string`` in the contract (values "true"/"false"), with their Snowflake defaults.
STRING_FLAGS: dict[str, bool] = {"auto_resume": True, "enable_query_acceleration": False}
_SUSPENDED_STATES = frozenset({"SUSPENDED", "SUSPENDING"})


def _wh(name: str, rest: str = "") -> str:
    """``/api/v2/warehouses/{name}`` (+ a literal ``rest``), the identifier one checked segment."""
    return api_path("/api/v2/warehouses/{name}" + rest, name=name)


def _db(name: str) -> str:
    """``/api/v2/databases/{name}``, the identifier one checked segment."""
    return api_path("/api/v2/databases/{name}", name=name)


def warehouse_state(raw: dict[str, Any]) -> dict[str, Any]:
    """A warehouse as the catalog records it."""
    state = str(raw.get("state") or "").upper()
    return {
        "name": raw.get("name"),
        "size": normalize_size(raw.get("warehouse_size") or raw.get("size")),
        "state": "SUSPENDED" if state in _SUSPENDED_STATES else "STARTED",
        "auto_suspend_seconds": raw.get("auto_suspend"),
    }


def database_state(raw: dict[str, Any]) -> dict[str, Any]:
    """A database as the catalog records it."""
    retention = raw.get("data_retention_time_in_days", raw.get("retention_time"))
    return {"name": raw.get("name"), "retention_days": retention}


class WarehouseMixin(SnowflakeBase):
    """Warehouse and database actions."""

    async def observe_warehouse(self, call: ActionCall) -> State:
        """``{"name", "size", "state", "auto_suspend_seconds"}`` or None."""
        raw = await self._warehouse(call.action, identifier(call.target, "warehouse"))
        return warehouse_state(raw) if raw is not None else None

    async def _warehouse(self, action: str, name: str) -> dict[str, Any] | None:
        reply = await self.http.request("GET", _wh(name), action=action, target=name, not_found_ok=True)
        return reply.data if reply.status != 404 else None

    async def observe_database(self, call: ActionCall) -> State:
        """``{"name", "retention_days"}`` or None."""
        name = identifier(call.target, "database")
        reply = await self.http.request("GET", _db(name), action=call.action, target=name, not_found_ok=True)
        return database_state(reply.data) if reply.status != 404 else None

    async def do_warehouse_create(self, call: ActionCall, before: State) -> State:
        name = identifier(call.target, "warehouse")
        body = {
            "name": name,
            "warehouse_size": call.params["size"],
            "auto_suspend": call.params["auto_suspend_seconds"],
        }
        await self.http.request(
            "POST",
            "/api/v2/warehouses",
            action=call.action,
            target=name,
            json=body,
            params={"createMode": "errorIfExists"},
        )
        return await self.observe_warehouse(call)

    async def _alter_warehouse(self, call: ActionCall, **changes: Any) -> State:
        name = identifier(call.target, "warehouse")
        raw = await self._warehouse(call.action, name)
        if raw is None:
            raise NotFoundError(
                f"snowflake: warehouse {name} not found ({call.action})",
                hint="check the name; `sophia-iac status snowflake` lists what exists",
            )
        body = {k: v for k, v in raw.items() if k not in _WAREHOUSE_READ_ONLY and v is not None}
        for flag, default in STRING_FLAGS.items():
            if flag in body:
                value = str(body.pop(flag)).strip().lower() == "true"
                if value != default:  # omitted = reset to default, which it already is
                    body[flag] = "true" if value else "false"
        body.update(name=name, **changes)
        await self.http.request("PUT", _wh(name), action=call.action, target=name, json=body)
        return await self.observe_warehouse(call)

    async def do_warehouse_scale(self, call: ActionCall, before: State) -> State:
        return await self._alter_warehouse(call, warehouse_size=call.params["size"])

    async def do_warehouse_set_auto_suspend(self, call: ActionCall, before: State) -> State:
        return await self._alter_warehouse(call, auto_suspend=call.params["seconds"])

    async def do_warehouse_suspend(self, call: ActionCall, before: State) -> State:
        name = identifier(call.target, "warehouse")
        await self.http.request("POST", _wh(name, ":suspend"), action=call.action, target=name)
        return await self.observe_warehouse(call)

    async def do_warehouse_resume(self, call: ActionCall, before: State) -> State:
        name = identifier(call.target, "warehouse")
        await self.http.request("POST", _wh(name, ":resume"), action=call.action, target=name)
        return await self.observe_warehouse(call)

    async def do_warehouse_drop(self, call: ActionCall, before: State) -> State:
        name = identifier(call.target, "warehouse")
        await self.http.request("DELETE", _wh(name), action=call.action, target=name)
        return await self.observe_warehouse(call)

    async def do_database_create(self, call: ActionCall, before: State) -> State:
        name = identifier(call.target, "database")
        await self.http.request(
            "POST",
            "/api/v2/databases",
            action=call.action,
            target=name,
            json={"name": name},
            params={"createMode": "errorIfExists"},
        )
        return await self.observe_database(call)

    async def do_database_drop(self, call: ActionCall, before: State) -> State:
        name = identifier(call.target, "database")
        await self.http.request("DELETE", _db(name), action=call.action, target=name)
        return await self.observe_database(call)

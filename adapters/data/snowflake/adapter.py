"""The Snowflake adapter class: the parts composed, predictions and status."""

from __future__ import annotations

from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall
from orchestrator.errors import NotFoundError, SophiaError, ValidationFailedError

from .access import AccessMixin
from .monitors import MonitorMixin
from .names import identifier, schema_parts, strict_name
from .schemas import SchemaMixin
from .warehouses import WarehouseMixin, database_state, warehouse_state

__all__ = ["SnowflakeAdapter"]

_CREATES = frozenset({"create", "undrop"})


def _display_name(call: ActionCall, resource: str) -> str:
    if resource == "schema":
        return ".".join(schema_parts(call.target))
    if resource in ("user", "resource_monitor"):
        return strict_name(call.target, resource.replace("_", " "))
    return identifier(call.target, "user" if resource == "role" else resource)


class SnowflakeAdapter(WarehouseMixin, SchemaMixin, AccessMixin, MonitorMixin):
    """Snowflake warehouses, databases, schemas, role grants, users and resource monitors."""

    def predict(self, call: ActionCall, before: State) -> State:
        """The state after ``call``; raises when it can't apply (missing or existing target)."""
        spec = self.spec(call.action)
        verb, resource = spec.verb, spec.resource
        name = _display_name(call, resource)
        noun = {"role": "user", "resource_monitor": "resource monitor"}.get(resource, resource)
        if verb in _CREATES:
            if before is not None:
                raise ValidationFailedError(
                    f"snowflake {noun} {name} already exists",
                    hint=f"pick another name or change {name} instead"
                    if verb == "create"
                    else f"UNDROP needs the name free: rename or drop the {noun} that holds it first",
                )
            return self._created(call, resource, name)
        if before is None:
            raise NotFoundError(
                f"snowflake: {noun} {name} not found ({call.action})",
                hint="check the name; `sophia-iac status snowflake` lists what exists",
            )
        if verb == "drop":
            return None
        after = dict(before)
        if verb == "scale":
            after["size"] = call.params["size"]
        elif verb == "suspend":
            after["state"] = "SUSPENDED"
        elif verb == "resume":
            after["state"] = "STARTED"
        elif verb == "set_auto_suspend":
            after["auto_suspend_seconds"] = call.params["seconds"]
        elif verb == "grant":
            after["roles"] = sorted(set(before["roles"]) | {call.params["role"]})
        elif verb == "revoke":
            after["roles"] = sorted(set(before["roles"]) - {call.params["role"]})
        elif verb in ("disable", "enable"):
            after["disabled"] = verb == "disable"
        elif verb == "set_quota":
            after["credit_quota"] = call.params["credit_quota"]
        return after

    @staticmethod
    def _created(call: ActionCall, resource: str, name: str) -> dict[str, object]:
        params = call.params
        if resource == "warehouse":
            return {
                "name": name,
                "size": params["size"],
                "state": "STARTED",
                "auto_suspend_seconds": params["auto_suspend_seconds"],
            }
        if resource == "schema":
            database, schema = name.split(".", 1)
            return {"name": name, "database": database, "schema": schema}
        if resource == "user":
            return {
                "name": name,
                "disabled": False,
                "email": params.get("email"),
                "default_role": params.get("default_role"),
            }
        if resource == "resource_monitor":
            warehouse = params.get("warehouse")
            return {
                "name": name,
                "credit_quota": params["credit_quota"],
                "frequency": params["frequency"],
                "suspend_at": 100,
                "warehouses": [warehouse] if warehouse else [],
            }
        return {"name": name}

    async def get_status(self) -> PlatformStatus:
        """Health (both listing calls answer) and the warehouse and database inventory."""
        try:
            warehouses = await self.http.request("GET", "/api/v2/warehouses", action="snowflake.status")
            databases = await self.http.request("GET", "/api/v2/databases", action="snowflake.status")
        except SophiaError as exc:
            return self.failed_status(exc)
        inventory = {
            "warehouse": [warehouse_state(w) for w in warehouses.data or [] if isinstance(w, dict)],
            "database": [database_state(d) for d in databases.data or [] if isinstance(d, dict)],
        }
        counts = ", ".join(f"{len(v)} {k}s" for k, v in inventory.items())
        return PlatformStatus(
            "snowflake",
            healthy=True,
            message=f"reachable; {counts}",
            inventory=inventory,
            details={"circuit": self.http.breaker.snapshot(), "base_url": self.http.base_url},
        )

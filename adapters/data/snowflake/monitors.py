"""Resource monitors over the SQL API; which warehouses they cap, from the warehouse REST API.

* ``create``: ``CREATE RESOURCE MONITOR "M" WITH CREDIT_QUOTA = 200 FREQUENCY = MONTHLY
  START_TIMESTAMP = IMMEDIATELY TRIGGERS ON 100 PERCENT DO SUSPEND``, then, with a warehouse,
  ``ALTER WAREHOUSE "WH" SET RESOURCE_MONITOR = "M"``. A warehouse that already has another
  monitor is refused while planning (attaching would silently replace that monitor, and undoing
  the create would leave the warehouse with none): change that monitor's quota instead;
* ``set_quota``: ``ALTER RESOURCE MONITOR "M" SET CREDIT_QUOTA = 300``;
* ``drop``: ``DROP RESOURCE MONITOR "M"``;
* read back with ``SHOW RESOURCE MONITORS LIKE ?`` (the name bound; rows filtered to an exact
  match, since ``_`` is a LIKE wildcard) and ``GET /api/v2/warehouses`` for the warehouses whose
  ``resource_monitor`` is this one.

The quota and trigger percentage are integers the params model validated, written with
``%d``; the frequency is one of five keywords; names are strict and double-quoted. No text from
a command reaches a statement except through a bind variable or a quoted strict name.
"""

from __future__ import annotations

from typing import Any

from adapters.base import State
from adapters.catalog import ActionCall
from orchestrator.errors import NotFoundError, ValidationFailedError

from .base import READ_ONLY_STATEMENTS, SnowflakeBase
from .names import quoted, strict_name

__all__ = ["MonitorMixin", "credits"]

#: One constant statement per frequency keyword (the params model allows only these five): the
#: monitor's name and quota are bind variables, so no text from a command is ever in the SQL.
_CREATE_MONITOR = {
    frequency: f"CREATE RESOURCE MONITOR IDENTIFIER(?) WITH CREDIT_QUOTA = ? FREQUENCY = {frequency}"
    " START_TIMESTAMP = IMMEDIATELY TRIGGERS ON 100 PERCENT DO SUSPEND"
    for frequency in ("MONTHLY", "DAILY", "WEEKLY", "YEARLY", "NEVER")
}


def credits(value: Any) -> int | float | None:
    """``"200.00"`` → 200; None/``"null"`` → None (Snowflake reports quotas as decimals)."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _monitor_of(raw: dict[str, Any]) -> str | None:
    text = str(raw.get("resource_monitor") or "").strip().strip('"')
    return None if text.lower() in ("", "null", "none") else text


class MonitorMixin(SnowflakeBase):
    """Resource monitor actions."""

    async def _warehouses(self, action: str) -> list[dict[str, Any]]:
        reply = await self.http.request("GET", "/api/v2/warehouses", action=action)
        return [w for w in reply.data or [] if isinstance(w, dict)]

    async def observe_resource_monitor(self, call: ActionCall) -> State:
        """``{"name", "credit_quota", "frequency", "suspend_at", "warehouses"}`` or None.

        For a create naming a warehouse, also refuses (before anything is sent) a warehouse
        that does not exist or already has another monitor.
        """
        name = strict_name(call.target, "resource monitor")
        result = await self._sql(READ_ONLY_STATEMENTS[1], [name], action=call.action, target=name)
        rows = [r for r in self._rows(result) if str(r.get("name")) == name]
        warehouses = await self._warehouses(call.action)
        wanted = self.checked(call).get("warehouse") if call.action.endswith(".create") else None
        if wanted:
            found = [w for w in warehouses if str(w.get("name")) == wanted]
            if not found:
                raise NotFoundError(
                    f"snowflake: warehouse {wanted} not found ({call.action})",
                    hint="check the name; `sophia-iac status snowflake` lists what exists",
                )
            other = _monitor_of(found[0])
            if other not in (None, name):
                raise ValidationFailedError(
                    f"snowflake warehouse {wanted} already has resource monitor {other}; attaching {name}"
                    f" would replace it",
                    hint=f"change that monitor instead: set the quota of resource monitor {other} to "
                    f"{call.params.get('credit_quota')} credits",
                    details={"field": "warehouse", "monitor": other},
                )
        if not rows:
            return None
        row = rows[0]
        return {
            "name": name,
            "credit_quota": credits(row.get("credit_quota")),
            "frequency": str(row.get("frequency") or "").upper() or None,
            "suspend_at": credits(str(row.get("suspend_at") or "").rstrip("%")),
            "warehouses": sorted(str(w.get("name")) for w in warehouses if _monitor_of(w) == name),
        }

    async def do_resource_monitor_create(self, call: ActionCall, before: State) -> State:
        name = quoted(call.target, "resource monitor")
        params = self.checked(call)  # frequency: one of the model's five keywords; quota: an int
        await self._sql(
            _CREATE_MONITOR[params["frequency"]],
            [name, int(params["credit_quota"])],
            action=call.action,
            target=call.target,
        )
        if params.get("warehouse"):
            await self._sql(
                "ALTER WAREHOUSE IDENTIFIER(?) SET RESOURCE_MONITOR = IDENTIFIER(?)",
                [quoted(params["warehouse"], "warehouse"), name],
                action=call.action,
                target=call.target,
            )
        return await self.observe_resource_monitor(call)

    async def do_resource_monitor_set_quota(self, call: ActionCall, before: State) -> State:
        name = quoted(call.target, "resource monitor")
        await self._sql(
            "ALTER RESOURCE MONITOR IDENTIFIER(?) SET CREDIT_QUOTA = ?",
            [name, int(self.checked(call)["credit_quota"])],
            action=call.action,
            target=call.target,
        )
        return await self.observe_resource_monitor(call)

    async def do_resource_monitor_drop(self, call: ActionCall, before: State) -> State:
        name = quoted(call.target, "resource monitor")
        await self._sql("DROP RESOURCE MONITOR IDENTIFIER(?)", [name], action=call.action, target=call.target)
        return await self.observe_resource_monitor(call)

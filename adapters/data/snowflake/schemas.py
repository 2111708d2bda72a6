"""Schemas over the REST schema API (``/api/v2/databases/{database}/schemas``).

``create`` is ``POST …/schemas?createMode=errorIfExists``; ``drop`` is ``DELETE …/{name}``
(no ``ifExists``: a missing schema is a 404, not a silent success); ``undrop`` is ``POST
…/{name}:undrop`` after ``GET …/schemas?history=true&like=NAME`` has shown a dropped version
still held (``dropped_on`` set). The target is ``DATABASE.SCHEMA``; both parts are strict
names (:func:`~adapters.data.snowflake.names.schema_parts`), each sent as one checked segment.

UNDROP works only within the schema's Time Travel retention (``retention_time`` /
``DATA_RETENTION_TIME_IN_DAYS``, 0 = dropped for good at once) and only while no schema of that
name exists; when the name was reused and dropped again, Snowflake restores the *most recent*
dropped version, which may not be the one a given drop removed.
"""

from __future__ import annotations

from typing import Any

from adapters.base import State
from adapters.catalog import ActionCall
from adapters.http import api_path
from orchestrator.errors import NotFoundError

from .base import SnowflakeBase
from .names import rest_name, schema_parts

__all__ = ["SchemaMixin", "schema_state"]


def _path(database: str, schema: str | None = None, rest: str = "") -> str:
    if schema is None:
        return api_path("/api/v2/databases/{database}/schemas", database=rest_name(database))
    return api_path(
        "/api/v2/databases/{database}/schemas/{name}" + rest,
        database=rest_name(database),
        name=rest_name(schema),
    )


def schema_state(database: str, raw: dict[str, Any]) -> dict[str, Any]:
    """A schema as the catalog records it."""
    schema = str(raw.get("name") or "")
    retention = raw.get("data_retention_time_in_days", raw.get("retention_time"))
    return {
        "name": f"{database}.{schema}",
        "database": database,
        "schema": schema,
        "retention_days": retention,
    }


class SchemaMixin(SnowflakeBase):
    """Schema actions."""

    async def observe_schema(self, call: ActionCall) -> State:
        """``{"name", "database", "schema", "retention_days"}`` or None."""
        database, schema = schema_parts(call.target)
        reply = await self.http.request(
            "GET", _path(database, schema), action=call.action, target=call.target, not_found_ok=True
        )
        if reply.status == 404 or not isinstance(reply.data, dict):
            return None
        return schema_state(database, {**reply.data, "name": schema})

    async def do_schema_create(self, call: ActionCall, before: State) -> State:
        database, schema = schema_parts(call.target)
        await self.http.request(
            "POST",
            _path(database),
            action=call.action,
            target=call.target,
            json={"name": rest_name(schema)},
            params={"createMode": "errorIfExists"},
        )
        return await self.observe_schema(call)

    async def do_schema_drop(self, call: ActionCall, before: State) -> State:
        database, schema = schema_parts(call.target)
        await self.http.request("DELETE", _path(database, schema), action=call.action, target=call.target)
        return await self.observe_schema(call)

    async def do_schema_undrop(self, call: ActionCall, before: State) -> State:
        database, schema = schema_parts(call.target)
        listed = await self.http.request(
            "GET",
            _path(database),
            action=call.action,
            target=call.target,
            params={"history": "true", "like": schema},
        )
        dropped = [
            s
            for s in listed.data or []
            if isinstance(s, dict) and str(s.get("name")) == schema and s.get("dropped_on")
        ]
        if not dropped:
            raise NotFoundError(
                f"snowflake: no dropped schema {database}.{schema} is held any more ({call.action})",
                hint="UNDROP works only within the schema's Time Travel retention period; restore from a backup",
                details={"platform": "snowflake", "action": call.action, "target": call.target},
            )
        await self.http.request(
            "POST", _path(database, schema, ":undrop"), action=call.action, target=call.target
        )
        return await self.observe_schema(call)

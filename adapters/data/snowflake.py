"""Snowflake adapter: warehouses and databases over the REST APIs, role grants over the SQL API.

Configuration (never secrets in settings): ``SOPHIA_SNOWFLAKE_ACCOUNT`` (the account
identifier, ``orgname-account``) or ``SOPHIA_SNOWFLAKE_BASE_URL`` (any API root, down to a
local contract server); the token in ``SOPHIA_SNOWFLAKE_TOKEN`` (or ``…_TOKEN_FILE``) with its
type in ``SOPHIA_SNOWFLAKE_TOKEN_TYPE``; optionally ``SOPHIA_SNOWFLAKE_ROLE`` for the role the
SQL statements run as (grants usually need SECURITYADMIN).

How each action is carried out:

* warehouses: ``GET/POST/PUT/DELETE /api/v2/warehouses[/{name}]`` and
  ``POST /api/v2/warehouses/{name}:suspend|:resume``. Resizing and changing auto-suspend use
  ``PUT`` (create-or-alter), which wants the *full* property set: the adapter reads the
  warehouse, drops the read-only fields and sends everything back with the one field changed.
* databases: ``GET/POST/DELETE /api/v2/databases[/{name}]``.
* role grants: ``POST /api/v2/statements`` with ``GRANT ROLE IDENTIFIER(?) TO USER
  IDENTIFIER(?)`` and the names as bind variables — never SQL built from strings — and a
  fresh UUID ``requestId`` per logical statement, resent with ``retry=true`` on retries so a
  statement is never run twice. A 202 (still running) is polled at ``/statements/{handle}``.
  The before/after state comes from ``SHOW GRANTS TO USER IDENTIFIER(?)``.

Where the published contract differs from the live API (a contract test can't see these):

* The contract accepts any statement text; only the live service knows whether
  ``IDENTIFIER(?)`` is accepted in ``GRANT ROLE``/``SHOW GRANTS`` (Snowflake documents
  IDENTIFIER with bind variables for object names). Prism answers every statement with its
  canned customer table, so role read-backs in contract tests see no ``role`` column.
* ``Warehouse.auto_resume``/``enable_query_acceleration`` are typed ``string`` with
  ``enum: [true, false]`` written unquoted in the YAML, so the enum holds booleans and no
  value satisfies both (Prism flags ``"true"`` as an enum violation and ``true`` as a type
  violation). The full-property ``PUT`` omits a flag that has its Snowflake default (omitted
  properties are reset to their defaults, so nothing changes) and sends a non-default one
  as the string ``"true"``/``"false"``, which only that unsatisfiable enum rejects. The
  per-call options ``wait_for_completion``/``initially_suspended`` are not echoed.
* The live API reports sizes both as ``XSMALL`` and as ``X-Small``; both normalise to the
  catalog's ``XSMALL`` form. ``state`` has transitional values (RESIZING, RESUMING,
  SUSPENDING…); they map to STARTED or SUSPENDED.
* Dry runs send no mutating request; observing role grants is a read-only ``SHOW``
  statement, which the SQL API takes as a POST.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.http import HttpAdapter, api_path
from adapters.specs.snowflake import ACTIONS, normalize_size
from orchestrator.errors import AdapterError, NotFoundError, SophiaError, ValidationFailedError

__all__ = ["READ_ONLY_STATEMENTS", "STRING_FLAGS", "SnowflakeAdapter", "identifier"]

_UNQUOTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")
_QUOTED = re.compile(r'^"([^"]|"")+"$')

#: Statements observe paths send; a dry run sends nothing else over the SQL API.
READ_ONLY_STATEMENTS = ("SHOW GRANTS TO USER IDENTIFIER(?)",)

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
_POLL_LIMIT = 30


def identifier(name: str | None, what: str = "name") -> str:
    """A Snowflake identifier: unquoted names upper-cased (as Snowflake resolves them),
    anything else double-quoted with inner quotes doubled.

    Raises:
        ValidationFailedError: for an empty name.
    """
    text = (name or "").strip()
    if not text:
        raise ValidationFailedError(f"snowflake {what} is required", hint=f"name the {what}")
    if _QUOTED.match(text):
        return text
    if _UNQUOTED.match(text):
        return text.upper()
    return '"' + text.replace('"', '""') + '"'


def _wh(name: str, rest: str = "") -> str:
    """``/api/v2/warehouses/{name}`` (+ a literal ``rest``), the identifier one checked segment."""
    return api_path("/api/v2/warehouses/{name}" + rest, name=name)


def _db(name: str) -> str:
    """``/api/v2/databases/{name}``, the identifier one checked segment."""
    return api_path("/api/v2/databases/{name}", name=name)


def _warehouse_state(raw: dict[str, Any]) -> dict[str, Any]:
    state = str(raw.get("state") or "").upper()
    return {
        "name": raw.get("name"),
        "size": normalize_size(raw.get("warehouse_size") or raw.get("size")),
        "state": "SUSPENDED" if state in _SUSPENDED_STATES else "STARTED",
        "auto_suspend_seconds": raw.get("auto_suspend"),
    }


def _database_state(raw: dict[str, Any]) -> dict[str, Any]:
    retention = raw.get("data_retention_time_in_days", raw.get("retention_time"))
    return {"name": raw.get("name"), "retention_days": retention}


class SnowflakeAdapter(HttpAdapter):
    """Snowflake warehouses, databases and role grants."""

    name: ClassVar[str] = "snowflake"
    display_name: ClassVar[str] = "Snowflake"
    stack: ClassVar[Stack] = Stack.DATA
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("warehouse", "database", "role")
    content_on_delete: ClassVar[Mapping[str, str]] = {"database": "its schemas, tables and data are not restored"}
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    api_base_url_hint: ClassVar[str] = "SOPHIA_SNOWFLAKE_ACCOUNT to the account identifier"
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    # -- plumbing --------------------------------------------------------------------------

    def default_base_url(self) -> str | None:
        """``https://<SOPHIA_SNOWFLAKE_ACCOUNT>.snowflakecomputing.com`` (None without an account)."""
        account = os.environ.get("SOPHIA_SNOWFLAKE_ACCOUNT", "").strip()
        return f"https://{account}.snowflakecomputing.com" if account else None

    async def _sql(
        self, statement: str, binds: Sequence[str], *, action: str, target: str | None
    ) -> dict[str, Any]:
        """Run one statement with TEXT bind variables; poll while it is still running."""
        body: dict[str, Any] = {
            "statement": statement,
            "bindings": {str(i): {"type": "TEXT", "value": value} for i, value in enumerate(binds, 1)},
            "timeout": 60,
        }
        role = os.environ.get("SOPHIA_SNOWFLAKE_ROLE", "").strip()
        if role:
            body["role"] = role
        reply = await self.http.request(
            "POST",
            "/api/v2/statements",
            action=action,
            target=target,
            json=body,
            idempotency_key=str(uuid.uuid4()),
        )
        polls = 0
        while reply.status == 202:
            handle = (reply.data or {}).get("statementHandle")
            if not handle or polls >= _POLL_LIMIT:
                raise AdapterError(
                    f"snowflake statement for {action} did not finish in time",
                    hint="check the query history in Snowflake before retrying",
                    details={"platform": "snowflake", "action": action, "statement_handle": handle},
                )
            polls += 1
            await self.pause(min(1.0 * polls, 5.0))
            reply = await self.http.request(
                "GET",
                api_path("/api/v2/statements/{statementHandle}", statementHandle=handle),
                action=action,
                target=target,
            )
        return reply.data or {}

    @staticmethod
    def _column(result: dict[str, Any], name: str) -> list[Any]:
        row_type = (result.get("resultSetMetaData") or {}).get("rowType") or []
        names = [str(col.get("name", "")).lower() for col in row_type]
        if name not in names:
            return []
        index = names.index(name)
        return [row[index] for row in result.get("data") or [] if isinstance(row, list) and len(row) > index]

    # -- observe ---------------------------------------------------------------------------

    async def observe_warehouse(self, call: ActionCall) -> State:
        """``{"name", "size", "state", "auto_suspend_seconds"}`` or None."""
        raw = await self._warehouse(call.action, identifier(call.target, "warehouse"))
        return _warehouse_state(raw) if raw is not None else None

    async def _warehouse(self, action: str, name: str) -> dict[str, Any] | None:
        reply = await self.http.request(
            "GET", _wh(name), action=action, target=name, not_found_ok=True
        )
        return reply.data if reply.status != 404 else None

    async def observe_database(self, call: ActionCall) -> State:
        """``{"name", "retention_days"}`` or None."""
        name = identifier(call.target, "database")
        reply = await self.http.request(
            "GET", _db(name), action=call.action, target=name, not_found_ok=True
        )
        return _database_state(reply.data) if reply.status != 404 else None

    async def observe_role(self, call: ActionCall) -> State:
        """``{"user", "roles"}`` (the roles granted to the user) or None if no such user."""
        user = identifier(call.target, "user")
        try:
            result = await self._sql(READ_ONLY_STATEMENTS[0], [user], action=call.action, target=user)
        except AdapterError as exc:
            if exc.details.get("vendor_code") == "002003":  # object does not exist
                return None
            raise
        roles = sorted({str(r).upper() for r in self._column(result, "role")})
        return {"user": user, "roles": roles}

    # -- predict ---------------------------------------------------------------------------

    def predict(self, call: ActionCall, before: State) -> State:
        """The state after ``call``; raises when it can't apply (missing or existing target)."""
        verb = call.action.rsplit(".", 1)[-1]
        resource = call.action.split(".")[1]
        name = identifier(call.target, "user" if resource == "role" else resource)
        if verb == "create":
            if before is not None:
                raise ValidationFailedError(
                    f"snowflake {resource} {name} already exists",
                    hint=f"pick another name or change {name} instead",
                )
            if resource == "warehouse":
                return {
                    "name": name,
                    "size": call.params["size"],
                    "state": "STARTED",
                    "auto_suspend_seconds": call.params["auto_suspend_seconds"],
                }
            return {"name": name}
        if before is None:
            raise NotFoundError(
                f"snowflake: {resource if resource != 'role' else 'user'} {name} not found ({call.action})",
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
        return after

    # -- warehouses ------------------------------------------------------------------------

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
        await self.http.request(
            "PUT", _wh(name), action=call.action, target=name, json=body
        )
        return await self.observe_warehouse(call)

    async def do_warehouse_scale(self, call: ActionCall, before: State) -> State:
        return await self._alter_warehouse(call, warehouse_size=call.params["size"])

    async def do_warehouse_set_auto_suspend(self, call: ActionCall, before: State) -> State:
        return await self._alter_warehouse(call, auto_suspend=call.params["seconds"])

    async def do_warehouse_suspend(self, call: ActionCall, before: State) -> State:
        name = identifier(call.target, "warehouse")
        await self.http.request(
            "POST", _wh(name, ":suspend"), action=call.action, target=name
        )
        return await self.observe_warehouse(call)

    async def do_warehouse_resume(self, call: ActionCall, before: State) -> State:
        name = identifier(call.target, "warehouse")
        await self.http.request(
            "POST", _wh(name, ":resume"), action=call.action, target=name
        )
        return await self.observe_warehouse(call)

    async def do_warehouse_drop(self, call: ActionCall, before: State) -> State:
        name = identifier(call.target, "warehouse")
        await self.http.request("DELETE", _wh(name), action=call.action, target=name)
        return await self.observe_warehouse(call)

    # -- databases -------------------------------------------------------------------------

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

    # -- role grants -----------------------------------------------------------------------

    async def do_role_grant(self, call: ActionCall, before: State) -> State:
        user = identifier(call.target, "user")
        await self._sql(
            "GRANT ROLE IDENTIFIER(?) TO USER IDENTIFIER(?)",
            [call.params["role"], user],
            action=call.action,
            target=user,
        )
        return await self.observe_role(call)

    async def do_role_revoke(self, call: ActionCall, before: State) -> State:
        user = identifier(call.target, "user")
        await self._sql(
            "REVOKE ROLE IDENTIFIER(?) FROM USER IDENTIFIER(?)",
            [call.params["role"], user],
            action=call.action,
            target=user,
        )
        return await self.observe_role(call)

    # -- status ----------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Health (both listing calls answer) and the warehouse and database inventory."""
        try:
            warehouses = await self.http.request("GET", "/api/v2/warehouses", action="snowflake.status")
            databases = await self.http.request("GET", "/api/v2/databases", action="snowflake.status")
        except SophiaError as exc:
            return self.failed_status(exc)
        inventory = {
            "warehouse": [_warehouse_state(w) for w in warehouses.data or [] if isinstance(w, dict)],
            "database": [_database_state(d) for d in databases.data or [] if isinstance(d, dict)],
        }
        counts = ", ".join(f"{len(v)} {k}s" for k, v in inventory.items())
        return PlatformStatus(
            "snowflake",
            healthy=True,
            message=f"reachable; {counts}",
            inventory=inventory,
            details={"circuit": self.http.breaker.snapshot(), "base_url": self.http.base_url},
        )

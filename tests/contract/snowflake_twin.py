"""The Snowflake twin grown to schemas, users and resource monitors, and the routing they need.

Same contract as :class:`~tests.contract.twins.SnowflakeTwin` (Prism serves and checks every
request; this model only picks declared answers and fills values in). It is a stand-in for a
live account, and says so where it decides something Snowflake would:

* SQL is matched against the exact statements the adapter is meant to send; anything else is
  answered 422 (a compilation error), so a statement built wrongly fails the test;
* a resubmission with ``retry=true`` and a ``requestId`` already applied is answered without
  applying it again (what Snowflake documents for ``requestId``);
* a dropped schema stays undroppable as long as ``retention_days`` says (the model never lets
  time pass: it can't show a retention window running out, only one of 0 days).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from .prism import RecordingTransport
from .twins import SnowflakeTwin, _template

__all__ = ["SCHEMA_ROUTE", "SnowflakeDeepTwin", "SnowflakeRouting"]

SCHEMA_ROUTE = re.compile(r"^/api/v2/databases/[^/]+/schemas")
_NAME = r'"((?:[^"]|"")+)"'
_MONITOR_COLUMNS = (
    "name",
    "credit_quota",
    "used_credits",
    "remaining_credits",
    "level",
    "frequency",
    "start_time",
    "end_time",
    "notify_at",
    "suspend_at",
    "suspend_immediately_at",
    "created_on",
    "owner",
    "comment",
    "notify_users",
)


class SnowflakeRouting(RecordingTransport):
    """Routes ``/api/v2/databases/{db}/schemas…`` to the schema API's server (prefix routes
    can't tell it from ``/api/v2/databases/{db}``); everything else as :class:`RecordingTransport`."""

    schema_base: str = ""

    def _route(self, request: httpx.Request) -> httpx.Request:
        if self.schema_base and SCHEMA_ROUTE.match(request.url.path):
            target = httpx.URL(self.schema_base)
            request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
            request.headers["host"] = f"{target.host}:{target.port}"
            return request
        return super()._route(request)


def _unquote(name: str) -> str:
    return name.replace('""', '"')


def _bound(value: str) -> str:
    """An identifier passed as a bind variable for ``IDENTIFIER(?)``: ``"JDOE"`` → ``JDOE``."""
    match = re.fullmatch(_NAME, value)
    assert match, f"IDENTIFIER(?) got {value!r}: sophia always binds a double-quoted name"
    return _unquote(match.group(1))


def _result(body: Any, columns: tuple[str, ...], rows: list[list[Any]]) -> Any:
    meta = {
        **(body.get("resultSetMetaData") or {}),
        "numRows": len(rows),
        "rowType": [{"name": c, "type": "TEXT", "nullable": True} for c in columns],
    }
    return {
        **body,
        "resultSetMetaData": meta,
        "data": [[None if v is None else str(v) for v in r] for r in rows],
    }


class SnowflakeDeepTwin(SnowflakeTwin):
    """Warehouses, databases, grants, plus schemas, users and resource monitors."""

    def __init__(self) -> None:
        super().__init__()
        self.schemas: dict[tuple[str, str], dict[str, Any]] = {("ANALYTICS", "PUBLIC"): {"retention": 1}}
        self.dropped: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.users: dict[str, dict[str, Any]] = {
            "JSMITH": {"disabled": False, "email": "jsmith@example.com", "default_role": "ANALYST"}
        }
        self.monitors: dict[str, dict[str, Any]] = {}
        self.applied_requests: set[str] = set()
        self.statements: list[str] = []

    # -- routing ---------------------------------------------------------------------------

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        if m := re.fullmatch(r"/api/v2/databases/([^/]+)/schemas(?:/([^/:]+)(?::(undrop))?)?", path):
            return self._schema(method, m.group(1), m.group(2), m.group(3), body, request)
        if path == "/api/v2/statements" and method == "POST":
            statement = body["statement"]
            binds = [body["bindings"][str(i)]["value"] for i in range(1, len(body.get("bindings") or {}) + 1)]
            if statement.startswith(("GRANT ROLE", "REVOKE ROLE", "SHOW GRANTS")):
                return super().route(method, path, body, request)
            self.statements.append(statement)
            request_id = request.url.params.get("requestId", "")
            if request.url.params.get("retry") == "true" and request_id in self.applied_requests:
                return None, None  # Snowflake answers a resubmitted requestId without running it again
            code, note = self._statement(statement, binds)
            if code is None and not statement.startswith(("SHOW", "DESCRIBE")):
                self.applied_requests.add(request_id)
            return code, note
        return super().route(method, path, body, request)

    def _schema(
        self, method: str, db: str, name: str | None, op: str | None, body: Any, request: httpx.Request
    ) -> tuple[str | None, Any]:
        if db not in self.databases:
            return "404", None
        if name is None:
            if method == "POST":
                key = (db, _unquote(body["name"].strip('"')))
                if key in self.schemas:
                    return "409", None
                self.schemas[key] = {"retention": self.databases[db].get("data_retention_time_in_days", 1)}
                return None, None
            history = request.url.params.get("history") == "true"
            return None, ("schemas", db, history)
        key = (db, _unquote(name.strip('"')))
        if op == "undrop":
            held = [v for v in self.dropped.get(key, []) if v["retention"] > 0]
            if key in self.schemas or not held:
                return ("409" if key in self.schemas else "404"), None
            self.dropped[key].remove(held[-1])  # the most recent dropped version, as Snowflake does
            self.schemas[key] = {"retention": held[-1]["retention"]}
            return None, None
        if key not in self.schemas:
            return "404", None
        if method == "DELETE":
            version = self.schemas.pop(key)
            self.dropped.setdefault(key, []).append({**version, "dropped_on": "2026-12-07T10:00:00Z"})
            return None, None
        return None, ("schema", key)

    def _statement(self, sql: str, binds: list[str]) -> tuple[str | None, Any]:
        if sql == "DESCRIBE USER IDENTIFIER(?)":
            user = _bound(binds[0])
            return (None, ("user", user)) if user in self.users else ("422", ("unknown_user", user))
        if m := re.fullmatch(r"CREATE USER IDENTIFIER\(\?\)( EMAIL = \?)?( DEFAULT_ROLE = \?)?", sql):
            user, rest = _bound(binds[0]), binds[1:]
            if user in self.users:
                return "422", ("failed", f"User '{user}' already exists.")
            email = rest.pop(0) if m.group(1) else None
            role = _bound(rest.pop(0)) if m.group(2) else None
            self.users[user] = {"disabled": False, "email": email, "default_role": role}
            return None, None
        if sql == "DROP USER IDENTIFIER(?)":
            return self._gone(self.users, _bound(binds[0]))
        if m := re.fullmatch(r"ALTER USER IDENTIFIER\(\?\) SET DISABLED = (TRUE|FALSE)", sql):
            user = _bound(binds[0])
            if user not in self.users:
                return "422", ("unknown_user", user)
            self.users[user]["disabled"] = m.group(1) == "TRUE"
            return None, None
        if sql == "SHOW RESOURCE MONITORS LIKE ?":
            return None, ("monitors", binds[0])
        if m := re.fullmatch(
            r"CREATE RESOURCE MONITOR IDENTIFIER\(\?\) WITH CREDIT_QUOTA = \? FREQUENCY = (MONTHLY|DAILY|WEEKLY|YEARLY|NEVER)"
            r" START_TIMESTAMP = IMMEDIATELY TRIGGERS ON 100 PERCENT DO SUSPEND",
            sql,
        ):
            monitor = _bound(binds[0])
            if monitor in self.monitors:
                return "422", ("failed", f"Resource monitor '{monitor}' already exists.")
            self.monitors[monitor] = {
                "credit_quota": int(binds[1]),
                "frequency": m.group(1),
                "suspend_at": 100,
            }
            return None, None
        if sql == "ALTER WAREHOUSE IDENTIFIER(?) SET RESOURCE_MONITOR = IDENTIFIER(?)":
            warehouse, monitor = _bound(binds[0]), _bound(binds[1])
            if warehouse not in self.warehouses or monitor not in self.monitors:
                return "422", ("missing", warehouse)
            self.warehouses[warehouse]["resource_monitor"] = monitor
            return None, None
        if sql == "ALTER RESOURCE MONITOR IDENTIFIER(?) SET CREDIT_QUOTA = ?":
            monitor = _bound(binds[0])
            if monitor not in self.monitors:
                return "422", ("missing", monitor)
            self.monitors[monitor]["credit_quota"] = int(binds[1])
            return None, None
        if sql == "DROP RESOURCE MONITOR IDENTIFIER(?)":
            monitor = _bound(binds[0])
            for props in self.warehouses.values():
                if props.get("resource_monitor") == monitor:
                    del props["resource_monitor"]
            return self._gone(self.monitors, monitor)
        return "422", ("failed", "SQL compilation error: the twin does not know this statement")

    @staticmethod
    def _gone(store: dict[str, Any], name: str) -> tuple[str | None, Any]:
        if name not in store:
            return "422", ("missing", name)
        del store[name]
        return None, None

    # -- answers ---------------------------------------------------------------------------

    def fill(self, note: Any, body: Any) -> Any:
        kind = note[0]
        if kind == "schema":
            (db, name) = note[1]
            return {
                **body,
                "name": name,
                "database_name": db,
                "dropped_on": None,
                "data_retention_time_in_days": self.schemas[(db, name)]["retention"],
            }
        if kind == "schemas":
            _, db, history = note
            template = _template(body)
            rows = [
                {
                    **template,
                    "name": n,
                    "database_name": d,
                    "dropped_on": None,
                    "data_retention_time_in_days": v["retention"],
                }
                for (d, n), v in sorted(self.schemas.items())
                if d == db
            ]
            if history:
                rows += [
                    {
                        **template,
                        "name": n,
                        "database_name": d,
                        "dropped_on": v["dropped_on"],
                        "data_retention_time_in_days": v["retention"],
                    }
                    for (d, n), versions in sorted(self.dropped.items())
                    if d == db
                    for v in versions
                ]
            return rows
        if kind == "user":
            props = self.users[note[1]]
            rows = [
                ["NAME", note[1], None, "Name"],
                ["DISABLED", str(props["disabled"]).lower(), "false", "Whether the user is disabled"],
                ["EMAIL", props["email"] or "null", "null", "Email address"],
                ["DEFAULT_ROLE", props["default_role"] or "null", "null", "Primary role"],
            ]
            return _result(body, ("property", "value", "default", "description"), rows)
        if kind == "monitors":
            pattern = "^" + re.escape(note[1]).replace("%", ".*").replace("_", ".") + "$"
            rows = []
            for name, props in sorted(self.monitors.items()):
                if re.match(pattern, name, re.IGNORECASE):
                    row = dict.fromkeys(_MONITOR_COLUMNS)
                    row.update(
                        name=name,
                        credit_quota=f"{props['credit_quota']}.00",
                        frequency=props["frequency"],
                        suspend_at=f"{props['suspend_at']}%",
                        level="WAREHOUSE",
                    )
                    rows.append([row[c] for c in _MONITOR_COLUMNS])
            return _result(body, _MONITOR_COLUMNS, rows)
        if kind == "missing":
            return {
                **body,
                "code": "002003",
                "message": f"Object '{note[1]}' does not exist or not authorized.",
            }
        if kind == "failed":
            return {**body, "code": "002002", "message": note[1]}
        filled = super().fill(note, body)
        if kind in ("one", "list") and note[1] == "warehouses":
            # Prism's canned warehouse names a monitor (TEST_NAME); the model's says which, if any.
            for item in filled if isinstance(filled, list) else [filled]:
                item["resource_monitor"] = self.warehouses[item["name"]].get("resource_monitor")
        return filled

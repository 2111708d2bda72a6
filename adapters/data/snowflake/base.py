"""The Snowflake adapter's plumbing: the account URL and one SQL API statement at a time."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import ValidationError

from adapters.catalog import ActionCall, Stack, format_validation_error
from adapters.http import HttpAdapter, api_path
from adapters.specs.snowflake import ACTIONS
from orchestrator.errors import AdapterError, ValidationFailedError

__all__ = ["NO_SUCH_OBJECT", "READ_ONLY_PREFIXES", "READ_ONLY_STATEMENTS", "SnowflakeBase"]

#: Statement templates the observe paths send with bind variables only.
READ_ONLY_STATEMENTS = ("SHOW GRANTS TO USER IDENTIFIER(?)", "SHOW RESOURCE MONITORS LIKE ?")
#: Every statement an observe path sends starts with one of these; a dry run sends no other statement.
READ_ONLY_PREFIXES = ("SHOW ", "DESCRIBE ")
#: Snowflake's "object does not exist or not authorized" SQL error code.
NO_SUCH_OBJECT = "002003"
_POLL_LIMIT = 30


class SnowflakeBase(HttpAdapter):
    """Class attributes and the SQL API call every part of the adapter shares."""

    name: ClassVar[str] = "snowflake"
    display_name: ClassVar[str] = "Snowflake"
    stack: ClassVar[Stack] = Stack.DATA
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = (
        "warehouse",
        "database",
        "role",
        "schema",
        "user",
        "resource_monitor",
    )
    content_on_delete: ClassVar[Mapping[str, str]] = {
        "database": "its schemas, tables and data are not restored",
        "schema": "its tables, views and data are not restored (UNDROP SCHEMA can, within the retention period)",
        "user": "its role grants, keys and defaults beyond email and default role are not restored",
        "resource_monitor": "its used-credit count for the current interval is not restored",
    }
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    api_base_url_hint: ClassVar[str] = "SOPHIA_SNOWFLAKE_ACCOUNT to the account identifier"
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    def default_base_url(self) -> str | None:
        """``https://<SOPHIA_SNOWFLAKE_ACCOUNT>.snowflakecomputing.com`` (None without an account)."""
        account = os.environ.get("SOPHIA_SNOWFLAKE_ACCOUNT", "").strip()
        return f"https://{account}.snowflakecomputing.com" if account else None

    def checked(self, call: ActionCall) -> dict[str, Any]:
        """The call's params validated again by its model (``execute`` can be reached without
        ``configure``, and SQL text is built from some of them).

        Raises:
            ValidationFailedError: naming the invalid field.
        """
        spec = self.spec(call.action)
        try:
            return spec.validate_params(call.params)
        except ValidationError as exc:
            raise ValidationFailedError(
                format_validation_error(spec.id, exc), hint="check the params"
            ) from exc

    async def _sql(
        self, statement: str, binds: Sequence[str | int], *, action: str, target: str | None
    ) -> dict[str, Any]:
        """Run one statement with bind variables (str: TEXT, int: FIXED); poll while it is still running."""
        body: dict[str, Any] = {
            "statement": statement,
            "bindings": {
                str(i): {"type": "FIXED", "value": str(value)} if isinstance(value, int) else {"type": "TEXT", "value": value}
                for i, value in enumerate(binds, 1)
            },
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

    async def _sql_or_none(
        self, statement: str, binds: Sequence[str | int], *, action: str, target: str | None
    ) -> dict[str, Any] | None:
        """:meth:`_sql`, or None when Snowflake says the object does not exist (002003)."""
        try:
            return await self._sql(statement, binds, action=action, target=target)
        except AdapterError as exc:
            if exc.details.get("vendor_code") == NO_SUCH_OBJECT:
                return None
            raise

    @staticmethod
    def _column(result: dict[str, Any], name: str) -> list[Any]:
        return [row[name] for row in SnowflakeBase._rows(result) if name in row]

    @staticmethod
    def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
        """The result set as dicts keyed by lower-cased column name."""
        row_type = (result.get("resultSetMetaData") or {}).get("rowType") or []
        names = [str(col.get("name", "")).lower() for col in row_type]
        return [
            dict(zip(names, row, strict=False)) for row in result.get("data") or [] if isinstance(row, list)
        ]

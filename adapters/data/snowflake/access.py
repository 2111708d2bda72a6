"""Role grants and users over the SQL API (``POST /api/v2/statements``).

Role grants bind both names (``GRANT ROLE IDENTIFIER(?) TO USER IDENTIFIER(?)``). User
statements name the user as a strict, double-quoted identifier
(:func:`~adapters.data.snowflake.names.quoted`); free-text values (the email) are bind
variables, and the rest of each statement is fixed text or a keyword chosen from a closed set:

* ``CREATE USER "JDOE" [EMAIL = ?] [DEFAULT_ROLE = "ANALYST"]`` (no password is ever set);
* ``DROP USER "JDOE"``;
* ``ALTER USER "JDOE" SET DISABLED = TRUE|FALSE``;
* read back with ``DESCRIBE USER IDENTIFIER(?)`` (the name bound, double-quoted) (property/value rows; 002003 when there is none).
"""

from __future__ import annotations

from typing import Any

from adapters.base import State
from adapters.catalog import ActionCall

from .base import READ_ONLY_STATEMENTS, SnowflakeBase
from .names import identifier, quoted, strict_name

__all__ = ["AccessMixin", "user_state"]


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return None if text.lower() in ("", "null", "none") else text


def user_state(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    """A user as the catalog records it, from ``DESCRIBE USER``'s property → value rows."""
    return {
        "name": name,
        "disabled": str(properties.get("DISABLED", "false")).strip().lower() == "true",
        "email": _text(properties.get("EMAIL")),
        "default_role": _text(properties.get("DEFAULT_ROLE")),
    }


class AccessMixin(SnowflakeBase):
    """Role grants and users."""

    async def observe_role(self, call: ActionCall) -> State:
        """``{"user", "roles"}`` (the roles granted to the user) or None if no such user."""
        user = identifier(call.target, "user")
        result = await self._sql_or_none(READ_ONLY_STATEMENTS[0], [user], action=call.action, target=user)
        if result is None:
            return None
        roles = sorted({str(r).upper() for r in self._column(result, "role")})
        return {"user": user, "roles": roles}

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

    # -- users -----------------------------------------------------------------------------

    async def observe_user(self, call: ActionCall) -> State:
        """``{"name", "disabled", "email", "default_role"}`` or None if there is no such user."""
        name = strict_name(call.target, "user")
        result = await self._sql_or_none(
            "DESCRIBE USER IDENTIFIER(?)", [quoted(name, "user")], action=call.action, target=name
        )
        if result is None:
            return None
        properties = {str(r.get("property", "")).upper(): r.get("value") for r in self._rows(result)}
        return user_state(name, properties)

    async def do_user_create(self, call: ActionCall, before: State) -> State:
        name = strict_name(call.target, "user")
        params = self.checked(call)
        statement, binds = "CREATE USER IDENTIFIER(?)", [quoted(name, "user")]
        if params.get("email"):
            statement += " EMAIL = ?"
            binds.append(params["email"])
        if params.get("default_role"):
            statement += " DEFAULT_ROLE = ?"
            binds.append(quoted(params["default_role"], "role"))
        await self._sql(statement, binds, action=call.action, target=name)
        return await self.observe_user(call)

    async def do_user_drop(self, call: ActionCall, before: State) -> State:
        name = strict_name(call.target, "user")
        await self._sql("DROP USER IDENTIFIER(?)", [quoted(name, "user")], action=call.action, target=name)
        return await self.observe_user(call)

    async def _set_disabled(self, call: ActionCall, disabled: bool) -> State:
        name = strict_name(call.target, "user")
        statement = "ALTER USER IDENTIFIER(?) SET DISABLED = TRUE" if disabled else "ALTER USER IDENTIFIER(?) SET DISABLED = FALSE"
        await self._sql(statement, [quoted(name, "user")], action=call.action, target=name)
        return await self.observe_user(call)

    async def do_user_disable(self, call: ActionCall, before: State) -> State:
        return await self._set_disabled(call, True)

    async def do_user_enable(self, call: ActionCall, before: State) -> State:
        return await self._set_disabled(call, False)

"""Snowflake identifiers: the lenient form the REST paths take, and the strict one SQL needs.

Identifiers can't be bind variables in most DDL (``ALTER USER ?`` is a syntax error), so the
SQL the adapter sends names objects itself. Every such name goes through :func:`strict_name`:
an unquoted identifier (letters, digits, ``_``, ``$``; Snowflake upper-cases it) or a quoted
one holding only letters, digits, spaces, ``_``, ``$`` and ``-``. Anything else — quotes,
semicolons, dots, backslashes, control characters, other scripts — is refused with a
:class:`~orchestrator.errors.ValidationFailedError` before anything is sent. :func:`quoted`
then always writes the name double-quoted with any inner quote doubled, so even a name that
slipped past the check could not end the identifier.
"""

from __future__ import annotations

import re

from orchestrator.errors import ValidationFailedError

__all__ = ["identifier", "quoted", "rest_name", "schema_parts", "strict_name"]

_UNQUOTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")
_QUOTED = re.compile(r'^"([^"]|"")+"$')
#: What a quoted name may hold here (Snowflake allows more; the rest is refused as odd).
_QUOTED_BODY = re.compile(r"^[A-Za-z0-9_$ -]{1,255}$")


def identifier(name: str | None, what: str = "name") -> str:
    """A Snowflake identifier for a REST path or bind variable: unquoted names upper-cased (as
    Snowflake resolves them), anything else double-quoted with inner quotes doubled.

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


def strict_name(name: str | None, what: str = "name") -> str:
    """The name as Snowflake stores it (``jdoe`` → ``JDOE``; ``"Data Team"`` → ``Data Team``).

    Raises:
        ValidationFailedError: empty, too long, or holding anything but the characters above.
    """
    text = (name or "").strip()
    if not text:
        raise ValidationFailedError(f"snowflake {what} is required", hint=f"name the {what}")
    if _UNQUOTED.match(text):
        return text.upper()
    body = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else None
    if body is not None and _QUOTED_BODY.match(body) and body.strip():
        return body
    shown = text if len(text) <= 60 else text[:57] + "..."
    raise ValidationFailedError(
        f"snowflake {what} {shown!r} can't be used: a name is letters, digits, _ and $ "
        '(or "quoted" with spaces and - too); quotes, semicolons, dots and other characters are refused',
        hint=f"name the {what} exactly as Snowflake shows it",
        details={"field": what, "reason": "not a plain Snowflake identifier"},
    )


def quoted(name: str | None, what: str = "name") -> str:
    """``"JDOE"``: the strict name, double-quoted, inner quotes doubled (SQL text only)."""
    return '"' + strict_name(name, what).replace('"', '""') + '"'


def schema_parts(target: str | None) -> tuple[str, str]:
    """``ANALYTICS.STAGING`` → (``ANALYTICS``, ``STAGING``), each part a strict name.

    Raises:
        ValidationFailedError: not ``database.schema``, or a part that is not a plain name.
    """
    text = (target or "").strip()
    parts = re.findall(r'"[^"]*"|[^.]+', text)
    if len(parts) != 2 or ".".join(parts) != text:
        raise ValidationFailedError(
            f"snowflake schema {text[:60]!r} must be named as DATABASE.SCHEMA",
            hint="e.g. ANALYTICS.STAGING",
            details={"field": "target", "reason": "not database.schema"},
        )
    return strict_name(parts[0], "database"), strict_name(parts[1], "schema")


def rest_name(name: str) -> str:
    """A strict name as a REST path segment: bare when Snowflake would resolve it unquoted
    (``STAGING``), else double-quoted (``"Data Team"``, ``"jdoe"``)."""
    return name if _UNQUOTED.match(name) and name == name.upper() else '"' + name.replace('"', '""') + '"'

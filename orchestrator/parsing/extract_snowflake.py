"""Targets and params for Snowflake's schemas, users and resource monitors, read from one clause.

* a schema is ``DATABASE.SCHEMA`` ("create schema ANALYTICS.STAGING");
* a user is the word after "user" ("disable the snowflake user JDOE"), or after called/named;
* a resource monitor is the word after (or before) "monitor"; "cap ETL_WH at 200 credits a
  month" names none, so the monitor is named after the warehouse it caps: ``ETL_WH_MONITOR``;
* ``credit_quota`` is the number before "credits" (or after "quota … to"); ``frequency`` the
  period ("a month", "per week", "monthly"); ``warehouse`` the one being capped.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.catalog import ActionSpec
from orchestrator.parsing import extract as ex

__all__ = ["SNOWFLAKE_EXTRACTORS", "SNOWFLAKE_KEYS", "snowflake_target"]

Q = list[ex.Quoted]
_IDENT = r"[A-Za-z_][A-Za-z0-9_$]*"
_SCHEMA = rf"(?<![\w@.])({_IDENT}\.{_IDENT})(?![\w@]|\.\w)"
_SKIP = {
    "the",
    "a",
    "an",
    "with",
    "called",
    "named",
    "to",
    "in",
    "on",
    "for",
    "of",
    "from",
    "and",
    "at",
    "snowflake",
}
SNOWFLAKE_KEYS = frozenset({"snowflake.schema", "snowflake.user", "snowflake.resource_monitor"})


def _first(pattern: str, text: str, flags: int = re.IGNORECASE) -> str | None:
    for match in re.finditer(pattern, text, flags):
        if match.group(1).lower() not in _SKIP:
            return match.group(1)
    return None


def _credit_quota(m: str, q: Q, a: str) -> Any:
    return _first(r"\b(\d+)\s*(?:snowflake\s+)?credits?\b", m) or _first(
        r"\bquota\b(?:\s+\w+){0,4}?\s+(?:to|of|at|=)\s*(\d+)\b", m
    )


def _frequency(m: str, q: Q, a: str) -> Any:
    return _first(r"\b(?:a|an|per|every|each)\s+(month|day|week|year)\b", m) or _first(
        r"\b(monthly|daily|weekly|yearly|annually)\b", m
    )


def _warehouse(m: str, q: Q, a: str) -> Any:
    return (
        _first(rf"\bwarehouse\s+({_IDENT})", m)
        or _first(rf"\b({_IDENT})\s+warehouse\b", m)
        or _first(rf"\b(?:cap|limit|capping|limiting)\s+(?:the\s+)?({_IDENT})\s+(?:at|to)\b", m)
        or _first(r"\b([A-Za-z][A-Za-z0-9_$]*_WH)\b", m)
    )


def _email(m: str, q: Q, a: str) -> Any:
    found = ex.emails(m)
    return found[0] if found else None


def _default_role(m: str, q: Q, a: str) -> Any:
    return _first(rf"\b(?:default\s+role|role)\s+(?:of\s+|to\s+)?({_IDENT})", m)


SNOWFLAKE_EXTRACTORS = {
    "credit_quota": _credit_quota,
    "frequency": _frequency,
    "warehouse": _warehouse,
    "email": _email,
    "default_role": _default_role,
}


def snowflake_target(spec: ActionSpec, m: str, q: Q, params: dict[str, Any]) -> str | None:
    """The schema, user or resource monitor the clause names, as said."""
    if spec.resource == "schema":
        return _first(rf"\bschema\s+{_SCHEMA}", m) or _first(_SCHEMA, m)
    if spec.resource == "user":
        return _first(rf"\buser\s+(?:called\s+|named\s+)?({_IDENT})", m) or _first(
            rf"\b(?:called|named)\s+({_IDENT})", m
        )
    named = (
        _first(rf"\bmonitor\s+(?:called\s+|named\s+)?({_IDENT})", m)
        or _first(rf"\b({_IDENT})\s+(?:resource\s+)?monitor\b", m)
        or _first(rf"\b(?:called|named)\s+({_IDENT})", m)
    )
    if named and named.lower() not in ("resource", "the"):
        return named
    warehouse = params.get("warehouse")
    if spec.verb == "create" and isinstance(warehouse, str) and re.fullmatch(_IDENT, warehouse):
        return f"{warehouse.upper()}_MONITOR"
    return None

"""Snowflake adapter: warehouses, databases and schemas over the REST APIs; role grants, users
and resource monitors over the SQL API.

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
* schemas (target ``DATABASE.SCHEMA``): :mod:`.schemas` (create, drop, UNDROP).
* users and resource monitors: :mod:`.access` and :mod:`.monitors` — SQL whose identifiers
  are strict, double-quoted names (:mod:`.names`; identifiers can't be bind variables in that
  DDL) and whose free-text values are bind variables.
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
* Dry runs send no mutating request; observing role grants, users and monitors is a read-only
  ``SHOW``/``DESCRIBE`` statement, which the SQL API takes as a POST.
* The SQL API's contract takes any statement text: whether Snowflake accepts a bind variable
  in ``CREATE USER … EMAIL = ?`` or ``SHOW RESOURCE MONITORS LIKE ?``, and what exactly
  ``DESCRIBE USER``/``SHOW RESOURCE MONITORS`` return, only the live service shows. Prism
  answers every statement with its canned customer table, so contract tests see no user or
  monitor columns; the conformance twin fills them in.
"""

from __future__ import annotations

from .adapter import SnowflakeAdapter
from .base import NO_SUCH_OBJECT, READ_ONLY_PREFIXES, READ_ONLY_STATEMENTS
from .names import identifier, quoted, rest_name, schema_parts, strict_name
from .warehouses import STRING_FLAGS

__all__ = [
    "NO_SUCH_OBJECT",
    "READ_ONLY_PREFIXES",
    "READ_ONLY_STATEMENTS",
    "STRING_FLAGS",
    "SnowflakeAdapter",
    "identifier",
    "quoted",
    "rest_name",
    "schema_parts",
    "strict_name",
]

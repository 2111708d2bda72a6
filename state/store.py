"""The state store: one interface over SQLite (default) and PostgreSQL.

``Store(url).setup()`` migrates the schema to head (Alembic, append-only); when the store's
``alembic_version`` already names :data:`~state.revision.HEAD_REVISION` it reads that one row and
imports nothing of Alembic. The ledger, locks, runs, inventory and freezes hang off one store.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, create_engine, delete, select

from orchestrator.errors import NotFoundError, StoreUnavailableError
from state.models import Freeze, InventoryItem, Run, utcnow
from state.revision import HEAD_REVISION

__all__ = ["HEAD_REVISION", "Store", "new_id"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def new_id(prefix: str) -> str:
    """A short, sortable-enough unique id: ``run_5f3a9c1e2b7d``."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Store:
    """Runs, inventory and freezes; :attr:`ledger` and :attr:`locks` for changes and leases."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        self.engine: Engine = self._make_engine(url)
        from state.ledger import Ledger
        from state.locks import LockManager

        self.ledger = Ledger(self)
        self.locks = LockManager(self)

    @staticmethod
    def _make_engine(url: str) -> Engine:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})

    # -- lifecycle -----------------------------------------------------------------------
    def setup(self) -> None:
        """Migrate to the head revision (no-op when already there).

        Raises:
            StoreUnavailableError: the database can't be reached; nothing was written.
        """
        try:
            with self.engine.connect() as conn:
                current = self._current_revision(conn)
            if current == HEAD_REVISION:
                return
            self._upgrade()
        except OperationalError as exc:
            raise self.unavailable(exc) from exc

    def _current_revision(self, conn: Any) -> str | None:
        from sqlalchemy import inspect

        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return row[0] if row else None

    def _upgrade(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # Serialise concurrent first starts: only one process runs the migrations.
                conn.execute(text("SELECT pg_advisory_xact_lock(7306135)"))
                if self._current_revision(conn) == HEAD_REVISION:
                    return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def unavailable(self, exc: BaseException) -> StoreUnavailableError:
        """The error surfaces show when the database can't be reached."""
        where = self.url.split("@")[-1] if "@" in self.url else self.url
        return StoreUnavailableError(
            f"the state store at {where} is unreachable: {str(exc).splitlines()[0][:200]}",
            hint="check SOPHIA_DATABASE_URL and that the database is running; nothing was changed",
        )

    @cached_property
    def autocommit_engine(self) -> Engine:
        """An engine whose connections are in autocommit from birth, for one-statement writes.

        On PostgreSQL, switching a pooled connection to autocommit and back costs statements of
        its own on every checkout; the webhook inbox's insert, the hot path, uses this instead.
        No ping before each use either (a round trip per write): a caller retries once when its
        connection turns out to be dead (``connection_invalidated``), which is safe for the
        idempotent writes that use it. SQLite shares :attr:`engine`.
        """
        if self.dialect != "postgresql":
            return self.engine
        # Sized for the server's thread pool: with fewer idle connections than concurrent
        # deliveries, every overflow connection was opened and closed again per request.
        return create_engine(self.url, pool_pre_ping=False, isolation_level="AUTOCOMMIT", pool_size=16,
                             max_overflow=4, connect_args={"connect_timeout": 5})

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
        if "autocommit_engine" in self.__dict__ and self.autocommit_engine is not self.engine:
            self.autocommit_engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and maps connection failures to a clear error."""
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
                session.commit()
        except OperationalError as exc:
            raise self.unavailable(exc) from exc

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads only: each statement is its own transaction (no BEGIN and COMMIT round trips).

        For queries whose statements needn't see one snapshot together, e.g. a page of history.
        """
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                with Session(bind=conn, expire_on_commit=False) as session:
                    yield session
        except OperationalError as exc:
            raise self.unavailable(exc) from exc

    # -- runs ----------------------------------------------------------------------------
    def create_run(self, run: Run) -> Run:
        """Insert a new run."""
        with self.session() as s:
            s.add(run)
        return run

    def update_run(self, run_id: str, **fields: Any) -> Run:
        """Set fields on a run (and ``updated_at``)."""
        with self.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise NotFoundError(f"no run {run_id}", hint="list runs with `sophia-iac history`")
            for key, value in fields.items():
                setattr(run, key, value)
            run.updated_at = utcnow()
            s.add(run)
        return run

    def get_run(self, run_id: str) -> Run:
        """One run by id, or by a fragment of one that names exactly one run (``r-91bc``)."""
        with self.session() as s:
            run = s.get(Run, run_id) or s.get(Run, self.resolve_run_id(run_id))
        if run is None:
            raise NotFoundError(f"no run {run_id}", hint="list runs with `sophia-iac runs`")
        return run

    def resolve_run_id(self, token: str) -> str:
        """The full id of the one run ``token`` names (see :mod:`state.ids`)."""
        from state.ids import resolve_id

        with self.session() as s:
            return resolve_id(s, Run, "run", token, noun="run", hint="list runs with `sophia-iac runs`")

    def claim_run(self, run_id: str, from_status: str, to_status: str) -> bool:
        """Atomically move a run from one status to another; False if it was not in ``from_status``."""
        from sqlalchemy import update

        with self.session() as s:
            result = s.exec(  # type: ignore[call-overload]
                update(Run).where(col(Run.id) == run_id, col(Run.status) == from_status).values(
                    status=to_status, updated_at=utcnow()
                )
            )
            return bool(result.rowcount)

    def list_runs(self, *, status: str | None = None, limit: int = 50) -> list[Run]:
        """Newest first."""
        with self.session() as s:
            q = select(Run).order_by(col(Run.created_at).desc()).limit(limit)
            if status:
                q = q.where(Run.status == status)
            return list(s.exec(q).all())

    # -- inventory -----------------------------------------------------------------------
    def replace_inventory(self, platform: str, inventory: dict[str, Sequence[dict[str, Any]]]) -> None:
        """Replace what we know of ``platform``'s resources, type by type."""
        with self.session() as s:
            for resource_type, items in inventory.items():
                s.exec(  # type: ignore[call-overload]
                    delete(InventoryItem).where(
                        col(InventoryItem.platform) == platform,
                        col(InventoryItem.resource_type) == resource_type,
                    )
                )
                for item in items:
                    s.add(
                        InventoryItem(
                            platform=platform,
                            resource_type=resource_type,
                            name=str(item["name"]),
                            attributes=dict(item),
                        )
                    )

    def upsert_inventory_item(
        self, platform: str, resource_type: str, name: str, attributes: dict[str, Any] | None
    ) -> None:
        """Record one resource's state; ``attributes=None`` means it is gone."""
        with self.session() as s:
            existing = s.exec(
                select(InventoryItem).where(
                    InventoryItem.platform == platform,
                    InventoryItem.resource_type == resource_type,
                    InventoryItem.name == name,
                )
            ).first()
            if attributes is None:
                if existing is not None:
                    s.delete(existing)
                return
            if existing is None:
                existing = InventoryItem(platform=platform, resource_type=resource_type, name=name)
            existing.attributes = attributes
            existing.refreshed_at = utcnow()
            s.add(existing)

    def inventory(self, platform: str | None = None) -> dict[str, list[str]]:
        """Known resource names as ``{"platform.type": [names]}`` (the eval-format inventory)."""
        with self.session() as s:
            q = select(InventoryItem).order_by(col(InventoryItem.name))
            if platform:
                q = q.where(InventoryItem.platform == platform)
            out: dict[str, list[str]] = {}
            for item in s.exec(q).all():
                if item.resource_type.startswith("~"):  # bookkeeping rows (the drift baseline marker)
                    continue
                out.setdefault(f"{item.platform}.{item.resource_type}", []).append(item.name)
            return out

    # -- freezes -------------------------------------------------------------------------
    def add_freeze(self, environment: str, until: datetime, reason: str, actor: str) -> Freeze:
        """Start a change freeze."""
        freeze = Freeze(environment=environment, until=until, reason=reason, actor=actor)
        with self.session() as s:
            s.add(freeze)
        return freeze

    def lift_freezes(self, environment: str, actor: str) -> int:
        """End every active freeze on ``environment``; returns how many."""
        now = utcnow()
        with self.session() as s:
            active = s.exec(
                select(Freeze).where(
                    Freeze.environment == environment, col(Freeze.lifted_at).is_(None), Freeze.until > now
                )
            ).all()
            for freeze in active:
                freeze.lifted_at = now
                freeze.lifted_by = actor
                s.add(freeze)
            return len(active)

    def active_freezes(self, environment: str | None = None) -> list[Freeze]:
        """Freezes in force now."""
        now = utcnow()
        with self.session() as s:
            q = select(Freeze).where(col(Freeze.lifted_at).is_(None), Freeze.until > now)
            if environment:
                q = q.where(Freeze.environment == environment)
            return list(s.exec(q).all())

"""pgvector adapter: the conformance suite against real PostgreSQL, plus its own extras."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from adapters.ai.pgvector import PgVectorAdapter
from adapters.base import State
from adapters.catalog import ActionCall
from adapters.registry import spec_for
from adapters.testing import AdapterConformanceTests, run
from adapters.testing_faults import Tally
from orchestrator.config import Settings
from orchestrator.errors import ValidationFailedError


@pytest.fixture
def adapter(pg_url: str, isolated_env: object) -> PgVectorAdapter:
    return PgVectorAdapter(Settings(pgvector_url=pg_url))


@pytest.fixture
def scenario() -> list[ActionCall]:
    return [
        spec_for("pgvector.index.create").call("support-docs", {"dimension": 384}),
        spec_for("pgvector.index.configure").call("support-docs", {"m": 32, "ef_construction": 128}),
        spec_for("pgvector.index.delete").call("support-docs"),
    ]


class PgFaults:
    """The fault matrix at the driver boundary (there is no HTTP transport to cut here).

    Armed, the adapter's next ``execute`` fails the way psycopg reports a broken connection or
    a server refusal: ``lost``/``twice``/``5xx_after`` let the real statements commit, then close
    the connection and raise; ``timeout_before``/``429`` raise before anything is sent.
    """

    def __init__(self, adapter: PgVectorAdapter, kind: str) -> None:
        self.adapter, self.kind, self.armed, self.tally = adapter, kind, False, Tally()
        self.real = adapter.execute

    def arm(self) -> Tally:
        self.armed, self.tally = True, Tally()
        return self.tally

    def disarm(self) -> None:
        self.armed = False

    async def execute(self, call: ActionCall, before: State) -> State:
        import psycopg

        if not self.armed:
            return await self.real(call, before)
        self.armed = False
        self.tally.injected += 1
        if self.kind == "timeout_before":
            raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
        if self.kind == "429":
            raise psycopg.errors.TooManyConnections("sorry, too many clients already")
        await self.real(call, before)
        conn = self.adapter._conn
        if conn is not None:
            await conn.close()
        if self.kind == "5xx_after":
            raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")
        raise psycopg.OperationalError("server closed the connection unexpectedly")


class TestPgVectorConformance(AdapterConformanceTests):
    """Every conformance check, against a fresh database on the session's server."""

    @contextmanager
    def install_faults(self, adapter: PgVectorAdapter, kind: str) -> Iterator[PgFaults]:
        faults = PgFaults(adapter, kind)
        adapter.execute = faults.execute  # type: ignore[method-assign]
        try:
            yield faults
        finally:
            adapter.execute = faults.real  # type: ignore[method-assign]


def test_status_reports_dimension_metric_rows_and_hnsw_params(adapter: PgVectorAdapter) -> None:
    run(adapter.configure(spec_for("pgvector.index.create").call("faq", {"dimension": 3, "metric": "l2", "m": 8})))
    status = run(adapter.get_status())
    (index,) = status.inventory["index"]
    assert index == {"name": "faq", "dimension": 3, "rows": 0, "metric": "l2", "m": 8, "ef_construction": 64}
    assert status.details["pgvector"].startswith("0.")


def test_create_over_existing_index_is_refused_before_any_change(adapter: PgVectorAdapter) -> None:
    call = spec_for("pgvector.index.create").call("dup", {"dimension": 8})
    run(adapter.configure(call))
    with pytest.raises(ValidationFailedError, match="already exists"):
        run(adapter.configure(spec_for("pgvector.index.create").call("dup", {"dimension": 16})))
    assert run(adapter.observe(call))["dimension"] == 8


@pytest.mark.parametrize("name", ["", "Robert'); DROP TABLE x;--", "a" * 56, "-leading-dash", "sp ace"])
def test_bad_index_names_are_rejected(adapter: PgVectorAdapter, name: str) -> None:
    with pytest.raises(ValidationFailedError, match="not a valid index name"):
        run(adapter.observe(ActionCall(action="pgvector.index.create", target=name)))


def test_embedded_server_is_used_when_no_url_is_set(isolated_env: object) -> None:
    adapter = PgVectorAdapter(Settings())
    try:
        status = run(adapter.get_status())
        assert status.healthy and status.details["embedded"] is True
    finally:
        from state.pgserver import EmbeddedPostgres

        EmbeddedPostgres(adapter.settings.home / "pg").destroy()

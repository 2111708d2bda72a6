"""pgvector adapter: the conformance suite against real PostgreSQL, plus its own extras."""

from __future__ import annotations

import pytest

from adapters.ai.pgvector import PgVectorAdapter
from adapters.catalog import ActionCall
from adapters.registry import spec_for
from adapters.testing import AdapterConformanceTests, run
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


class TestPgVectorConformance(AdapterConformanceTests):
    """Every conformance check, against a fresh database on the session's server."""


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

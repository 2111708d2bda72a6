"""The real Automation API end to end: runs only where the ``pulumi`` CLI is on PATH.

The CLI can't be installed on the project's build machines (its installers download from the
internet), so here these tests are skipped with that reason; on a machine with the CLI they
drive the pgvector program — a dynamic provider over our own adapter — against a real
PostgreSQL on a local ``file://`` backend: preview, up with a rollback point, drift, undo
through the whole pipeline, destroy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adapters.ai.pgvector import PgVectorAdapter
from adapters.registry import spec_for
from adapters.testing import run
from iac.programs.pgvector import PROGRAM as PGVECTOR
from iac.runner import IacRunner
from orchestrator.config import Settings, get_settings
from orchestrator.service import OrchestratorService
from orchestrator.state import Request

pytestmark = pytest.mark.skipif(
    shutil.which("pulumi") is None,
    reason="the pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/) to run "
           "these; tests/iac/test_runner.py covers the runner with a fake workspace",
)


@pytest.fixture
def settings(pg_url: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SOPHIA_PULUMI_CONFIG_PASSPHRASE", "integration passphrase")
    monkeypatch.setenv("SOPHIA_PGVECTOR_URL", pg_url)  # the provider host reads it from the environment
    get_settings.cache_clear()
    return Settings(pgvector_url=pg_url, iac_managed="pgvector.index")


def _index(settings: Settings, name: str) -> dict | None:
    return run(PgVectorAdapter(settings).observe(spec_for("pgvector.index.delete").call(name)))


def test_preview_up_refresh_destroy_on_a_real_stack(settings: Settings) -> None:
    runner = IacRunner(settings)
    spec = PGVECTOR.load({"indexes": {"it-docs": {"name": "it-docs", "dimension": 3}}})
    plan = run(runner.preview(PGVECTOR, "prod", spec))
    assert plan.counts["create"] == 1 and _index(settings, "it-docs") is None
    report = run(runner.up(PGVECTOR, "prod", spec, keys=("index/it-docs",)))
    assert report.result == "succeeded" and report.counts["create"] == 1
    assert (settings.home / "pulumi" / "rollback" / report.export_ref["ref"].removeprefix("rollback:")).is_file()
    assert _index(settings, "it-docs")["dimension"] == 3
    assert run(runner.view(PGVECTOR, "prod")).resources["index/it-docs"]["m"] == 16
    assert not run(runner.refresh(PGVECTOR, "prod")).drifted
    run(PgVectorAdapter(settings).configure(spec_for("pgvector.index.configure").call(
        "it-docs", {"m": 40, "ef_construction": 80})))
    drift = run(runner.refresh(PGVECTOR, "prod"))
    assert [c.name for c in drift.drifted] == ["index-it-docs"]
    tuned = PGVECTOR.load({"indexes": {"it-docs": {"name": "it-docs", "dimension": 3, "m": 24}}})
    assert run(runner.preview(PGVECTOR, "prod", tuned)).counts["update"] == 1
    redim = PGVECTOR.load({"indexes": {"it-docs": {"name": "it-docs", "dimension": 8}}})
    assert run(runner.preview(PGVECTOR, "prod", redim)).replaces, "a new dimension needs a replace"
    run(runner.destroy(PGVECTOR, "prod"))
    assert _index(settings, "it-docs") is None


def test_the_pipeline_creates_and_undoes_through_pulumi(settings: Settings) -> None:
    async def flow() -> None:
        async with OrchestratorService(settings) as svc:
            view = await svc.submit(Request(text="create a vector index called it-undo with 3 dimensions",
                                            actor="cli:alice"))
            assert view["status"] == "applied", view.get("error")
            assert view["changes"][0]["after"]["last_modified"]["export_ref"].startswith("rollback:")
            undo = await svc.undo(actor="cli:alice")
            assert undo["status"] == "applied", undo.get("error")

    run(flow())
    assert _index(settings, "it-undo") is None

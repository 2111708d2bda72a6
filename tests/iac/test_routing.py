"""The pipeline with ``SOPHIA_IAC_MANAGED``: managed resources go to the IaC runner.

Everything here is the real pipeline — parser, plan node, policy, executor, hash-chained
ledger on SQLite, the pgvector adapter on PostgreSQL — except the Pulumi workspace: the
``pulumi`` CLI can't run here, so the runner gets the fake workspace from
:mod:`tests.iac.fakes` (real inline programs under ``set_mocks``, real SDK result classes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from adapters.ai.pgvector import PgVectorAdapter
from adapters.registry import spec_for
from adapters.testing import run
from iac.adapter import IacAdapter
from iac.runner import IacRunner
from orchestrator.config import Settings
from orchestrator.deps import AdapterPool
from orchestrator.errors import ConfigError
from orchestrator.service import OrchestratorService
from orchestrator.state import Intent, ParsedCommand, Request
from state.models import LedgerEntry
from tests.iac import fakes
from tests.iac.fakes import FakeWorkspace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(pg_url: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SOPHIA_PULUMI_CONFIG_PASSPHRASE", "correct horse battery staple")
    return Settings(pgvector_url=pg_url, iac_managed="pgvector.index", iac_retry_seconds=0.01)


@pytest.fixture
def workspace() -> FakeWorkspace:
    return FakeWorkspace()


@asynccontextmanager
async def _service(settings: Settings, workspace: FakeWorkspace) -> AsyncIterator[OrchestratorService]:
    async with OrchestratorService(settings) as svc:
        adapter = svc.deps.adapters.get("pgvector")
        assert isinstance(adapter, IacAdapter)
        adapter.runner = IacRunner(settings, workspace)
        yield svc


def _flow(settings: Settings, workspace: FakeWorkspace,
          body: Callable[[OrchestratorService], Awaitable[None]]) -> None:
    async def go() -> None:
        async with _service(settings, workspace) as svc:
            await body(svc)

    run(go())


def _req(text: str, **kw: Any) -> Request:
    return Request(text=text, actor="cli:alice", **kw)


async def _tune(svc: OrchestratorService) -> dict[str, Any]:
    call = spec_for("pgvector.index.configure").call("docs", {"m": 32, "ef_construction": 128})
    return await svc.submit(_req("tune docs"), ParsedCommand(intent=Intent.ACTION, actions=[call]))


def _real_index(settings: Settings, name: str) -> Any:
    adapter = PgVectorAdapter(settings)
    return run(adapter.observe(spec_for("pgvector.index.delete").call(name)))


def test_plan_routes_managed_resources_to_the_runner(settings: Settings, workspace: FakeWorkspace) -> None:
    async def body(svc: OrchestratorService) -> None:
        view = await svc.submit(_req("create a vector index called docs with 3 dimensions"))
        assert view["status"] == "applied", view.get("error")
        step = view["plan"]["steps"][0]
        assert step["expected"]["iac"]["preview"]["counts"]["create"] == 1
        assert step["expected"]["iac"]["stack"] == "sophia-pgvector/prod"

    _flow(settings, workspace, body)
    stack = workspace.stack("sophia-pgvector", "prod")
    assert stack.calls.count("preview") >= 1 and stack.calls.count("up") == 1
    assert stack.calls.index("export") < stack.calls.index("up")
    assert _real_index(settings, "docs") is None, "the adapter's configure was not called"


def test_unmanaged_resources_still_go_to_the_adapter(settings: Settings, workspace: FakeWorkspace) -> None:
    plain = settings.model_copy(update={"iac_managed": ""})

    async def go() -> None:
        async with OrchestratorService(plain) as svc:
            assert not isinstance(svc.deps.adapters.get("pgvector"), IacAdapter)
            view = await svc.submit(_req("create a vector index called docs with 3 dimensions"))
            assert view["status"] == "applied"

    run(go())
    assert _real_index(settings, "docs")["dimension"] == 3
    assert workspace.stacks == {}


def test_ledger_records_preview_update_summary_and_export_reference(settings: Settings,
                                                                   workspace: FakeWorkspace) -> None:
    seen: dict[str, Any] = {}

    async def body(svc: OrchestratorService) -> None:
        view = await svc.submit(_req("create a vector index called docs with 3 dimensions"))
        (change,) = view["changes"]
        with svc.store.session() as s:
            entries = s.exec(select(LedgerEntry).where(LedgerEntry.change_id == change["id"])
                             .order_by(LedgerEntry.seq)).all()
        seen["entries"] = [(e.kind, e.body) for e in entries]
        seen["change"] = svc.change(change["id"])
        assert svc.verify_ledger().ok

    _flow(settings, workspace, body)
    (open_kind, opened), (applied_kind, applied) = seen["entries"]
    assert (open_kind, applied_kind) == ("open", "applied")
    preview = opened["expected"]["iac"]["preview"]
    assert preview["counts"] == {"create": 1, "update": 0, "replace": 0, "delete": 0, "same": 0}
    (created,) = preview["changes"]
    assert created["op"] == "create" and created["type"] == "pulumi-python:dynamic:Resource"
    assert created["new"]["dimension"] == 3 and "__provider" not in created["new"]
    record = applied["after"]["last_modified"]
    assert record["update"]["result"] == "succeeded" and record["update"]["counts"]["create"] == 1
    ref = record["export_ref"]
    assert ref.startswith("rollback:sophia-pgvector/prod/")
    assert (settings.home / "pulumi" / "rollback" / ref.removeprefix("rollback:")).is_file()
    assert applied["after"]["dimension"] == 3 and seen["change"]["inverse"]["action"] == "pgvector.index.delete"


def test_dry_run_is_a_preview_only(settings: Settings, workspace: FakeWorkspace) -> None:
    async def body(svc: OrchestratorService) -> None:
        view = await svc.submit(_req("create a vector index called docs with 3 dimensions", dry_run=True))
        assert view["status"] == "dry_run" and view["changes"] == []
        assert view["plan"]["steps"][0]["expected"]["iac"]["preview"]["counts"]["create"] == 1

    _flow(settings, workspace, body)
    assert "up" not in workspace.stack("sophia-pgvector", "prod").calls


def test_undo_reapplies_the_previous_configuration(settings: Settings, workspace: FakeWorkspace) -> None:
    async def body(svc: OrchestratorService) -> None:
        await svc.submit(_req("create a vector index called docs with 3 dimensions"))
        tuned = await _tune(svc)
        assert tuned["status"] == "applied", tuned.get("error")
        (change,) = tuned["changes"]
        assert change["before"]["m"] == 16 and change["after"]["m"] == 32
        undo = await svc.undo(change_id=change["id"], actor="cli:alice")
        assert undo["status"] == "applied", undo.get("error")
        assert undo["result"]["verified"] == {change["id"]: True}
        assert undo["plan"]["steps"][0]["expected"]["iac"]["preview"]["counts"]["update"] == 1
        assert "warning" not in undo["plan"]["steps"][0]["expected"]["iac"]
        assert svc.change(change["id"])["status"] == "rolled_back"

    _flow(settings, workspace, body)
    spec = workspace.stack("sophia-pgvector", "prod").exports["spec"]
    assert spec["indexes"]["docs"]["m"] == 16 and spec["indexes"]["docs"]["ef_construction"] == 64


def test_undo_says_when_it_needs_a_replace(settings: Settings, workspace: FakeWorkspace,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine decides what needs a replace; here the fake engine is told ``m`` does."""
    monkeypatch.setitem(fakes.REPLACE_ON, "pulumi-python:dynamic:Resource", ("name", "dimension", "metric", "m"))

    async def body(svc: OrchestratorService) -> None:
        await svc.submit(_req("create a vector index called docs with 3 dimensions"))
        tuned = await _tune(svc)
        undo = await svc.undo(change_id=tuned["changes"][0]["id"], actor="cli:alice", dry_run=True)
        iac = undo["plan"]["steps"][0]["expected"]["iac"]
        assert iac["preview"]["counts"]["replace"] == 1
        assert iac["warning"].startswith("needs a replace (deleted and re-created): index-docs (m")

    _flow(settings, workspace, body)


def test_a_failed_update_is_recorded_failed_with_the_busy_code(settings: Settings, workspace: FakeWorkspace) -> None:
    stack = workspace.stack("sophia-pgvector", "prod")

    async def body(svc: OrchestratorService) -> None:
        stack.fail = [fakes.command_error("error: [409] Conflict: Another update is currently in progress.\n")] * 10
        view = await svc.submit(_req("create a vector index called docs with 3 dimensions"))
        assert view["status"] == "failed" and view["error"]["code"] == "busy"
        assert "another update on stack sophia-pgvector/prod" in view["error"]["message"]

    _flow(settings, workspace, body)


def test_setting_names_only_resources_with_a_program(settings: Settings) -> None:
    pool = AdapterPool(settings.model_copy(update={"iac_managed": "pgvector.index,slack.channel"}))
    with pytest.raises(ConfigError, match="slack.channel") as raised:
        pool.get("pgvector")
    assert "snowflake.warehouse" in raised.value.hint


def test_pulumi_loads_only_when_an_iac_action_runs() -> None:
    code = (
        "import sys, os\n"
        "os.environ['SOPHIA_IAC_MANAGED'] = 'snowflake.warehouse,pgvector.index'\n"
        "import orchestrator.interfaces.cli, orchestrator.service, orchestrator.graph\n"
        "from orchestrator.config import Settings\n"
        "from orchestrator.deps import AdapterPool\n"
        "pool = AdapterPool(Settings())\n"
        "adapter = pool.get('pgvector')\n"
        "before = sorted(m for m in sys.modules if m == 'pulumi' or m.startswith('pulumi.'))\n"
        "adapter.program(adapter.spec('pgvector.index.create').call('docs', {'dimension': 3}))\n"
        "after = 'pulumi' in sys.modules\n"
        "print(type(adapter).__name__, before, after)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(ROOT)})
    assert out.stdout.split() == ["IacPgvectorAdapter", "[]", "True"], out.stdout + out.stderr


def test_status_lists_stack_resources(settings: Settings, workspace: FakeWorkspace) -> None:
    async def body(svc: OrchestratorService) -> None:
        await svc.submit(_req("create a vector index called docs with 3 dimensions"))
        (status,) = await svc.status("pgvector")
        names = [i["name"] for i in status["inventory"]["index"]]
        assert "docs" in names
        assert status["details"]["iac_stacks"] == ["sophia-pgvector/prod"]

    _flow(settings, workspace, body)
    json.dumps(workspace.stack("sophia-pgvector", "prod").exports)


def test_the_change_record_is_a_field_the_executor_does_not_compare() -> None:
    """Undo's checks compare resource state only because the record sits in a volatile field."""
    from iac.adapter import RECORD
    from orchestrator.executor import VOLATILE, comparable

    assert RECORD in VOLATILE
    assert comparable({"m": 16, RECORD: {"export_ref": "rollback:x"}}) == comparable({"m": 16, RECORD: None})


def test_verbs_pulumi_does_not_manage_stay_with_the_platform_adapter(settings: Settings) -> None:
    """Suspend/resume are operations, not configuration: they go to the Snowflake adapter."""
    from adapters.data.snowflake import SnowflakeAdapter

    pool = AdapterPool(settings.model_copy(update={"iac_managed": "snowflake.warehouse"}))
    adapter = pool.get("snowflake")
    assert isinstance(adapter, IacAdapter) and adapter.stack is SnowflakeAdapter.stack
    assert adapter.supports_webhooks is SnowflakeAdapter.supports_webhooks
    scale = spec_for("snowflake.warehouse.scale").call("ETL_WH", {"size": "L"})
    suspend = spec_for("snowflake.warehouse.suspend").call("ETL_WH")
    grant = spec_for("snowflake.role.grant").call("JSMITH", {"role": "ANALYST"})
    assert adapter.program(scale) is not None
    assert adapter.program(suspend) is None and adapter.program(grant) is None
    assert isinstance(adapter.inner, SnowflakeAdapter)
    assert not isinstance(pool.get("github"), IacAdapter)

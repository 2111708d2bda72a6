"""The runner: preview summaries, rollback points, retries, one writer, pending operations.

The ``pulumi`` CLI can't be installed here, so these tests give the runner a small fake
workspace (:mod:`tests.iac.fakes`) in place of Pulumi's LocalWorkspace: it runs the real
inline programs under ``set_mocks`` and answers with the SDK's real result, event and error
classes. Everything else — locking, retries, exports on disk, the journal, error mapping —
is the production code. The tests at the end drive the real Automation API as far as it
goes without the CLI.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import logging
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.registry import spec_for
from adapters.testing import run
from iac.errors import CliMissingError, PendingOperationsError, StackBusyError
from iac.programs.pgvector import PROGRAM as PGVECTOR
from iac.programs.snowflake import PROGRAM as SNOWFLAKE
from iac.programs.vercel import PROGRAM as VERCEL
from iac.runner import AutomationWorkspace, IacRunner
from orchestrator.config import Settings
from orchestrator.errors import BusyError, ConfigError
from tests.iac.fakes import FakeStack, FakeWorkspace, command_error

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def settings(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SOPHIA_PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("SOPHIA_SNOWFLAKE_TOKEN", "sf-token-000111222")
    monkeypatch.setenv("SOPHIA_VERCEL_TOKEN", "vc-token-000111222")
    return Settings(iac_retry_seconds=0.01, iac_lock_timeout_seconds=0.5)


@pytest.fixture
def workspace() -> FakeWorkspace:
    return FakeWorkspace()


@pytest.fixture
def runner(settings: Settings, workspace: FakeWorkspace) -> IacRunner:
    return IacRunner(settings, workspace)


def _warehouses(**sizes: str) -> Any:
    return SNOWFLAKE.load({"warehouses": {n: {"name": n, "size": s} for n, s in sizes.items()}})


def _stack(workspace: FakeWorkspace) -> FakeStack:
    return workspace.stack("sophia-snowflake", "prod")


def test_preview_counts_and_diffs_without_changing_anything(runner: IacRunner, workspace: FakeWorkspace) -> None:
    run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="SMALL", BI_WH="SMALL")))
    plan = run(runner.preview(SNOWFLAKE, "prod", _warehouses(ETL_WH="LARGE", NEW_WH="XSMALL")))
    assert plan.stack == "sophia-snowflake/prod"
    assert {k: plan.counts[k] for k in ("create", "update", "replace", "delete")} == {
        "create": 1, "update": 1, "replace": 0, "delete": 1}
    by_op = {c.op: c for c in plan.changes}
    assert by_op["update"].diffs == ["warehouseSize"]
    assert (by_op["update"].old, by_op["update"].new) == ({"warehouseSize": "SMALL"}, {"warehouseSize": "LARGE"})
    assert by_op["delete"].name == "warehouse-bi_wh" and by_op["create"].new["name"] == "NEW_WH"
    assert plan.has_changes and not plan.replaces
    assert run(runner.view(SNOWFLAKE, "prod")).spec == _warehouses(ETL_WH="SMALL", BI_WH="SMALL")
    assert _stack(workspace).calls.count("up") == 1


def test_up_exports_first_and_keeps_the_rollback_point(runner: IacRunner, workspace: FakeWorkspace,
                                                      settings: Settings) -> None:
    first = run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="SMALL"), keys=("warehouse/ETL_WH",)))
    second = run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="LARGE"), keys=("warehouse/ETL_WH",)))
    calls = _stack(workspace).calls
    assert calls.index("export") < calls.index("up"), "the export is taken before the update"
    assert second.counts["update"] == 1 and second.result == "succeeded" and second.version == 2
    assert second.resources == {"warehouse/ETL_WH": {"name": "ETL_WH", "size": "LARGE", "auto_suspend_seconds": 600}}
    ref = second.export_ref
    path = settings.home / "pulumi" / "rollback" / ref["ref"].removeprefix("rollback:")
    body = path.read_bytes()
    assert hashlib.sha256(body).hexdigest() == ref["sha256"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(body)["deployment"]
    (resource,) = saved["resources"]
    assert resource["inputs"]["warehouseSize"] == "SMALL", "the rollback point is the state before this update"
    assert first.export_ref["resources"] == 0 and ref["resources"] == 1
    journal = runner.journal(SNOWFLAKE, "prod")
    assert journal["warehouse/ETL_WH"] == {"export_ref": ref["ref"], "update": second.summary()}
    assert json.loads(_stack(workspace).config["sophia-spec"][0]) == _warehouses(ETL_WH="LARGE").model_dump(mode="json")
    assert _stack(workspace).env_vars["PULUMI_CONFIG_PASSPHRASE"] == PASSPHRASE, "passphrase resolved by reference"


def test_restore_imports_a_rollback_point(runner: IacRunner, workspace: FakeWorkspace) -> None:
    run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="SMALL")))
    report = run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="LARGE")))
    run(runner.restore(SNOWFLAKE, "prod", report.export_ref["ref"]))
    (state,) = _stack(workspace).resources.values()
    assert state["inputs"]["warehouseSize"] == "SMALL"


def test_new_secrets_go_to_encrypted_config_and_never_into_plans_or_outputs(runner: IacRunner,
                                                                            workspace: FakeWorkspace) -> None:
    transition = VERCEL.transition(VERCEL.empty(), spec_for("vercel.env.set").call(
        "web", {"key": "API_TOKEN", "value": "tok-very-secret-1234"}))
    plan = run(runner.preview(VERCEL, "prod", transition.spec, transition.secrets))
    env_change = next(c for c in plan.changes if c.type.endswith("ProjectEnvironmentVariable"))
    assert env_change.new["value"] == "[secret]"
    assert "tok-very-secret-1234" not in json.dumps(plan.to_dict())
    report = run(runner.up(VERCEL, "prod", transition.spec, transition.secrets))
    stack = workspace.stack("sophia-vercel", "prod")
    assert stack.config["env-web-API_TOKEN-production-v1"] == ("tok-very-secret-1234", True)
    assert "tok-very-secret-1234" not in json.dumps(report.resources) + json.dumps(stack.exports)
    again = run(runner.preview(VERCEL, "prod", transition.spec))
    assert not again.has_changes, "the next run reads the value back from stack config"


def test_concurrent_update_is_retried_a_bounded_number_of_times(runner: IacRunner, workspace: FakeWorkspace,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    stack = _stack(workspace)
    run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="SMALL")))
    stack.fail = [command_error("error: [409] Conflict: Another update is currently in progress.\n"),
                  command_error("error: the stack is currently locked by 1 lock(s). Either wait for the other "
                                "process(es) to end or delete the lock file with `pulumi cancel`.\n")]
    with caplog.at_level(logging.WARNING, logger="iac.runner"):
        report = run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="LARGE")))
    assert report.result == "succeeded" and stack.calls.count("up") == 4
    assert [r.getMessage() for r in caplog.records] == [
        "busy: another update on stack sophia-snowflake/prod; retrying (1/3)",
        "busy: another update on stack sophia-snowflake/prod; retrying (2/3)",
    ]
    stack.fail = [command_error("error: [409] Conflict: Another update is currently in progress.\n")] * 5
    with pytest.raises(StackBusyError, match="gave up after 3 retries"):
        run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="XLARGE")))
    assert stack.calls.count("up") == 8 and len(stack.fail) == 1
    assert run(runner.view(SNOWFLAKE, "prod")).spec == _warehouses(ETL_WH="LARGE")


def test_never_two_writers_on_one_stack(runner: IacRunner, workspace: FakeWorkspace) -> None:
    stack = _stack(workspace)
    active, peak = [0], [0]
    guard = threading.Lock()
    real_up = stack.up

    def slow_up(**kwargs: Any) -> Any:
        with guard:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        try:
            return real_up(**kwargs)
        finally:
            with guard:
                active[0] -= 1

    stack.up = slow_up  # type: ignore[method-assign]

    async def both() -> list[Any]:
        return await asyncio.gather(runner.up(SNOWFLAKE, "prod", _warehouses(A_WH="SMALL")),
                                    runner.up(SNOWFLAKE, "prod", _warehouses(A_WH="SMALL", B_WH="SMALL")))

    first, second = run(both())
    assert peak[0] == 1, "updates on one stack never overlap"
    assert {first.version, second.version} == {1, 2}


def test_another_process_holding_the_stack_lock_makes_us_busy(runner: IacRunner, settings: Settings) -> None:
    path = settings.home / "pulumi" / "locks" / "sophia-snowflake.prod.lock"
    path.parent.mkdir(parents=True)
    with open(path, "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(BusyError, match="another sophia-iac update on stack sophia-snowflake/prod"):
            run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="SMALL")))


def test_pending_operations_refresh_and_report_needs_reconcile_never_cancel(runner: IacRunner,
                                                                           workspace: FakeWorkspace) -> None:
    run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="SMALL")))
    stack = _stack(workspace)
    urn = next(iter(stack.resources))
    stack.pending_operations = [{"resource": {"urn": urn, "type": "snowflake:index/warehouse:Warehouse"},
                                 "type": "updating"}]
    stack.calls.clear()
    with pytest.raises(PendingOperationsError) as raised:
        run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="LARGE")))
    err = raised.value
    assert err.code == "needs_reconcile" and err.details["pending_operations"] == [
        {"urn": urn, "interrupted_while": "updating"}]
    assert stack.calls == ["export", "refresh"], "refreshed; nothing applied; never cancelled"
    assert not stack.pending_operations
    assert "pulumi cancel" in err.hint


def test_refresh_reports_drift_and_adopts_only_when_asked(runner: IacRunner, workspace: FakeWorkspace) -> None:
    run(runner.up(SNOWFLAKE, "prod", _warehouses(ETL_WH="SMALL", BI_WH="SMALL")))
    stack = _stack(workspace)
    stack.drift["warehouse-etl_wh"] = {"warehouseSize": "XLARGE"}
    drift = run(runner.refresh(SNOWFLAKE, "prod"))
    (changed,) = drift.drifted
    assert (changed.name, changed.diffs, changed.new) == ("warehouse-etl_wh", ["warehouseSize"],
                                                          {"warehouseSize": "XLARGE"})
    assert drift.counts["update"] == 1 and drift.counts["same"] == 1 and not drift.adopted
    assert "refresh" not in stack.calls and stack.drift, "a drift report changes nothing"
    adopted = run(runner.refresh(SNOWFLAKE, "prod", adopt=True))
    assert adopted.adopted and len(adopted.drifted) == 1 and not stack.drift


def test_destroy_exports_then_removes_everything(runner: IacRunner, workspace: FakeWorkspace) -> None:
    run(runner.up(PGVECTOR, "prod", PGVECTOR.load({"indexes": {"docs": {"name": "docs", "dimension": 3}}})))
    report = run(runner.destroy(PGVECTOR, "prod"))
    assert report.counts["delete"] == 1 and report.export_ref["resources"] == 1
    assert workspace.stack("sophia-pgvector", "prod").resources == {}


def test_missing_cli_is_reported_before_asking_for_a_passphrase(settings: Settings, workspace: FakeWorkspace,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPHIA_PULUMI_CONFIG_PASSPHRASE")
    workspace.preflight_error = FileNotFoundError(2, "No such file or directory", "pulumi")
    with pytest.raises(CliMissingError, match="pulumi CLI is not installed"):
        run(IacRunner(settings, workspace).preview(SNOWFLAKE, "prod", _warehouses()))


def test_missing_passphrase_names_the_variable(settings: Settings, workspace: FakeWorkspace,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPHIA_PULUMI_CONFIG_PASSPHRASE")
    with pytest.raises(ConfigError, match="config passphrase") as raised:
        run(IacRunner(settings, workspace).preview(SNOWFLAKE, "prod", _warehouses()))
    assert "SOPHIA_PULUMI_CONFIG_PASSPHRASE" in raised.value.hint


def test_provider_credentials_are_resolved_by_reference(settings: Settings, workspace: FakeWorkspace,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPHIA_SNOWFLAKE_TOKEN")
    runner = IacRunner(settings, workspace)
    with pytest.raises(ConfigError, match="no token configured for snowflake"):
        run(runner.view(SNOWFLAKE, "prod"))
    monkeypatch.setenv("SOPHIA_SNOWFLAKE_TOKEN", "sf-token-000111222")
    run(runner.view(SNOWFLAKE, "prod"))
    assert _stack(workspace).env_vars["SNOWFLAKE_TOKEN"] == "sf-token-000111222"


# -- the real Automation API, as far as it goes without the CLI -----------------------------


def test_real_workspace_without_the_cli_gives_the_install_hint(settings: Settings) -> None:
    import shutil

    if shutil.which("pulumi"):
        pytest.skip("the pulumi CLI is installed here; tests/iac/test_automation.py covers the real runs")
    with pytest.raises(CliMissingError) as raised:
        run(IacRunner(settings).preview(PGVECTOR, "prod", PGVECTOR.empty()))
    assert "get.pulumi.com" in raised.value.hint


def test_backend_is_local_file_under_sophia_home_unless_set(settings: Settings) -> None:
    url = AutomationWorkspace(settings).backend_url()
    assert url == f"file://{settings.home / 'pulumi' / 'state'}" and (settings.home / "pulumi" / "state").is_dir()
    other = Settings(iac_backend_url="s3://bucket/sophia?region=eu-west-1")
    assert AutomationWorkspace(other).backend_url() == "s3://bucket/sophia?region=eu-west-1"

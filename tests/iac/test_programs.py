"""Every IaC program under ``pulumi.runtime.set_mocks``: typed specs in; resources, properties
and dependencies out.

The mocks stand in for the Pulumi engine and the provider plugins (neither can run here: the
``pulumi`` CLI can't be installed). What is asserted is what the program itself decides: the
resource types, logical names, inputs, explicit providers and the dependencies Pulumi records
from output-to-input wiring. The pgvector dynamic provider's CRUD runs for real against
PostgreSQL.
"""

from __future__ import annotations

import base64
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from adapters.registry import spec_for
from iac.programs.base import PROGRAMS, Program, program_for
from iac.programs.github import PROGRAM as GITHUB
from iac.programs.github import GitHubSpec, github_program
from iac.programs.pgvector import PROGRAM as PGVECTOR
from iac.programs.pgvector import IndexSpec, PgVectorIndexProvider, PgVectorSpec, pgvector_program
from iac.programs.snowflake import PROGRAM as SNOWFLAKE
from iac.programs.snowflake import SnowflakeSpec, WarehouseSpec, snowflake_program
from iac.programs.vercel import PROGRAM as VERCEL
from iac.programs.vercel import SECRET_REF, VercelSpec, vercel_program
from orchestrator.errors import ValidationFailedError
from tests.iac.mockrun import Registered, run_program


class _Secrets:
    """ProgramContext for tests: every secret is ``secret-<name>``, marked secret."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def secret(self, name: str) -> Any:
        self.asked.append(name)
        return pulumi.Output.secret(f"secret-{name}")


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _secret(value: Any) -> Any:
    """The plain value of an input Pulumi marked secret (fails if it isn't marked)."""
    assert isinstance(value, dict) and value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270", value
    return value["value"]


def _by_type(registered: dict[str, Registered], type_: str) -> list[Registered]:
    return sorted((r for r in registered.values() if r.type == type_), key=lambda r: r.name)


# -- snowflake -----------------------------------------------------------------------------


def test_snowflake_spec_becomes_warehouses_and_databases() -> None:
    spec = SnowflakeSpec.model_validate({
        "warehouses": {"ETL_WH": {"name": "etl_wh", "size": "x-large", "auto_suspend_seconds": 300},
                       "BI_WH": {"name": "BI_WH", "auto_resume": False, "comment": "dashboards"}},
        "databases": {"ANALYTICS": {"name": "analytics", "retention_days": 7}},
    })
    _, registered = run_program(lambda: snowflake_program(spec))
    etl, bi = _by_type(registered, "snowflake:index/warehouse:Warehouse")[::-1]
    assert (etl.name, etl.inputs) == ("warehouse-etl_wh", {"name": "ETL_WH", "warehouseSize": "XLARGE",
                                                           "autoSuspend": 300, "autoResume": "true"})
    assert bi.inputs == {"name": "BI_WH", "warehouseSize": "XSMALL", "autoSuspend": 600, "autoResume": "false",
                         "comment": "dashboards"}
    (db,) = _by_type(registered, "snowflake:index/database:Database")
    assert db.inputs == {"name": "ANALYTICS", "dataRetentionTimeInDays": 7}
    assert all(not r.dependencies and not r.provider for r in registered.values()), "independent, default provider"
    assert len(registered) == 3


def test_snowflake_spec_rejects_what_snowflake_would() -> None:
    with pytest.raises(ValidationError, match="not a Snowflake identifier"):
        WarehouseSpec(name="etl-wh; drop")
    with pytest.raises(ValidationError, match="size"):
        WarehouseSpec(name="ETL_WH", size="HUGE")
    with pytest.raises(ValidationError, match="extra"):
        SnowflakeSpec.model_validate({"warehouses": {}, "schemas": {}})


# -- github --------------------------------------------------------------------------------


def test_github_spec_becomes_provider_repo_and_branch_protection_in_order() -> None:
    spec = GitHubSpec.model_validate({"repos": {
        "payready/ledger-service": {"full_name": "PayReady/Ledger-Service", "description": "the ledger",
                                    "protections": {"main": {"required_reviews": 2},
                                                    "release": {"branch": "release", "required_reviews": 1,
                                                                "enforce_admins": True}}},
        "payready/docs": {"full_name": "payready/docs", "private": False},
    }})
    _, registered = run_program(lambda: github_program(spec))
    (provider,) = _by_type(registered, "pulumi:providers:github")
    assert provider.inputs["owner"] == "payready" and "token" not in provider.inputs
    docs, ledger = _by_type(registered, "github:index/repository:Repository")
    assert ledger.inputs == {"name": "ledger-service", "visibility": "private", "description": "the ledger",
                             "archived": False, "autoInit": True, "archiveOnDestroy": True}
    assert docs.inputs["visibility"] == "public"
    assert ledger.provider.startswith(provider.urn) and docs.provider.startswith(provider.urn)
    main, release = _by_type(registered, "github:index/branchProtection:BranchProtection")
    assert main.inputs == {"pattern": "main", "repositoryId": "R_repo-payready-ledger-service",
                           "requiredPullRequestReviews": [{"requiredApprovingReviewCount": 2}],
                           "enforceAdmins": False}
    assert release.inputs["enforceAdmins"] is True
    for rule in (main, release):
        assert rule.dependencies == [ledger.urn], "protection is created after its repository"
        assert rule.property_dependencies["repositoryId"] == [ledger.urn]
        assert rule.provider.startswith(provider.urn)


def test_github_providers_are_per_owner() -> None:
    spec = GitHubSpec.model_validate({"repos": {"a/x": {"full_name": "a/x"}, "b/y": {"full_name": "b/y"}}})
    _, registered = run_program(lambda: github_program(spec))
    owners = {r.inputs["owner"] for r in _by_type(registered, "pulumi:providers:github")}
    assert owners == {"a", "b"}


# -- vercel --------------------------------------------------------------------------------


def test_vercel_spec_becomes_project_and_env_vars_with_secret_values() -> None:
    spec = VercelSpec.model_validate({"team_id": "team_1", "projects": {"web": {"name": "web", "framework": "nextjs", "env": {
        "API_URL@production": {"key": "API_URL", "environment": "production", "secret": "env-web-API_URL-production-v1"},
        "DEBUG@development": {"key": "DEBUG", "environment": "development", "secret": "env-web-DEBUG-development-v2"},
    }}}})
    ctx = _Secrets()
    _, registered = run_program(lambda: vercel_program(spec, ctx))
    (project,) = _by_type(registered, "vercel:index/project:Project")
    assert project.inputs == {"name": "web", "framework": "nextjs", "teamId": "team_1"}
    api, debug = _by_type(registered, "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable")
    assert api.inputs["key"] == "API_URL" and api.inputs["targets"] == ["production"]
    assert api.inputs["sensitive"] is True and debug.inputs["sensitive"] is False, "development can't be sensitive"
    assert _secret(api.inputs["value"]) == "secret-env-web-API_URL-production-v1", "the value stays a secret"
    assert api.inputs["projectId"] == project.id and api.dependencies == [project.urn]
    assert sorted(ctx.asked) == ["env-web-API_URL-production-v1", "env-web-DEBUG-development-v2"]


def test_vercel_transition_stores_values_as_numbered_secrets_and_undo_reuses_them() -> None:
    set_ = spec_for("vercel.env.set")
    first = VERCEL.transition(VERCEL.empty(), set_.call("web", {"key": "API_URL", "value": "https://a.example"}))
    assert first.secrets == {"env-web-API_URL-production-v1": "https://a.example"}
    assert "https://a.example" not in first.spec.model_dump_json(), "the spec only names the secret"
    second = VERCEL.transition(first.spec, set_.call("web", {"key": "API_URL", "value": "https://b.example"}))
    assert list(second.secrets) == ["env-web-API_URL-production-v2"]
    key_state = VERCEL.expected(second.spec, set_.call("web", {"key": "API_URL", "value": "x"}))
    assert key_state == {"key": "API_URL", "environment": "production", "exists": True,
                         "value_ref": SECRET_REF + "env-web-API_URL-production-v2"}
    undo = VERCEL.transition(second.spec, set_.call("web", {"key": "API_URL",
                                                            "value": SECRET_REF + "env-web-API_URL-production-v1"}))
    assert undo.secrets == {}, "an undo re-uses the stored value without reading it"
    unset = VERCEL.transition(undo.spec, spec_for("vercel.env.unset").call("web", {"key": "API_URL"}))
    assert VERCEL.state(spec_for("vercel.env.unset").call("web", {"key": "API_URL"}), VERCEL.describe(unset.spec)) == {
        "key": "API_URL", "environment": "production", "exists": False, "value_ref": None}
    again = VERCEL.transition(unset.spec, set_.call("web", {"key": "API_URL", "value": "c"}))
    assert list(again.secrets) == ["env-web-API_URL-production-v3"], "a stored value is never overwritten"


# -- pgvector (dynamic provider) -----------------------------------------------------------


def test_pgvector_spec_becomes_dynamic_resources() -> None:
    spec = PgVectorSpec.model_validate({"indexes": {"docs": {"name": "docs", "dimension": 384},
                                                    "faq": {"name": "faq", "dimension": 8, "metric": "l2", "m": 8}}})
    _, registered = run_program(lambda: pgvector_program(spec))
    docs, faq = _by_type(registered, "pulumi-python:dynamic:Resource")
    assert docs.name == "index-docs"
    assert {k: v for k, v in docs.inputs.items() if not k.startswith("__")} == {
        "name": "docs", "dimension": 384, "metric": "cosine", "m": 16, "ef_construction": 64}
    assert faq.inputs["metric"] == "l2" and faq.inputs["m"] == 8
    serialized = base64.b64decode(_secret(docs.inputs["__provider"]))
    assert b"iac.programs.pgvector" in serialized and b"PgVectorIndexProvider" in serialized, "pickled by reference"
    assert b"postgresql" not in serialized, "no connection string in the state"


def test_pgvector_provider_diff_asks_for_replace_only_when_the_table_must_change() -> None:
    provider = PgVectorIndexProvider()
    old = IndexSpec(name="docs", dimension=8).model_dump()
    tune = provider.diff("docs", old, old | {"m": 32})
    assert tune.changes and not tune.replaces
    redim = provider.diff("docs", old, old | {"dimension": 16})
    assert redim.replaces == ["dimension"] and redim.delete_before_replace
    assert not provider.diff("docs", old, dict(old)).changes
    assert provider.check({}, old | {"dimension": 0}).failures


def test_pgvector_provider_crud_against_postgres(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.config import get_settings

    monkeypatch.setenv("SOPHIA_PGVECTOR_URL", pg_url)
    get_settings.cache_clear()
    provider = PgVectorIndexProvider()
    props = IndexSpec(name="iac-docs", dimension=3).model_dump()
    created = provider.create(props)
    assert created.id == "iac-docs" and created.outs == props
    assert provider.read("iac-docs", props).outs == props
    updated = provider.update("iac-docs", props, props | {"m": 24, "ef_construction": 100})
    assert updated.outs == props | {"m": 24, "ef_construction": 100}
    provider.delete("iac-docs", props)
    gone = provider.read("iac-docs", props)
    assert gone.id is None


# -- every program -------------------------------------------------------------------------

SPECS: dict[str, dict[str, Any]] = {
    "snowflake": {"warehouses": {"ETL_WH": {"name": "ETL_WH", "size": "LARGE"}},
                  "databases": {"RAW": {"name": "RAW", "retention_days": 3}}},
    "github": {"repos": {"acme/web": {"full_name": "acme/web", "protections": {"main": {"required_reviews": 2}}}}},
    "vercel": {"projects": {"web": {"name": "web", "env": {
        "API_URL@preview": {"key": "API_URL", "environment": "preview", "secret": "env-web-API_URL-preview-v1"}}}}},
    "pgvector": {"indexes": {"docs": {"name": "docs", "dimension": 3}}},
}


@pytest.mark.parametrize("program", [SNOWFLAKE, GITHUB, VERCEL, PGVECTOR], ids=lambda p: p.name)
def test_exports_from_real_outputs_agree_with_the_spec(program: Program[Any]) -> None:
    """What the stack reports after an update (built from resource outputs) is what the spec predicts."""
    spec = program.load(SPECS[program.name])
    exported, _ = run_program(lambda: program.exports(spec, program.build(spec, _Secrets())))
    assert exported == program.describe(spec)
    assert exported, "every program reports its resources"


@pytest.mark.parametrize("program", [SNOWFLAKE, GITHUB, VERCEL, PGVECTOR], ids=lambda p: p.name)
def test_every_handled_action_is_a_catalog_action_of_the_programs_platform(program: Program[Any]) -> None:
    for action in program.handles:
        spec = spec_for(action)
        assert spec.platform == program.platform and PROGRAMS[f"{spec.platform}.{spec.resource}"]
        assert program_for(f"{spec.platform}.{spec.resource}") is program
    assert program.project == f"sophia-{program.name}"


def test_transitions_follow_the_catalog() -> None:
    wh = SNOWFLAKE.transition(SNOWFLAKE.empty(), spec_for("snowflake.warehouse.create").call("etl_wh", {"size": "S"}))
    assert wh.spec.warehouses["ETL_WH"].size == "SMALL"
    scaled = SNOWFLAKE.transition(wh.spec, spec_for("snowflake.warehouse.scale").call("ETL_WH", {"size": "XL"}))
    assert scaled.spec.warehouses["ETL_WH"].size == "XLARGE" and wh.spec.warehouses["ETL_WH"].size == "SMALL"
    idle = SNOWFLAKE.transition(scaled.spec, spec_for("snowflake.warehouse.set_auto_suspend").call("ETL_WH", {"seconds": "5m"}))
    assert idle.spec.warehouses["ETL_WH"].auto_suspend_seconds == 300
    dropped = SNOWFLAKE.transition(idle.spec, spec_for("snowflake.warehouse.drop").call("ETL_WH"))
    assert dropped.spec.warehouses == {}
    repo = GITHUB.transition(GITHUB.empty(), spec_for("github.repo.create").call("acme/api", {"private": True}))
    protected = GITHUB.transition(repo.spec, spec_for("github.branch_protection.set").call("acme/api", {"required_reviews": 2}))
    assert protected.spec.repos["acme/api"].protections["main"].required_reviews == 2
    archived = GITHUB.transition(protected.spec, spec_for("github.repo.archive").call("acme/api"))
    assert archived.spec.repos["acme/api"].archived is True
    with pytest.raises(ValidationFailedError, match="not managed as code"):
        GITHUB.transition(GITHUB.empty(), spec_for("github.branch_protection.set").call("acme/other", {}))
    idx = PGVECTOR.transition(PGVECTOR.empty(), spec_for("pgvector.index.create").call("docs", {"dimension": 3}))
    tuned = PGVECTOR.transition(idx.spec, spec_for("pgvector.index.configure").call("docs", {"m": 8, "ef_construction": 32}))
    assert (tuned.spec.indexes["docs"].m, tuned.spec.indexes["docs"].dimension) == (8, 3)


def test_precheck_refuses_create_over_existing_and_change_of_missing() -> None:
    create = spec_for("snowflake.warehouse.create").call("ETL_WH", {})
    scale = spec_for("snowflake.warehouse.scale").call("ETL_WH", {"size": "L"})
    SNOWFLAKE.precheck(create, None)
    with pytest.raises(ValidationFailedError, match="already exists"):
        SNOWFLAKE.precheck(create, {"name": "ETL_WH"})
    with pytest.raises(ValidationFailedError, match="not managed as code"):
        SNOWFLAKE.precheck(scale, None)
    VERCEL.precheck(spec_for("vercel.env.unset").call("web", {"key": "A"}), None)

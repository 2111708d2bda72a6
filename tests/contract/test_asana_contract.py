"""The Asana adapter against a HAND-WRITTEN contract of Asana's REST API 1.0, served by Prism.

``fixtures/asana/openapi.yaml`` describes, from Asana's API reference (cited in the file),
exactly the seven operations the adapter uses, with strict request schemas (bodies wrapped in
``data``, no unknown fields, numeric gids). Passing shows the adapter sends what the
documentation describes. Every request must have zero request-side violations (body, header,
path, query). Prism is stateless, so :class:`AsanaTwin` chooses its declared answers and keeps
the workspace's projects; ``twin.fault`` forces the documented errors (401, 403, 404, 429, 5xx).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import httpx
import pytest

from adapters.catalog import ActionCall
from adapters.http import PlatformAuthError
from adapters.ops.asana import AsanaAdapter
from adapters.registry import spec_for
from adapters.specs.asana import ACTIONS
from orchestrator.errors import AdapterError, ConfigError, NotFoundError, ValidationFailedError

from .asana_twin import WORKSPACE, AsanaTwin, served
from .common import assert_catalog_covered, pointed_at, sent
from .prism import PrismServer, RecordingTransport, assert_no_request_violations, request_violations
from .steered import Sleeps

TOKEN = "2/1200000000000031/1209999999999999:contractbeef"

#: action → (target, params, the one mutating request)
CASES: dict[str, tuple[str, dict[str, Any], tuple[str, str]]] = {
    "asana.project.create": ("Launch Plan", {"team": "Engineering"}, ("POST", "/projects")),
    "asana.project.archive": ("Website Relaunch", {}, ("PUT", "/projects/1201000000000101")),
    "asana.project.unarchive": ("Q3 Planning", {}, ("PUT", "/projects/1201000000000102")),
    "asana.task.create": ("Vendor Review", {"name": "Collect SOC2 reports"}, ("POST", "/tasks")),
}


@pytest.fixture(scope="module")
def asana_server() -> Iterator[PrismServer]:
    """One Prism for this module, serving the hand-written contract."""
    with served() as server:
        yield server


@pytest.fixture
def twin() -> AsanaTwin:
    return AsanaTwin()


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, asana_server: PrismServer, twin: AsanaTwin
) -> Iterator[RecordingTransport]:
    monkeypatch.delenv("SOPHIA_ASANA_TEAM", raising=False)
    with pointed_at(monkeypatch, "asana", asana_server.base_url, TOKEN, SOPHIA_ASANA_WORKSPACE=WORKSPACE):
        yield twin.attach(RecordingTransport())


@pytest.fixture
async def adapter(env: RecordingTransport) -> AsyncIterator[AsanaAdapter]:
    async with aclosing(AsanaAdapter(transport=env, sleep=Sleeps())) as a:
        yield a


def mutations(env: RecordingTransport) -> list[tuple[str, str]]:
    return [(m, p) for m, p in sent(env.exchanges) if m != "GET"]


def body_of(env: RecordingTransport, method: str) -> Any:
    return json.loads(next(ex for ex in env.exchanges if ex.request.method == method).request.content)


def test_every_catalog_action_has_a_contract_case() -> None:
    assert_catalog_covered(AsanaAdapter, ACTIONS, CASES)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_speaks_the_contract(
    action: str, adapter: AsanaAdapter, env: RecordingTransport
) -> None:
    target, params, mutation = CASES[action]
    result = await adapter.configure(ActionCall(action=action, target=target, params=params))
    assert assert_no_request_violations(env.exchanges) >= 2
    assert mutations(env) == [mutation]
    for ex in env.exchanges:
        assert ex.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert adapter.reached(result.call, result.expected, result.after)
    assert result.inverse == adapter.spec(action).derive_inverse(result.call, result.before, result.after)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_dry_run_sends_nothing_mutating(
    action: str, adapter: AsanaAdapter, env: RecordingTransport
) -> None:
    target, params, _ = CASES[action]
    result = await adapter.configure(ActionCall(action=action, target=target, params=params), dry_run=True)
    assert result.dry_run and result.after is None
    assert mutations(env) == [] and env.exchanges
    assert_no_request_violations(env.exchanges)


# -- projects ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_create_resolves_the_team_by_name_and_reads_back(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin
) -> None:
    result = await adapter.configure(
        spec_for("asana.project.create").call("Launch  Plan", {"team": "engineering"})
    )
    assert body_of(env, "POST") == {
        "data": {"name": "Launch Plan", "workspace": WORKSPACE, "team": "1200000000000012"}
    }
    assert (
        result.after is not None
        and result.after["team"] == "Engineering"
        and result.after["archived"] is False
    )
    gid = result.after["gid"]
    assert sent(env.exchanges) == [
        ("GET", "/projects"),
        (("GET", f"/workspaces/{WORKSPACE}/teams")),
        ("POST", "/projects"),
        ("GET", f"/projects/{gid}"),
    ]
    # The inverse names the project as typed; names are matched with whitespace collapsed.
    assert result.inverse == ActionCall(action="asana.project.archive", target="Launch  Plan")
    assert twin.projects[gid]["name"] == "Launch Plan"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_create_uses_the_default_team_setting(
    adapter: AsanaAdapter, env: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHIA_ASANA_TEAM", "Marketing")
    result = await adapter.configure(spec_for("asana.project.create").call("Brand Refresh"))
    assert body_of(env, "POST")["data"]["team"] == "1200000000000011"
    assert result.expected == {"name": "Brand Refresh", "archived": False, "team": "Marketing"}
    assert adapter.reached(result.call, result.expected, result.after)


@pytest.mark.anyio
async def test_create_without_a_team_sends_none(adapter: AsanaAdapter, env: RecordingTransport) -> None:
    await adapter.configure(spec_for("asana.project.create").call("Solo Notes"))
    assert body_of(env, "POST") == {"data": {"name": "Solo Notes", "workspace": WORKSPACE}}
    assert ("GET", f"/workspaces/{WORKSPACE}/teams") not in sent(env.exchanges)


@pytest.mark.anyio
async def test_unknown_team_lists_the_teams_and_creates_nothing(
    adapter: AsanaAdapter, env: RecordingTransport
) -> None:
    with pytest.raises(NotFoundError, match="no team is called 'Sales'") as err:
        await adapter.configure(spec_for("asana.project.create").call("Launch Plan", {"team": "Sales"}))
    assert "Engineering, Marketing" in err.value.hint
    assert mutations(env) == []


@pytest.mark.anyio
async def test_archive_sends_archived_true(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin
) -> None:
    result = await adapter.configure(spec_for("asana.project.archive").call("website relaunch"))
    assert body_of(env, "PUT") == {"data": {"archived": True}}
    assert twin.projects["1201000000000101"]["archived"] is True
    assert result.after == {
        "gid": "1201000000000101",
        "name": "Website Relaunch",
        "team": "Marketing",
        "archived": True,
    }
    assert result.inverse == ActionCall(action="asana.project.unarchive", target="website relaunch")
    undo = await adapter.configure(result.inverse)
    assert undo.after is not None and undo.after["archived"] is False
    assert [json.loads(ex.request.content) for ex in env.exchanges if ex.request.method == "PUT"] == [
        {"data": {"archived": True}},
        {"data": {"archived": False}},
    ]


@pytest.mark.anyio
async def test_a_project_may_be_named_by_gid(adapter: AsanaAdapter, env: RecordingTransport) -> None:
    result = await adapter.configure(spec_for("asana.project.archive").call("1201000000000105"))
    assert (
        result.after is not None
        and result.after["name"] == "Roadmap"
        and result.after["team"] == "Engineering"
    )


@pytest.mark.anyio
async def test_an_ambiguous_name_lists_the_candidates(adapter: AsanaAdapter, env: RecordingTransport) -> None:
    with pytest.raises(ValidationFailedError, match="2 projects are called 'Roadmap'") as err:
        await adapter.configure(spec_for("asana.project.archive").call("Roadmap"))
    assert "1201000000000104" in err.value.message and "1201000000000105" in err.value.message
    assert "team Marketing" in err.value.message and "gid" in err.value.hint
    assert mutations(env) == []


@pytest.mark.anyio
async def test_projects_are_listed_page_by_page(
    adapter: AsanaAdapter, env: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AsanaAdapter, "page_size", 2)
    state = await adapter.observe(spec_for("asana.project.archive").call("Roadmap 2", {}))
    assert state is None
    pages = [ex.request.url.params for ex in env.exchanges]
    assert [p.get("offset") for p in pages] == [None, "2", "4"]
    assert all(p["limit"] == "2" and p["workspace"] == WORKSPACE for p in pages)
    assert_no_request_violations(env.exchanges)


@pytest.mark.parametrize(
    ("action", "target", "message"),
    [
        ("asana.project.create", "Website Relaunch", "already exists"),
        ("asana.project.create", "Q3 Planning", "unarchive it instead"),
        ("asana.project.archive", "Q3 Planning", "already archived"),
        ("asana.project.unarchive", "Vendor Review", "not archived"),
    ],
)
@pytest.mark.anyio
async def test_refusals_send_no_mutation(
    adapter: AsanaAdapter, env: RecordingTransport, action: str, target: str, message: str
) -> None:
    with pytest.raises(ValidationFailedError, match=message):
        await adapter.configure(spec_for(action).call(target))
    assert mutations(env) == []


@pytest.mark.anyio
async def test_missing_project_is_not_found_naming_it(adapter: AsanaAdapter, env: RecordingTransport) -> None:
    with pytest.raises(NotFoundError, match="no project named 'Ghost Project'"):
        await adapter.configure(spec_for("asana.project.archive").call("Ghost Project"))
    with pytest.raises(NotFoundError, match="'Ghost Project'"):
        await adapter.configure(spec_for("asana.task.create").call("Ghost Project", {"name": "x"}))
    assert mutations(env) == []


@pytest.mark.anyio
async def test_404_on_the_update_names_the_project(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin
) -> None:
    twin.fault("PUT", "/projects/1201000000000101", 404)
    with pytest.raises(NotFoundError) as err:
        await adapter.configure(spec_for("asana.project.archive").call("Website Relaunch"))
    assert err.value.details["target"] == "Website Relaunch"
    assert "Unknown object" in err.value.message, "Asana's own message reaches the error"


# -- tasks ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_task_create_posts_into_the_project(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin
) -> None:
    result = await adapter.configure(
        spec_for("asana.task.create").call(
            "Website Relaunch", {"name": "Book venue", "assignee": "Kim@Example.com"}
        )
    )
    assert body_of(env, "POST") == {
        "data": {"name": "Book venue", "projects": ["1201000000000101"], "assignee": "kim@example.com"}
    }
    assert result.after is not None and result.after["assignee"] == "kim@example.com"
    assert result.after["project"] == "Website Relaunch" and result.inverse is None
    listing = next(ex for ex in env.exchanges if ex.request.url.path == "/tasks")
    assert listing.request.url.params["completed_since"] == "now"
    assert [t["name"] for t in twin.tasks["1201000000000101"]] == ["Draft launch email", "Book venue"]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_a_duplicate_open_task_is_refused(adapter: AsanaAdapter, env: RecordingTransport) -> None:
    with pytest.raises(ValidationFailedError, match="already has an open task called 'Draft launch email'"):
        await adapter.configure(
            spec_for("asana.task.create").call("Website Relaunch", {"name": "Draft launch email"})
        )
    assert mutations(env) == []


@pytest.mark.anyio
async def test_a_create_is_not_repeated_after_a_server_error(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin
) -> None:
    twin.fault("POST", "/tasks", 500)
    with pytest.raises(AdapterError, match="HTTP 500"):
        await adapter.configure(spec_for("asana.task.create").call("Vendor Review", {"name": "Audit"}))
    assert mutations(env) == [("POST", "/tasks")]


# -- errors, auth, settings, status --------------------------------------------------------


@pytest.mark.anyio
async def test_429_is_retried_after_retry_after(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin
) -> None:
    twin.fault("PUT", "/projects/1201000000000101", 429)
    result = await adapter.configure(spec_for("asana.project.archive").call("Website Relaunch"))
    assert [ex.response.status_code for ex in env.exchanges if ex.request.method == "PUT"] == [429, 200]
    assert adapter.sleep.waits == [1.0]  # type: ignore[union-attr]
    assert result.after is not None and result.after["archived"] is True


@pytest.mark.anyio
@pytest.mark.parametrize("code", [401, 403])
async def test_auth_failures_name_the_credential_variable(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin, code: int
) -> None:
    twin.fault("GET", "/projects", code)
    with pytest.raises(PlatformAuthError) as err:
        await adapter.configure(spec_for("asana.project.archive").call("Website Relaunch"))
    assert "SOPHIA_ASANA_TOKEN" in err.value.hint
    assert TOKEN not in json.dumps(err.value.to_dict())
    assert [ex.response.status_code for ex in env.exchanges] == [code], "a refused token is not retried"


@pytest.mark.anyio
async def test_missing_workspace_is_a_config_error_naming_the_setting(
    adapter: AsanaAdapter, env: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPHIA_ASANA_WORKSPACE")
    with pytest.raises(ConfigError, match="SOPHIA_ASANA_WORKSPACE is not set") as err:
        await adapter.configure(spec_for("asana.project.create").call("Launch Plan"))
    assert "SOPHIA_ASANA_WORKSPACE" in err.value.hint
    status = await adapter.get_status()
    assert not status.configured and "SOPHIA_ASANA_WORKSPACE" in status.message
    monkeypatch.setenv("SOPHIA_ASANA_WORKSPACE", "My Workspace")
    with pytest.raises(ConfigError, match="is not a workspace gid"):
        await adapter.observe(spec_for("asana.project.archive").call("Launch Plan"))
    assert env.exchanges == []


@pytest.mark.anyio
async def test_missing_token_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: RecordingTransport
) -> None:
    monkeypatch.delenv("SOPHIA_ASANA_TOKEN")
    async with aclosing(AsanaAdapter(transport=env)) as adapter:
        status = await adapter.get_status()
    assert not status.configured and not status.healthy
    assert "SOPHIA_ASANA_TOKEN" in status.message
    assert env.exchanges == []


@pytest.mark.anyio
async def test_prism_refuses_a_request_without_the_token(asana_server: PrismServer) -> None:
    """The contract requires a bearer token: proof that a tokenless request would be caught."""
    async with httpx.AsyncClient(base_url=asana_server.base_url) as client:
        response = await client.get("/projects", params={"workspace": WORKSPACE})
    assert response.status_code == 401 and request_violations(response)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "body", "problem"),
    [
        ("POST", "/projects", {"name": "x", "workspace": WORKSPACE}, "data"),
        ("POST", "/projects", {"data": {"name": "x", "workspace": WORKSPACE, "teem": "1"}}, "teem"),
        ("PUT", "/projects/1201000000000101", {"data": {"archived": "yes"}}, "archived"),
        ("POST", "/tasks", {"data": {"name": "x", "projects": ["Website Relaunch"]}}, "projects"),
        ("GET", "/projects", None, "workspace"),
    ],
)
async def test_the_contract_catches_wrong_requests(
    asana_server: PrismServer, method: str, path: str, body: Any, problem: str
) -> None:
    """An unwrapped body, a misspelt field, a wrong type, a name for a gid: the checks can fail."""
    async with httpx.AsyncClient(
        base_url=asana_server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as client:
        response = await client.request(method, path, json=body)
    found = request_violations(response)
    assert any(problem in json.dumps(v).lower() for v in found), found


@pytest.mark.anyio
async def test_status_lists_every_project(adapter: AsanaAdapter, env: RecordingTransport) -> None:
    status = await adapter.get_status()
    assert status.healthy and status.configured
    names = [p["name"] for p in status.inventory["project"]]
    assert names == ["Website Relaunch", "Q3 Planning", "Vendor Review", "Roadmap", "Roadmap"]
    assert status.inventory["project"][2] == {
        "gid": "1201000000000103",
        "name": "Vendor Review",
        "team": None,
        "archived": False,
    }
    assert "5 project(s), 1 archived" in status.message
    assert status.details["workspace"] == WORKSPACE and status.details["circuit"]["state"] == "closed"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_status_retries_a_5xx_then_reports_unhealthy(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin
) -> None:
    twin.fault("GET", "/projects", 500, times=2)
    assert (await adapter.get_status()).healthy
    twin.fault("GET", "/projects", 500, times=10)
    status = await adapter.get_status()
    assert not status.healthy and status.configured and "asana" in status.message

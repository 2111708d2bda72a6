"""The Asana adapter against a HAND-WRITTEN contract of Asana's REST API 1.0, served by Prism.

``fixtures/asana/openapi.yaml`` describes, from Asana's API reference (cited in the file),
exactly the eleven operations the adapter uses, with strict request schemas (bodies wrapped in
``data``, no unknown fields, numeric gids). Passing shows the adapter sends what the
documentation describes. Every request must have zero request-side violations (body, header,
path, query). Prism is stateless, so :class:`AsanaTwin` chooses its declared answers and keeps
the workspace's projects; ``twin.fault`` forces the documented errors (401, 403, 404, 429, 5xx).

Webhooks: the twin handshakes a create's target while ``POST /webhooks`` is open, through
sophia's own handshake door on this test's state store (a hook on Website Relaunch is already
established there, as an earlier create would have left it); with the door gone (unreachable)
or answering wrong, the create fails and nothing is kept, as Asana documents. A create whose
answer is lost after Asana kept the hook is driven through the real executor and ledger: it
must settle ``applied`` by reading Asana back (``GET /webhooks``), with the hook's secret live.
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

from .asana_twin import WORKSPACE, AsanaTwin, served, sophia_door
from .common import assert_catalog_covered, pointed_at, sent
from .prism import PrismServer, RecordingTransport, assert_no_request_violations, request_violations
from .steered import Sleeps

TOKEN = "2/1200000000000031/1209999999999999:contractbeef"
HOOK_URL = "https://sophia.example.com/webhooks/asana"
#: The hook already established on Website Relaunch, and the secret its handshake gave.
HOOK = "1203000000000301"
HOOK_SECRET = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"

#: action → (target, params, the one mutating request)
CASES: dict[str, tuple[str, dict[str, Any], tuple[str, str]]] = {
    "asana.project.create": ("Launch Plan", {"team": "Engineering"}, ("POST", "/projects")),
    "asana.project.archive": ("Website Relaunch", {}, ("PUT", "/projects/1201000000000101")),
    "asana.project.unarchive": ("Q3 Planning", {}, ("PUT", "/projects/1201000000000102")),
    "asana.task.create": ("Vendor Review", {"name": "Collect SOC2 reports"}, ("POST", "/tasks")),
    "asana.webhook.create": ("Vendor Review", {"url": HOOK_URL}, ("POST", "/webhooks")),
    "asana.webhook.delete": ("Website Relaunch", {}, ("DELETE", f"/webhooks/{HOOK}")),
}


@pytest.fixture(scope="module")
def asana_server() -> Iterator[PrismServer]:
    """One Prism for this module, serving the hand-written contract."""
    with served() as server:
        yield server


@pytest.fixture
def hook_store() -> Any:
    """The state store the adapter keeps hook secrets in (this test's ``$SOPHIA_HOME``), migrated."""
    from orchestrator.config import get_settings
    from state.hook_secrets import store_for

    store = store_for(get_settings().state_url)
    store.setup()
    return store


@pytest.fixture
def twin(hook_store: Any) -> AsanaTwin:
    """The twin, handshaking through sophia's door, with hook :data:`HOOK` on Website Relaunch."""
    from state.hook_secrets import HookSecrets

    twin = AsanaTwin(door=sophia_door(hook_store))
    hooks = HookSecrets(hook_store)
    expected = hooks.expect("asana", target=HOOK_URL, resource="1201000000000101")
    assert hooks.confirm("asana", expected.token, HOOK_SECRET)
    hooks.bind("asana", expected.token, HOOK)
    twin.webhooks[HOOK] = {"resource": "1201000000000101", "target": expected.target, "active": True}
    return twin


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


# -- webhooks ------------------------------------------------------------------------------


def hook_rows(store: Any) -> list[tuple[str | None, str | None, str]]:
    """``(hook gid, project gid, status)`` of every webhook_secrets row, oldest first."""
    from sqlmodel import select

    from state.models import WebhookSecret

    with store.session() as s:
        rows = s.exec(select(WebhookSecret).order_by(WebhookSecret.id)).all()  # type: ignore[arg-type]
        return [(r.hook_id, r.resource, r.status) for r in rows]


@pytest.mark.anyio
async def test_webhook_create_handshakes_our_door_while_the_post_is_open(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin, hook_store: Any
) -> None:
    from state.hook_secrets import TOKEN_PARAM, HookSecrets

    result = await adapter.configure(spec_for("asana.webhook.create").call("Vendor Review", {"url": HOOK_URL}))
    body = body_of(env, "POST")
    target = body["data"]["target"]
    assert body == {"data": {"resource": "1201000000000103", "target": target}}
    assert target.startswith(HOOK_URL + f"?{TOKEN_PARAM}=")
    (sent_to, secret, status, echoed) = twin.handshakes[-1]
    assert (sent_to, status, echoed) == (target, 200, secret), "our door echoed Asana's X-Hook-Secret"
    assert result.after is not None
    gid = result.after["gid"]
    assert result.after == {"gid": gid, "resource": "1201000000000103", "target": HOOK_URL, "active": True}
    assert twin.webhooks[gid]["target"] == target
    assert (gid, secret) in HookSecrets(hook_store).secrets("asana"), "the secret is kept for signatures"
    assert hook_rows(hook_store)[-1] == (gid, "1201000000000103", "active")
    assert result.inverse == ActionCall(action="asana.webhook.delete", target="Vendor Review")
    assert sent(env.exchanges)[-2:] == [("POST", "/webhooks"), ("GET", f"/webhooks/{gid}")]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
@pytest.mark.parametrize("door", ["unreachable", "refused", "wrong echo"])
async def test_a_create_whose_handshake_fails_sets_nothing_up(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin, hook_store: Any, door: str
) -> None:
    """Asana answers the create with an error when the handshake fails; nothing is kept on either side."""
    twin.door = {
        "unreachable": None,
        "refused": lambda url, headers: (401, {}),
        "wrong echo": lambda url, headers: (200, {"X-Hook-Secret": "not-" + headers["X-Hook-Secret"]}),
    }[door]
    with pytest.raises(AdapterError, match="HTTP 400") as err:
        await adapter.configure(spec_for("asana.webhook.create").call("Vendor Review", {"url": HOOK_URL}))
    assert "X-Hook-Secret" in err.value.message, "Asana's message reaches the error"
    assert list(twin.webhooks) == [HOOK] and len(twin.handshakes) == 1
    assert mutations(env) == [("POST", "/webhooks")], "a failed create is not repeated"
    assert hook_rows(hook_store) == [(HOOK, "1201000000000101", "active"), (None, "1201000000000103", "failed")]
    assert await adapter.observe(spec_for("asana.webhook.create").call("Vendor Review", {"url": HOOK_URL})) is None


@pytest.mark.anyio
async def test_a_project_with_our_webhook_gets_no_second_one(
    adapter: AsanaAdapter, env: RecordingTransport
) -> None:
    with pytest.raises(ValidationFailedError, match="already has a webhook to " + HOOK_URL):
        await adapter.configure(spec_for("asana.webhook.create").call("Website Relaunch", {"url": HOOK_URL}))
    assert mutations(env) == []


@pytest.mark.anyio
async def test_webhook_delete_removes_it_and_forgets_its_secret(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin, hook_store: Any
) -> None:
    from state.hook_secrets import HookSecrets

    result = await adapter.configure(spec_for("asana.webhook.delete").call("Website Relaunch"))
    assert result.before == {"gid": HOOK, "resource": "1201000000000101", "target": HOOK_URL, "active": True}
    assert result.after is None and twin.webhooks == {}
    assert HookSecrets(hook_store).secrets("asana") == [], "later deliveries signed with it are refused"
    assert result.inverse == ActionCall(
        action="asana.webhook.create", target="Website Relaunch", params={"url": HOOK_URL}
    )
    assert mutations(env) == [("DELETE", f"/webhooks/{HOOK}")]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_webhook_delete_needs_one_of_ours(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin
) -> None:
    with pytest.raises(NotFoundError, match="sophia has no webhook on 'Vendor Review'"):
        await adapter.configure(spec_for("asana.webhook.delete").call("Vendor Review"))
    twin.webhooks.clear()  # deleted in Asana behind our back: ours is gone too
    with pytest.raises(NotFoundError, match="sophia has no webhook on 'Website Relaunch'"):
        await adapter.configure(spec_for("asana.webhook.delete").call("Website Relaunch"))
    assert mutations(env) == []


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
        ("POST", "/webhooks", {"data": {"resource": "1201000000000101", "target": HOOK_URL, "secret": "x"}},
         "secret"),
        ("POST", "/webhooks", {"data": {"resource": "Website Relaunch", "target": HOOK_URL}}, "resource"),
        ("POST", "/webhooks", {"data": {"resource": "1201000000000101"}}, "target"),
        ("GET", "/webhooks?workspace=1200000000000001", None, "resource"),
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


# -- a create whose answer is lost, through the ledger ---------------------------------------


class _Pool:
    def __init__(self, adapter: AsanaAdapter) -> None:
        self.adapter = adapter

    def get(self, platform: str) -> AsanaAdapter:
        assert platform == "asana"
        return self.adapter


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["lost", "5xx_after", "twice"])
async def test_a_create_whose_answer_is_lost_settles_applied_and_the_hook_works(
    env: RecordingTransport, twin: AsanaTwin, hook_store: Any, tmp_path: Any, fault: str
) -> None:
    """Asana kept the hook (the handshake succeeded) but its answer never arrived.

    The ledger must say ``applied`` (read back from Asana, not from our rows), exactly one hook
    must exist, its deliveries must verify, and the undo must delete it.
    """
    from adapters.base import WebhookRequest
    from adapters.testing_faults import FaultTransport, apply_through_ledger
    from adapters.webhooks import sign_asana
    from orchestrator.reconcile import reconcile_store
    from state.hook_secrets import HookSecrets
    from state.models import ChangeStatus
    from state.store import Store

    ledger = Store(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.setup()
    faults = FaultTransport(env, fault)
    call = spec_for("asana.webhook.create").call("Vendor Review", {"url": HOOK_URL})
    try:
        async with aclosing(AsanaAdapter(transport=faults, sleep=Sleeps())) as adapter:
            tally = faults.arm()
            recorded = await apply_through_ledger(ledger, adapter, call)
            faults.disarm()
            assert tally.injected == 1
            await reconcile_store(ledger, _Pool(adapter))  # type: ignore[arg-type]
            change = ledger.ledger.get(recorded["id"])
            assert change.status == ChangeStatus.APPLIED, (change.status, change.error)
            ours = [g for g, h in twin.webhooks.items() if h["resource"] == "1201000000000103"]
            assert len(ours) == 1, twin.webhooks
            (gid,) = ours
            assert change.after is not None and change.after["gid"] == gid
            assert hook_rows(hook_store)[-1] == (gid, "1201000000000103", "active")

            secret = next(s for target, s, status, _ in twin.handshakes if status == 200)
            body = b'{"events": []}'
            delivery = WebhookRequest(headers={"x-hook-signature": sign_asana(secret, body)}, body=body,
                                      path="/webhooks/asana")
            assert AsanaAdapter.verify_webhook(delivery, hook_store).payload["hook"] == gid

            assert change.inverse == {"action": "asana.webhook.delete", "target": "Vendor Review", "params": {}}
            undo = await apply_through_ledger(ledger, adapter, ActionCall(**change.inverse))
            assert undo["status"] == ChangeStatus.APPLIED, undo
            assert gid not in twin.webhooks and list(twin.webhooks) == [HOOK]
            assert gid not in [h for h, _ in HookSecrets(hook_store).secrets("asana")]
            assert_no_request_violations(env.exchanges)
    finally:
        ledger.dispose()


@pytest.mark.anyio
async def test_a_create_that_never_reached_asana_keeps_no_secret(
    env: RecordingTransport, twin: AsanaTwin, hook_store: Any, tmp_path: Any
) -> None:
    """The POST timed out before Asana saw it: no hook, the ledger says failed, nothing stays live."""
    from adapters.testing_faults import FaultTransport, apply_through_ledger
    from orchestrator.reconcile import reconcile_store
    from state.hook_secrets import HookSecrets
    from state.models import ChangeStatus
    from state.store import Store

    ledger = Store(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.setup()
    faults = FaultTransport(env, "timeout_before")
    call = spec_for("asana.webhook.create").call("Vendor Review", {"url": HOOK_URL})
    try:
        async with aclosing(AsanaAdapter(transport=faults, sleep=Sleeps())) as adapter:
            faults.arm()
            recorded = await apply_through_ledger(ledger, adapter, call)
            faults.disarm()
            await reconcile_store(ledger, _Pool(adapter))  # type: ignore[arg-type]
            assert ledger.ledger.get(recorded["id"]).status == ChangeStatus.FAILED
    finally:
        ledger.dispose()
    assert list(twin.webhooks) == [HOOK]
    assert hook_rows(hook_store)[-1] == (None, "1201000000000103", "failed")
    assert [h for h, _ in HookSecrets(hook_store).secrets("asana")] == [HOOK]


@pytest.mark.anyio
async def test_a_lost_create_answer_with_asana_unreadable_is_bound_by_the_reconciler(
    env: RecordingTransport, twin: AsanaTwin, hook_store: Any, tmp_path: Any
) -> None:
    """The answer is lost AND listing the hooks fails: no secret is live until a read-back finds the hook."""
    from adapters.testing_faults import FaultTransport, apply_through_ledger
    from orchestrator.reconcile import reconcile_store
    from state.hook_secrets import HookSecrets
    from state.models import ChangeStatus
    from state.store import Store

    ledger = Store(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.setup()
    faults = FaultTransport(env, "lost")
    call = spec_for("asana.webhook.create").call("Vendor Review", {"url": HOOK_URL})
    try:
        async with aclosing(AsanaAdapter(transport=faults, sleep=Sleeps())) as adapter:
            door = twin.door
            assert door is not None

            def door_then_outage(url: str, headers: Any) -> Any:  # Asana unreadable from the handshake on
                twin.fault("GET", "/webhooks", 500, times=1000)
                return door(url, headers)

            twin.door = door_then_outage
            faults.arm()
            recorded = await apply_through_ledger(ledger, adapter, call)
            faults.disarm()
            twin.faults.clear()
            clock = adapter.http.breaker._clock  # the reconciler runs after the breaker's pause
            adapter.http.breaker._clock = lambda: clock() + 3600
            assert recorded["status"] == ChangeStatus.NEEDS_RECONCILE, recorded
            assert hook_rows(hook_store)[-1] == (None, "1201000000000103", "failed")
            assert [h for h, _ in HookSecrets(hook_store).secrets("asana")] == [HOOK], "nothing unproven is live"
            await reconcile_store(ledger, _Pool(adapter))  # type: ignore[arg-type]
            assert ledger.ledger.get(recorded["id"]).status == ChangeStatus.APPLIED
    finally:
        ledger.dispose()
    (gid,) = [g for g, h in twin.webhooks.items() if h["resource"] == "1201000000000103"]
    assert hook_rows(hook_store)[-1] == (gid, "1201000000000103", "active")
    assert gid in [h for h, _ in HookSecrets(hook_store).secrets("asana")]


@pytest.mark.anyio
async def test_a_hook_asana_no_longer_lists_has_no_live_secret(
    adapter: AsanaAdapter, env: RecordingTransport, twin: AsanaTwin, hook_store: Any
) -> None:
    """A delete whose answer was lost (or a hook removed in Asana): the read-back retires its secret."""
    from state.hook_secrets import HookSecrets

    del twin.webhooks[HOOK]
    assert await adapter.observe(spec_for("asana.webhook.delete").call("Website Relaunch")) is None
    assert HookSecrets(hook_store).secrets("asana") == []
    assert hook_rows(hook_store) == [(HOOK, "1201000000000101", "deleted")]
    listing = [ex.request.url.params for ex in env.exchanges if ex.request.url.path == "/webhooks"]
    assert listing and all(p["workspace"] == WORKSPACE and p["resource"] == "1201000000000101" for p in listing)
    assert_no_request_violations(env.exchanges)

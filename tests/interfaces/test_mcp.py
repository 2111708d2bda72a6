"""The MCP server with the official SDK's client, over a real stdio subprocess and real HTTP.

Each scenario runs on both transports (``world`` is parametrised): ``sophia-iac mcp`` launched
by the SDK's stdio client, and ``/mcp`` on the ``serve`` app served by uvicorn on a free port.
State is real SQLite under a temporary ``SOPHIA_HOME``; pgvector is the real adapter on the
session's PostgreSQL; approvals come from the real CLI in another process.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
AGENT = "cli:agent"
T = TypeVar("T")


class Connected:
    """One SDK client kept connected on its own event-loop thread, shared by a module's tests.

    (A stdio client is a server subprocess; starting one per test would cost seconds each.)
    """

    def __init__(self, client: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._close: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.client = client
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)
        self.thread.start()
        if not self._ready.wait(180) or self._error is not None:
            raise RuntimeError(f"the MCP client did not connect: {self._error!r}")

    async def _main(self) -> None:
        self._close = asyncio.Event()
        try:
            async with self.client:
                self._ready.set()
                await self._close.wait()
        except BaseException as exc:  # noqa: BLE001 - reported by __init__
            self._error = exc
            self._ready.set()

    def run(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """``await fn(client)`` on the client's loop."""
        return asyncio.run_coroutine_threadsafe(fn(self.client), self.loop).result(300)

    def close(self) -> None:
        if self._close is not None:
            self.loop.call_soon_threadsafe(self._close.set)
        self.thread.join(60)


@dataclass
class World:
    """Where a transport's server keeps its state, and how to reach it."""

    kind: str
    home: Path
    env: dict[str, str]
    url: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    app: Any = None
    shared: Connected | None = None

    def run(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """``await fn(client)`` with the module's shared operator client."""
        if self.shared is None:
            self.shared = Connected(self.client())
        return self.shared.run(fn)

    def client(self, role: str = "operator", args: tuple[str, ...] = (), query: str = "", **kw: Any) -> Any:
        """An SDK client: a new ``sophia-iac mcp ARGS`` subprocess (stdio), or ``role``'s key on ``/mcp?QUERY``."""
        from mcp import Client, StdioServerParameters

        if self.kind == "stdio":
            params = StdioServerParameters(command=sys.executable, cwd=ROOT, env=self.env | {"SOPHIA_ACTOR": AGENT},
                                           args=["-m", "orchestrator.interfaces.cli", "mcp", *args])
            return Client(params, **kw)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {self.keys[role]}"},
                                  timeout=httpx2.Timeout(30, read=300))
        return Client(streamable_http_client(f"{self.url}/mcp{query}", http_client=http), **kw)

    @property
    def actor(self) -> str:
        return AGENT if self.kind == "stdio" else "api:agent"

    def cli(self, *args: str, actor: str = "cli:bob") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "orchestrator.interfaces.cli", *args], cwd=ROOT, text=True,
                              env=self.env | {"SOPHIA_ACTOR": actor}, capture_output=True, timeout=120, check=False)

    def runs(self) -> list[tuple[str, str, str]]:
        db = sqlite3.connect(self.home / "state.db")
        try:
            return db.execute("SELECT id, surface, status FROM runs ORDER BY created_at").fetchall()
        finally:
            db.close()


@pytest.fixture(scope="module", params=["stdio", "http"])
def world(request: pytest.FixtureRequest, pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp(f"mcp-{request.param}") / "home"
    pg_url = pg_server.fresh_database()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env |= {"SOPHIA_HOME": str(home), "SOPHIA_PGVECTOR_URL": pg_url, "PYTHONPATH": str(ROOT)}
    if request.param == "stdio":
        world = World("stdio", home, env)
        yield world
        if world.shared is not None:
            world.shared.close()
        return
    from orchestrator.config import Settings, get_settings
    from orchestrator.interfaces.api import create_app
    from state.identities import ApiKeys
    from tests.interfaces.live import LiveServer

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOPHIA_HOME", str(home))
        get_settings.cache_clear()
        app = create_app(Settings(home=home, pgvector_url=pg_url), worker=False, slack=False)
        with LiveServer(app) as url:
            keys = {role: ApiKeys(app.state.ctx.store).create(name=name, role=role)[1]
                    for role, name in (("operator", "agent"), ("viewer", "watcher"))}
            world = World("http", home, env, url, keys, app)
            yield world
            if world.shared is not None:
                world.shared.close()
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _world_home(world: World, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process HTTP server reads settings (the ledger key's home) from the environment too."""
    from orchestrator.config import get_settings

    monkeypatch.setenv("SOPHIA_HOME", str(world.home))
    get_settings.cache_clear()


def data(result: Any) -> dict[str, Any]:
    """A tool result's structured content; an error's is ``{"error": {...}}``."""
    assert result.structured_content is not None, result
    return dict(result.structured_content)


def error(result: Any) -> dict[str, Any]:
    assert result.is_error, result.structured_content
    err = data(result)["error"]
    assert result.content[0].text.startswith(f"{err['code']}: ")
    return dict(err)


async def plan_and_apply(client: Any, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """Plan (no token), then apply with the token; returns the second answer."""
    planned = data(await client.call_tool(tool, args))
    assert planned["status"] == "planned", planned
    return data(await client.call_tool(tool, args | {"plan_token": planned["plan_token"]}))


async def indexes(client: Any) -> dict[str, Any]:
    """The pgvector indexes as the platform shows them now (``sophia_status`` reads it)."""
    status = data(await client.call_tool("sophia_status", {"platform": "pgvector"}))["platforms"][0]
    assert status["platform"] == "pgvector" and status["healthy"], status
    return {i["name"] if isinstance(i, dict) else i: i for i in status["inventory"]["index"]}


def test_tools_and_annotations_match_the_catalog(world: World) -> None:
    from adapters.registry import known_platforms, platform_specs

    specs = {s.id.replace(".", "_"): s for p in known_platforms() for s in platform_specs(p)}
    idempotent = {"set", "set_auto_suspend", "set_limit", "set_topic", "unset", "scale", "configure", "update",
                  "enable", "disable", "activate", "deactivate", "archive", "unarchive", "suspend", "resume",
                  "grant", "revoke", "track", "untrack", "add_member", "remove_member"}

    async def go(client: Any) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        builtins = {"sophia_do", "sophia_status", "sophia_history", "sophia_explain", "sophia_undo",
                    "sophia_approvals"}
        assert set(tools) == set(specs) | builtins
        for name, spec in specs.items():
            ann, schema = tools[name].annotations, tools[name].input_schema
            assert ann.read_only_hint is (spec.risk.value == "read"), name
            assert ann.destructive_hint is (spec.risk.value == "destructive"), name
            assert ann.idempotent_hint is (spec.risk.value == "read" or spec.verb in idempotent), name
            assert ann.open_world_hint is True, name
            assert tools[name].description.startswith(spec.summary.rstrip(".")), name
            params = spec.params.model_json_schema()
            assert set(params.get("properties", {})) <= set(schema["properties"]), name
            assert set(params.get("required", [])) <= set(schema["required"]), name
            assert ("target" in schema["required"]) is spec.target_required, name
            assert ("plan_token" in schema["properties"]) is spec.mutating, name
        for name in ("sophia_status", "sophia_history", "sophia_explain", "sophia_approvals"):
            assert tools[name].annotations.read_only_hint is True
        for name in ("sophia_do", "sophia_undo"):
            assert tools[name].annotations.read_only_hint is False
        assert {"sophia://ledger/recent", "sophia://approvals/pending", "sophia://catalog"} <= resources

    world.run(go)


def test_a_read_then_a_change_that_applies_is_in_the_ledger_and_undone(world: World) -> None:
    async def go(client: Any) -> None:
        assert "mcp-a" not in await indexes(client)  # a read
        args = {"target": "mcp-a", "dimension": 8}
        planned = data(await client.call_tool("pgvector_index_create", args))
        assert planned["status"] == "planned" and planned["policy"]["effect"] == "allow"
        assert planned["plan"][0]["before"] is None and planned["plan"][0]["after"]["dimension"] == 8
        assert "mcp-a" not in await indexes(client)  # planning changed nothing
        applied = data(await client.call_tool("pgvector_index_create", args | {"plan_token": planned["plan_token"]}))
        assert applied["status"] == "applied", applied
        change_id = applied["changes"][0]["change_id"]
        assert (await indexes(client))["mcp-a"]
        recent = json.loads((await client.read_resource("sophia://ledger/recent")).contents[0].text)
        assert any(c["id"] == change_id and c["status"] == "applied" and c["actor"] == world.actor for c in recent)
        one = json.loads((await client.read_resource(f"sophia://ledger/changes/{change_id}")).contents[0].text)
        assert one["target"] == "mcp-a" and one["after"]["dimension"] == 8
        undone = await plan_and_apply(client, "sophia_undo", {"change_id": change_id})
        assert undone["status"] == "applied", undone
        assert "mcp-a" not in await indexes(client)
        history = data(await client.call_tool("sophia_history", {"target": "mcp-a"}))["changes"]
        assert {c["id"]: c["status"] for c in history}[change_id] == "rolled_back"
        audit = [json.loads(line) for line in (world.home / "mcp-audit.jsonl").read_text().splitlines()]
        assert any(a["tool"] == "pgvector_index_create" and a["actor"] == world.actor and a["outcome"] == "applied"
                   and a["args"]["target"] == "mcp-a" for a in audit)

    world.run(go)


def test_a_destructive_change_awaits_approval_and_another_person_approves_it(world: World) -> None:
    async def go(client: Any) -> str:
        assert (await plan_and_apply(client, "pgvector_index_create", {"target": "mcp-b", "dimension": 4})
                )["status"] == "applied"
        planned = data(await client.call_tool("pgvector_index_delete", {"target": "mcp-b"}))
        assert planned["policy"]["effect"] == "require_approval" and planned["policy"]["four_eyes"]
        waiting = data(await client.call_tool("pgvector_index_delete",
                                              {"target": "mcp-b", "plan_token": planned["plan_token"]}))
        run_id = waiting["run_id"]
        assert waiting["status"] == "awaiting_approval" and waiting["message"] == f"awaiting approval: run {run_id}"
        assert waiting["approve_with"]["cli"] == f"sophia-iac approve {run_id}"
        assert "mcp-b" in await indexes(client)  # nothing changed
        pending = json.loads((await client.read_resource("sophia://approvals/pending")).contents[0].text)
        assert [p["run_id"] for p in pending] == [run_id]
        own = error(await client.call_tool("sophia_do", {"text": f"approve run {run_id}"}))
        assert own["code"] == "refused"  # the agent never approves its own run
        assert "mcp-b" in await indexes(client)
        return run_id

    run_id = world.run(go)
    approved = world.cli("approve", run_id, "--json")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert json.loads(approved.stdout)["status"] == "applied"

    async def after(client: Any) -> None:
        assert "mcp-b" not in await indexes(client)
        history = data(await client.call_tool("sophia_history", {"target": "mcp-b"}))["changes"]
        assert [(c["action"], c["status"], c["actor"]) for c in history] == [
            ("pgvector.index.delete", "applied", world.actor), ("pgvector.index.create", "applied", world.actor)]

    world.run(after)


def test_a_stale_plan_token_is_refused(world: World) -> None:
    async def go(client: Any) -> None:
        await plan_and_apply(client, "pgvector_index_create", {"target": "mcp-c", "dimension": 4})
        args = {"target": "mcp-c", "m": 32, "ef_construction": 64}
        stale = data(await client.call_tool("pgvector_index_configure", args))["plan_token"]
        other = await plan_and_apply(client, "pgvector_index_configure", args | {"m": 24})
        assert other["status"] == "applied"
        refused = error(await client.call_tool("pgvector_index_configure", args | {"plan_token": stale}))
        assert refused["code"] == "plan_changed" and "nothing was applied" in refused["message"]
        assert (await indexes(client))["mcp-c"]["m"] == 24
        history = data(await client.call_tool("sophia_history", {"target": "mcp-c"}))["changes"]
        assert [c["params"].get("m") for c in history if c["action"] == "pgvector.index.configure"] == [24]
        forged = error(await client.call_tool("pgvector_index_configure", args | {"plan_token": "pt1-" + "0" * 64}))
        assert forged["code"] == "plan_changed"
        invalid = error(await client.call_tool("pgvector_index_configure", args | {"m": 1000}))
        assert invalid["code"] == "validation_failed" and "m: " in invalid["message"]

    world.run(go)


def test_a_secret_typed_in_is_refused_before_anything_is_stored(world: World) -> None:
    literal = "hunter2-Zq8vT3kLm9Xw"
    before = world.runs()

    async def go(client: Any) -> None:
        typed = error(await client.call_tool("vercel_env_set", {"target": "web", "key": "API_KEY",
                                                                "value": literal}))
        assert typed["code"] == "secret_in_command" and "secret://API_KEY" in typed["hint"]
        said = error(await client.call_tool("sophia_do", {"text": f"set API_KEY to {literal} on web"}))
        assert said["code"] == "secret_in_command"

    world.run(go)
    assert world.runs() == before  # no run row: refused before anything was stored
    for path in world.home.rglob("*"):
        if path.is_file() and path.suffix != ".key":
            assert literal.encode() not in path.read_bytes(), path
    audit = (world.home / "mcp-audit.jsonl").read_text()
    assert "secret_in_command" in audit and "[secret withheld]" in audit


@pytest.mark.parametrize("world", ["http"], indirect=True)  # API keys are HTTP's identities
def test_a_viewer_key_sees_only_reads_and_is_refused_a_change(world: World) -> None:
    import httpx

    before = world.runs()

    async def go() -> None:
        async with world.client("viewer") as client:
            tools = (await client.list_tools()).tools
            assert tools and all(t.annotations.read_only_hint for t in tools)
            assert {"sophia_status", "sophia_history", "sophia_approvals"} <= {t.name for t in tools}
            refused = error(await client.call_tool("pgvector_index_create", {"target": "mcp-v", "dimension": 4}))
            assert refused["code"] == "forbidden"
            assert error(await client.call_tool("sophia_do", {"text": "delete the vector index mcp-v"}))[
                "code"] == "forbidden"
            assert data(await client.call_tool("sophia_history", {}))["status"] == "ok"

    asyncio.run(go())
    assert world.runs() == before
    anonymous = httpx.post(f"{world.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"


# Protocol 2026-07-28 asks with an InputRequiredResult, the handshake era with elicitation/create
# (exercised over HTTP, where a client costs no subprocess).
@pytest.mark.parametrize(("world", "mode"), [("stdio", "auto"), ("http", "auto"), ("http", "legacy")],
                         indirect=["world"])
def test_a_client_with_elicitation_confirms_in_an_elicitation(world: World, mode: str) -> None:
    import mcp_types as types

    target = f"mcp-e-{mode}"

    asked: list[str] = []
    answers = [{"apply": True}, {"apply": False}]

    async def on_elicit(context: Any, params: Any) -> Any:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content=answers[len(asked) - 1])

    async def go() -> None:
        chosen = ("--platforms", "pgvector") if world.kind == "stdio" else ()
        async with world.client(args=chosen, query="?platforms=pgvector", elicitation_callback=on_elicit,
                                mode=mode) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == {"pgvector_index_create", "pgvector_index_configure", "pgvector_index_delete",
                             "sophia_do", "sophia_status", "sophia_history", "sophia_explain", "sophia_undo",
                             "sophia_approvals"}
            assert client.protocol_version == "2026-07-28" if mode == "auto" else client.protocol_version < "2026"
            applied = data(await client.call_tool("pgvector_index_create", {"target": target, "dimension": 4}))
            assert applied["status"] == "applied", applied
            assert f"pgvector.index.create {target}: None → {{" in asked[0] and "Policy: allow" in asked[0]
            declined = data(await client.call_tool("pgvector_index_configure",
                                                   {"target": target, "m": 48, "ef_construction": 64}))
            assert declined["status"] == "cancelled" and len(asked) == 2
            assert (await indexes(client))[target]["m"] == 16

    asyncio.run(go())


# The flags of `sophia-iac mcp` (--platforms alone: the elicitation test's stdio server).
@pytest.mark.parametrize("world", ["stdio"], indirect=True)
def test_platforms_read_only_and_the_rate_limit_choose_what_a_server_exposes(world: World) -> None:
    async def go() -> None:
        async with world.client(args=("--platforms", "pgvector", "--read-only", "--rate", "4")) as client:
            tools = (await client.list_tools()).tools
            assert {t.name for t in tools} == {"sophia_status", "sophia_history", "sophia_explain",
                                               "sophia_approvals"}
            refused = error(await client.call_tool("pgvector_index_create", {"target": "mcp-r", "dimension": 4}))
            assert refused["code"] == "forbidden"
            for _ in range(3):
                assert data(await client.call_tool("sophia_approvals", {}))["status"] == "ok"
            limited = error(await client.call_tool("sophia_approvals", {}))
            assert limited["code"] == "rate_limited" and limited["details"]["retry_after"] >= 1

    asyncio.run(go())


@pytest.mark.parametrize("world", ["http"], indirect=True)  # the URL's counterpart of the flags above
def test_an_http_client_chooses_platforms_and_read_only_with_the_url(world: World) -> None:
    async def go() -> None:
        async with world.client(query="?platforms=pgvector&read_only=true") as client:
            tools = (await client.list_tools()).tools
            assert {t.name for t in tools} == {"sophia_status", "sophia_history", "sophia_explain",
                                               "sophia_approvals"}
            refused = error(await client.call_tool("pgvector_index_create", {"target": "mcp-q", "dimension": 4}))
            assert refused["code"] == "forbidden" and "read-only" in refused["message"]

    asyncio.run(go())


def test_sophia_do_plans_a_command_in_words_and_applies_it_with_the_token(world: World) -> None:
    async def go(client: Any) -> None:
        text = {"text": "create a vector index called mcp-d with 4 dimensions"}
        explained = data(await client.call_tool("sophia_explain", text))
        assert explained["decision"]["effect"] == "allow" and explained["steps"][0]["action"] == "pgvector.index.create"
        planned = data(await client.call_tool("sophia_do", text))
        assert planned["status"] == "planned" and planned["plan"][0]["target"] == "mcp-d"
        assert "mcp-d" not in await indexes(client)
        wrong = error(await client.call_tool("sophia_do", {"text": "create a vector index called mcp-d with 8 "
                                                          "dimensions", "plan_token": planned["plan_token"]}))
        assert wrong["code"] == "plan_changed"  # the token is for 4 dimensions
        applied = data(await client.call_tool("sophia_do", text | {"plan_token": planned["plan_token"]}))
        assert applied["status"] == "applied" and (await indexes(client))["mcp-d"]["dimension"] == 4
        answered = data(await client.call_tool("sophia_do", {"text": "what changed on pgvector?"}))
        assert answered["status"] == "answered"

    world.run(go)

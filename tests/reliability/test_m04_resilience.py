"""RELIABILITY.md §7 rows 22–28: rate limits, breakers, dead letters, output handling, audit, caps, fail-closed.

The shared HTTP client runs against a real loopback server (tests/adapters/test_http.py's
scripted ``ThreadingHTTPServer``) with retry waits recorded, not slept; the LLM parser talks to
an OpenAI-compatible endpoint through ``httpx2.MockTransport``; the rest is the real service.
"""

from __future__ import annotations

import ast
import asyncio
import itertools
import json
import logging
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.http import BreakerState, CircuitBreaker, CircuitOpenError, HttpPolicy, RateLimitedError
from orchestrator.errors import AdapterError
from orchestrator.service import OrchestratorService
from tests.adapters.scripted import Answer, Script, server  # noqa: F401
from tests.adapters.test_http import FakeClock, Sleeps, _fresh_breakers, client  # noqa: F401
from tests.interfaces.conftest import Api
from tests.interfaces.test_webhooks import calls, signed
from tests.orchestrator.conftest import arun, req
from tests.policies.test_policy_pipeline import Factory, identities, make_service  # noqa: F401
from tests.reliability.conftest import inbox_rows

ROOT = Path(__file__).resolve().parents[2]


# -- row 22 ------------------------------------------------------------------------------


def test_row22_rate_limit_etiquette(server: tuple[str, Script]) -> None:  # noqa: F811
    """429 + Retry-After: 7 → the next attempt waits 7 s; a GitHub 403 secondary limit with no headers
    → ≥ 60 s; a 400 (HubSpot's "don't retry") is tried once; a 429 storm stops at the attempt budget.

    Gap: no client streams (the LLM parser and OpenRouter adapter use non-streaming calls), so an
    OpenRouter mid-stream SSE ``finish_reason: "error"`` has no code path to test.
    """
    base, script = server

    async def flow() -> None:
        sleeps = Sleeps()
        script.play(Answer(429, {"message": "slow"}, {"Retry-After": "7"}), Answer(200, {"ok": 1}))
        async with client(base, sleep=sleeps) as c:
            assert (await c.request("POST", "/x", action="acme.thing.create", json={})).data == {"ok": 1}
        assert sleeps.waits == [7.0] and len(script.seen) == 2

        gh = Sleeps()
        script.play(Answer(403, {"message": "You have exceeded a secondary rate limit."}), Answer(200, {"ok": 1}))
        async with client(base, "github", sleep=gh, policy=HttpPolicy(secondary_limits=True)) as c:
            await c.request("POST", "/repos/o/r/hooks", action="github.webhook.create", json={})
        assert len(gh.waits) == 1 and gh.waits[0] >= 60.0

        seen = len(script.seen)
        script.play(Answer(400, {"status": "error", "message": "Property values were not valid"}))
        async with client(base, "hubspot") as c:
            with pytest.raises(AdapterError):
                await c.request("POST", "/crm/v3/properties/contacts", action="hubspot.property.create", json={})
        assert len(script.seen) == seen + 1

        seen = len(script.seen)
        script.default = Answer(429, b"", {"Retry-After": "1"})
        storm = Sleeps()
        async with client(base, "storm", sleep=storm, policy=HttpPolicy(max_attempts=4)) as c:
            with pytest.raises(RateLimitedError):
                await c.request("GET", "/x", action="storm.thing.get")
        assert len(script.seen) - seen == 4 and storm.waits == [1.0, 1.0, 1.0]

    asyncio.run(flow())


# -- row 23 ------------------------------------------------------------------------------


def test_row23_circuit_breaker(server: tuple[str, Script]) -> None:  # noqa: F811
    """≥ 50 % 5xx over ≥ 5 calls in 60 s opens the breaker; calls then fail fast (< 10 ms, nothing sent) with
    a message naming the platform; after the open time a probe goes through and success closes it;
    429s never open it."""
    base, script = server
    clock = FakeClock()
    breaker = CircuitBreaker("acme", window=60, min_calls=5, failure_rate=0.5, open_seconds=30, probes=1,
                             clock=clock)

    async def flow() -> None:
        script.default = Answer(500, {"message": "down"})
        async with client(base, breaker=breaker, policy=HttpPolicy(max_attempts=1)) as c:
            for _ in range(5):
                with pytest.raises(AdapterError):
                    await c.request("GET", "/x", action="acme.thing.get")
            assert breaker.state is BreakerState.OPEN
            sent = len(script.seen)
            started = time.perf_counter()
            with pytest.raises(CircuitOpenError) as err:
                await c.request("GET", "/x", action="acme.thing.get")
            assert time.perf_counter() - started < 0.01 and len(script.seen) == sent
            assert "acme" in err.value.message and err.value.hint
            clock.now += 30
            script.default = Answer(200, {"ok": 1})
            assert (await c.request("GET", "/x", action="acme.thing.get")).data == {"ok": 1}
            assert breaker.state is BreakerState.CLOSED
        limited = CircuitBreaker("limited", clock=clock)
        script.default = Answer(429, b"", {"Retry-After": "0"})
        async with client(base, "limited", breaker=limited, policy=HttpPolicy(max_attempts=2)) as c:
            for _ in range(6):
                with pytest.raises(RateLimitedError):
                    await c.request("GET", "/x", action="limited.get")
        assert limited.state is BreakerState.CLOSED and limited.counts() == (0, 0)

    asyncio.run(flow())


# -- row 24 ------------------------------------------------------------------------------


def test_row24_dead_letters(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """A handler failing 5× is dead-lettered with attempts = 5, the last error and timestamps, the payload
    kept; each failure is logged at WARNING (the last says ``dead``); attempts follow the backoff; the
    replay reprocesses it exactly once.

    Gap: the "alert" is a WARNING log line; there is no Slack alert for a dead letter.
    """
    from orchestrator.deps import AdapterPool
    from orchestrator.inbox import InboxWorker, WorkerConfig
    from state.inbox import Inbox

    body, headers = signed("github", {"fail": 5, "resource": {"type": "repo", "name": "acme/dlq",
                                                              "state": {"name": "acme/dlq"}}}, delivery="dlq-1")
    api.client.post("/webhooks/github", content=body, headers=headers)
    caplog.set_level(logging.WARNING, logger="orchestrator.inbox")
    due: list[Any] = []
    deadline = time.monotonic() + 30
    while inbox_rows(api)[0].status != "dead" and time.monotonic() < deadline:
        worker = api.work(max_attempts=5, backoff_seconds=0.05)
        row = inbox_rows(api)[0]
        if worker.failed:
            due.append((row.attempts, row.next_attempt_at))
        else:
            assert worker.processed == 0, "not picked up again before its backoff"
        time.sleep(0.02)
    (row,) = inbox_rows(api)
    assert row.status == "dead" and row.attempts == 5 and row.body == body
    (dead,) = Inbox(api.store).dead_letters()
    assert (dead.attempts, dead.inbox_id) == (5, row.id) and "handler failure 5" in (dead.last_error or "")
    assert dead.died_at is not None and dead.replayed_at is None
    assert [a for a, _ in due] == [1, 2, 3, 4, 5]
    # due times after failures 1-4; each wait at least doubles (0.05 s · 2ⁿ⁻¹): no hot loop
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise([t for _, t in due[:4]])]
    assert all(g >= 0.05 * 2 ** (i + 1) * 0.99 for i, g in enumerate(gaps)), gaps
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 5 and "(dead)" in warnings[-1]

    async def replay() -> tuple[list[bool], list[str]]:
        pool = AdapterPool(api.ctx.host.settings)
        try:
            worker = InboxWorker(api.store, pool, config=WorkerConfig(backoff_seconds=0.0))
            results = [await worker.replay(dead.id, "cli:ops"), await worker.replay(dead.id, "cli:ops")]
            return [ok for ok, _ in results], [msg for _, msg in results]
        finally:
            await pool.aclose()

    try:
        oks, _ = asyncio.run(replay())
    except Exception as exc:  # noqa: BLE001 - a second replay may be refused by raising
        assert "already replayed" in str(exc)
        oks = [True, False]
    assert oks == [True, False]
    assert calls(api) == [["github", "dlq-1"]] * 6  # five failures, exactly one replay
    assert inbox_rows(api)[0].status == "done"


# -- row 25 ------------------------------------------------------------------------------


SMUGGLED = "<!channel> <@U0BOSS> <https://evil.example|click me> @here https://evil.example/x'; DROP TABLE x;--"


def test_row25_output_handling_and_secrets(api: Api, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """Slack output is escaped (no mass mention, user mention or link survives); every Snowflake statement is a
    constant with bind variables; canary secrets appear 0 times in logs, runs, the ledger and the LLM request."""
    from orchestrator.interfaces.slack import render_run
    from tests.parsing.test_llm_guard import Endpoint

    view = {"run_id": "run_1", "status": "failed", "actor": SMUGGLED, "text": SMUGGLED,
            "plan": {"steps": [{"call": {"action": SMUGGLED, "target": SMUGGLED, "params": {"x": SMUGGLED}},
                                "risk": "change", "before": {"n": SMUGGLED}, "expected": None}]},
            "error": {"code": SMUGGLED, "message": SMUGGLED, "hint": SMUGGLED}}
    rendered = json.dumps(render_run(view), ensure_ascii=False)
    assert not [bad for bad in ("<!channel>", "<@U", "<http", "@here", "https://") if bad in rendered]

    trees = [ast.parse(path.read_text()) for path in sorted((ROOT / "adapters" / "data" / "snowflake").glob("*.py"))]
    sql_calls = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Attribute) and n.func.attr in ("_sql", "_sql_or_none")]
    assert sql_calls
    for node in sql_calls:
        statement = node.args[0]
        assert not isinstance(statement, (ast.JoinedStr, ast.BinOp, ast.Call)), ast.unparse(statement)

    canaries = {"SOPHIA_GITHUB_TOKEN": "ghp_CANARY0canary0canary0canary0canary00",
                "SOPHIA_SNOWFLAKE_TOKEN": "sf-CANARY-2c0ffee-token", "SOPHIA_LLM_API_KEY": "sk-CANARY-llm-key-0001"}
    for name, value in canaries.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    api.client.post("/v1/commands", json={"text": "create a vector index called canary with 3 dimensions"},
                    headers=api.h("operator"))
    api.client.post("/v1/commands", json={"text": "scale ETL_WH to large"}, headers=api.h("operator"))
    endpoint = Endpoint({"intent": "action", "actions": [{"action": "snowflake.warehouse.scale", "target": "ETL_WH",
                                                          "params": {"size": "LARGE"}}]})
    endpoint.parser().parse("scale ETL_WH to large", {"snowflake.warehouse": ["ETL_WH"]})
    prompt = json.dumps(endpoint.requests)
    audit = json.dumps([r.model_dump(mode="json") for r in api.runs()]) + json.dumps(
        [c.model_dump(mode="json") for c in api.store.ledger.list(limit=100)])
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert api.runs() and caplog.records
    for value in canaries.values():
        assert value not in prompt and value not in audit and value not in logged, value


# -- row 26 ------------------------------------------------------------------------------


def test_row26_audit_completeness_small(service_settings: Any) -> None:
    """A seeded sequence of 12 commands with random adapter failures (some after the change landed) and one
    restart: every platform call the adapter made has exactly one settled change row; every row has its
    actor and run; no ``pending``/``needs_reconcile`` survives reconciliation; the chain verifies.

    Smaller than the lead's hypothesis property (1,000 commands, worker kills, duplicate webhooks).
    """
    import psycopg

    from adapters.ai.pgvector import PgVectorAdapter

    rng = random.Random(26)
    made: list[str] = []

    def instrument(svc: OrchestratorService) -> None:
        adapter = svc.deps.adapters.get("pgvector")
        assert isinstance(adapter, PgVectorAdapter)
        for handler in ("do_index_create", "do_index_configure"):
            real = getattr(adapter, handler)

            async def counted(call: Any, before: Any, real: Any = real) -> Any:
                fault = rng.random()
                if fault < 0.2:
                    raise psycopg.OperationalError("server closed the connection unexpectedly")
                result = await real(call, before)
                made.append(call.action)
                if fault < 0.35:
                    raise psycopg.OperationalError("server closed the connection unexpectedly")
                return result

            setattr(adapter, handler, counted)

    async def flow() -> list[dict[str, Any]]:
        names: list[str] = []
        for round_ in range(2):  # the second service is the restart
            async with OrchestratorService(service_settings) as svc:
                instrument(svc)
                for i in range(6):
                    if names and rng.random() < 0.5:
                        text = f"tune vector index {rng.choice(names)}: m {rng.choice([8, 16, 24, 32])}"
                    else:
                        names.append(f"a{round_}{i}")
                        text = f"create a vector index called {names[-1]} with 3 dimensions"
                    await svc.submit(req(text, actor=f"cli:user{i % 3}"))
        async with OrchestratorService(service_settings) as svc:
            assert svc.verify_ledger().ok
            return svc.history()

    history = arun(flow())
    assert made, "the schedule made some calls"
    assert all(c["status"] in ("applied", "failed") for c in history), [c["status"] for c in history]
    assert all(c["actor"].startswith("cli:user") and c["run_id"] for c in history)
    applied = sorted(c["action"] for c in history if c["status"] == "applied")
    assert applied == sorted(made), (applied, made)


@pytest.fixture
def service_settings(pg_url: str, isolated_env: Any) -> Any:
    from orchestrator.config import Settings

    return Settings(pgvector_url=pg_url)


# -- row 27 ------------------------------------------------------------------------------


def test_row27_unbounded_consumption(make_service: Factory, identities: Path) -> None:  # noqa: F811
    """A model that never gives a valid answer is cut off at the call cap; a token budget stops the repair
    loop; each call carries a timeout ≤ 60 s; the per-identity change rate limit denies the next change.

    Gap: the parser makes no tool calls (one structured answer per call), so "≤ 10 tool calls"
    is the call cap (2 by default); the 60 s bound is per model call, not per command.
    """
    from orchestrator.state import Intent
    from tests.parsing.test_llm_guard import Endpoint

    endless = Endpoint(*(["not json"] * 50))
    parser = endless.parser(max_calls=3)
    parsed = parser.parse("scale ETL_WH to large")
    assert parsed.intent is Intent.CLARIFY and parsed.actions == [] and len(endless.requests) == 3
    assert parser.timeout <= 60 and endless.parser().timeout <= 60
    tight = Endpoint(*(["not json"] * 50))
    tight.parser(max_tokens=1500).parse("scale ETL_WH to large")
    assert len(tight.requests) == 1

    pack = ("pack: rl\nversion: 1\ninclude_default: false\nrules:\n"
            "  - id: two-an-hour\n    builtin: rate_limit\n    config: {max_changes: 2, window: 1h}\n")

    async def flow() -> None:
        async with make_service(pack) as svc:
            for name in ("r1", "r2"):
                done = await svc.submit(req(f"create a vector index called {name} with 3 dimensions"))
                assert done["status"] == "applied"
            third = await svc.submit(req("create a vector index called r3 with 3 dimensions"))
            assert third["status"] == "denied" and third["changes"] == []

    arun(flow())


# -- row 28 ------------------------------------------------------------------------------


def test_row28_fail_closed_dependencies(make_service: Factory, identities: Path, pg_url: str,  # noqa: F811
                                        isolated_env: Path) -> None:
    """Policy store unreachable → every mutation denied, a read-only plan still allowed; the state store
    (locks, approvals, ledger) unreachable → the CLI refuses (exit 10, store_unavailable) and the
    platform is untouched."""
    from adapters.catalog import ActionCall
    from orchestrator.state import Plan, Request, Step
    from state.store import Store

    async def flow() -> None:
        async with make_service() as svc:
            svc.deps.policy.store = Store("postgresql+psycopg://sophia@127.0.0.1:9/unreachable")
            view = await svc.submit(req("create a vector index called nope with 3 dimensions"))
            assert view["status"] == "denied" and view["changes"] == []
            assert "policy engine unavailable" in view["decision"]["reasons"][0]["message"]
            read = Plan(steps=[Step(seq=1, call=ActionCall(action="gong.call.list", params={}), risk="read",
                                    reversible=True)])
            assert svc.deps.policy.decide(read, Request(text="", actor="cli:alice"), "r1").effect == "allow"
            names = [i["name"] for i in (await svc.status("pgvector"))[0]["inventory"].get("index", [])]
            assert "nope" not in names

    arun(flow())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env.update(SOPHIA_HOME=str(isolated_env / "other"), SOPHIA_PGVECTOR_URL=pg_url, PYTHONPATH=str(ROOT),
               SOPHIA_DATABASE_URL="postgresql+psycopg://sophia@127.0.0.1:9/unreachable", SOPHIA_ACTOR="cli:alice")
    res = subprocess.run([sys.executable, "-m", "orchestrator.interfaces.cli", "do",
                          "create a vector index called nope2 with 3 dimensions", "--yes"],
                         env=env, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert res.returncode == 10 and "store_unavailable" in (res.stdout + res.stderr), res.stderr

    async def untouched() -> None:
        async with make_service() as svc:
            names = [i["name"] for i in (await svc.status("pgvector"))[0]["inventory"].get("index", [])]
            assert "nope2" not in names

    arun(untouched())

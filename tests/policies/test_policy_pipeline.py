"""Policy in the pipeline, end to end in-process: real SQLite state and checkpoints, pgvector on PostgreSQL.

Approval binding, expiry, four-eyes, double approve, restart-resume and failing closed each
have their own test, plus freezes, request-changes, environments and explain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config import Settings
from orchestrator.errors import ApprovalError, NotFoundError, PolicyDeniedError
from orchestrator.service import OrchestratorService
from orchestrator.state import Intent, ParsedCommand
from tests.orchestrator.conftest import arun, req

IDENTITIES = """\
identities:
  - {id: alice, roles: [operator], groups: [platform], actors: ["cli:alice", "slack:UALICE"]}
  - {id: bob, roles: [operator, approver], groups: [approvers], actors: ["cli:bob"]}
  - {id: dave, roles: [approver], groups: [approvers], actors: ["cli:dave"]}
  - {id: carol, roles: [approver], groups: [data-leads], actors: ["cli:carol"]}
  - {id: olga, roles: [operator], groups: [approvers], actors: ["cli:olga"]}
  - {id: vera, roles: [viewer], actors: ["cli:vera"]}
"""

Factory = Callable[..., OrchestratorService]


@pytest.fixture
def identities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real identities file: alice is on the CLI and on Slack; bob and dave approve."""
    path = tmp_path / "identities.yaml"
    path.write_text(IDENTITIES)
    monkeypatch.setenv("SOPHIA_IDENTITIES", str(path))
    return path


@pytest.fixture
def make_service(pg_url: str, tmp_path: Path) -> Factory:
    """A service on this test's SOPHIA_HOME; ``pack`` (YAML text) is added on SOPHIA_POLICY_PATH."""

    def factory(pack: str | None = None) -> OrchestratorService:
        path = None
        if pack is not None:
            file = tmp_path / "extra-pack.yaml"
            file.write_text(pack)
            path = str(file)
        return OrchestratorService(Settings(pgvector_url=pg_url, policy_path=path))

    return factory


async def _index(svc: OrchestratorService, name: str, actor: str = "cli:alice") -> None:
    view = await svc.submit(req(f"create a vector index called {name} with 3 dimensions", actor=actor))
    assert view["status"] == "applied", view.get("error") or view.get("decision")


async def _indexes(svc: OrchestratorService) -> list[str]:
    return [i["name"] for i in (await svc.status("pgvector"))[0]["inventory"].get("index", [])]


def _deletes(svc: OrchestratorService) -> int:
    return len([c for c in svc.history() if c["action"] == "pgvector.index.delete"])


def test_approval_is_bound_to_the_plan_digest(make_service: Factory, identities: Path) -> None:
    """A plan changed after approval was requested voids the approval; so does a digest the approver didn't see."""

    async def flow() -> None:
        async with make_service() as svc:
            await _index(svc, "victim")
            await _index(svc, "bystander")
            paused = await svc.submit(req("delete the vector index victim"))
            assert paused["status"] == "awaiting_approval"
            asked = paused["awaiting"]
            assert asked["kind"] == "approval" and asked["run_id"] == paused["run_id"]
            assert asked["digest"] == paused["plan"]["digest"] and asked["four_eyes"]
            assert asked["answers"] == ["approve", "reject", "request_changes"]
            # The plan in the checkpoint is swapped for another target after the request went out.
            config = {"configurable": {"thread_id": paused["run_id"]}}
            state = (await svc.graph.aget_state(config)).values
            tampered = dict(state["plan"])
            tampered["steps"] = [dict(tampered["steps"][0], call=dict(tampered["steps"][0]["call"], target="bystander"))]
            await svc.graph.aupdate_state(config, {"plan": tampered}, as_node="check_policy")
            done = await svc.approve(paused["run_id"], actor="cli:bob")
            assert done["status"] == "rejected"
            assert "plan changed" in done["result"]["approval"]["problem"]
            assert sorted(await _indexes(svc)) == ["bystander", "victim"]
            assert [a["outcome"] for a in done["approvals"]] == ["void"]

            again = await svc.submit(req("delete the vector index victim"))
            stale = await svc.approve(again["run_id"], actor="cli:bob", digest="0" * 64)
            assert stale["status"] == "rejected" and "void" in stale["result"]["approval"]["problem"]
            assert _deletes(svc) == 0 and "victim" in await _indexes(svc)

    arun(flow())


EXPIRING = """\
pack: quick
version: 1
include_default: false
rules:
  - id: quick-four-eyes
    builtin: four_eyes
    ttl: 1
"""


def test_expired_approval_is_refused_with_a_reason(make_service: Factory, identities: Path) -> None:
    """After the request's ttl, an approve is refused, the run ends `expired`, nothing changes."""

    async def flow() -> None:
        async with make_service(EXPIRING) as svc:
            await _index(svc, "old")
            paused = await svc.submit(req("delete the vector index old"))
            assert paused["status"] == "awaiting_approval"
            assert [p["run_id"] for p in svc.approvals()] == [paused["run_id"]]
            await asyncio.sleep(1.2)
            assert svc.approvals()[0]["expired"]
            done = await svc.approve(paused["run_id"], actor="cli:bob")
            assert done["status"] == "expired"
            assert "expired at" in done["result"]["approval"]["problem"]
            assert await _indexes(svc) == ["old"] and _deletes(svc) == 0
            assert svc.approvals() == []
            with pytest.raises(ApprovalError, match="expired, not awaiting approval"):
                await svc.approve(paused["run_id"], actor="cli:dave")

    arun(flow())


def test_four_eyes_and_who_may_decide(make_service: Factory, identities: Path) -> None:
    """The requester can't approve a destructive change — not from another surface either — nor can the wrong group."""

    async def flow() -> None:
        async with make_service() as svc:
            await _index(svc, "fe")
            paused = await svc.submit(req("delete the vector index fe", actor="slack:UALICE"))
            run_id = paused["run_id"]
            assert paused["awaiting"]["requester"] == "alice"
            for actor, needle in [("cli:alice", "needs an approver"), ("cli:carol", "needs an approver in: approvers"),
                                  ("cli:vera", "may not decide"), ("cli:olga", "may not decide"),
                                  ("slack:UNKNOWN", "may not decide")]:
                with pytest.raises(ApprovalError, match=needle):
                    await svc.approve(run_id, actor=actor)
                assert svc.view(run_id)["status"] == "awaiting_approval"
            assert "fe" in await _indexes(svc)
            done = await svc.approve(run_id, actor="cli:bob", comment="ok, it's unused")
            assert done["status"] == "applied" and await _indexes(svc) == []
            assert [(a["actor"], a["outcome"]) for a in done["approvals"]] == [("bob", "approved")]

    arun(flow())


def test_requester_who_is_an_approver_still_needs_someone_else(make_service: Factory, identities: Path) -> None:
    """bob approves others' changes but not his own destructive one; withdrawing it is allowed."""

    async def flow() -> None:
        async with make_service() as svc:
            await _index(svc, "mine", actor="cli:bob")
            paused = await svc.submit(req("delete the vector index mine", actor="cli:bob"))
            with pytest.raises(ApprovalError, match="someone else"):
                await svc.approve(paused["run_id"], actor="cli:bob")
            done = await svc.reject(paused["run_id"], actor="cli:bob", comment="withdrawn")
            assert done["status"] == "rejected" and done["result"]["approval"]["comment"] == "withdrawn"
            assert "mine" in await _indexes(svc)

    arun(flow())


def test_double_approve_applies_once(make_service: Factory, identities: Path) -> None:
    """Two approvals delivered at once (double click, retry, two replicas): one apply, one refusal."""

    async def flow() -> None:
        async with make_service() as first, make_service() as second:
            await _index(first, "twice")
            paused = await first.submit(req("delete the vector index twice"))
            results = await asyncio.gather(
                first.approve(paused["run_id"], actor="cli:bob"),
                second.approve(paused["run_id"], actor="cli:dave"),
                return_exceptions=True,
            )
            applied = [r for r in results if isinstance(r, dict)]
            refused = [r for r in results if isinstance(r, ApprovalError)]
            assert len(applied) == 1 and len(refused) == 1, results
            assert applied[0]["status"] == "applied"
            with pytest.raises(ApprovalError, match="applied, not awaiting approval"):
                await first.approve(paused["run_id"], actor="cli:bob")
            assert _deletes(first) == 1
            assert len(first.view(paused["run_id"])["approvals"]) == 1
            assert first.verify_ledger().ok

    arun(flow())


TWO_APPROVERS = """\
pack: two
version: 1
rules:
  - id: two-approvers-for-deletes
    when: "change.risk == 'destructive'"
    effect: require_approval
    min_approvals: 2
    approvers: [approvers]
"""


def test_paused_run_resumes_after_restart_with_approvals_across_processes(make_service: Factory,
                                                                          identities: Path) -> None:
    """A run needing two approvals: one given before a restart, one after; it applies once, by two people."""

    async def pause() -> str:
        async with make_service(TWO_APPROVERS) as svc:
            await _index(svc, "keep")
            paused = await svc.submit(req("delete the vector index keep"))
            assert paused["awaiting"]["min_approvals"] == 2
            half = await svc.approve(paused["run_id"], actor="cli:bob")
            assert half["status"] == "awaiting_approval"
            assert [a["actor"] for a in half["awaiting"]["approvals"]] == ["bob"]
            with pytest.raises(ApprovalError, match="already approved"):
                await svc.approve(paused["run_id"], actor="cli:bob")
            return str(paused["run_id"])

    async def resume(run_id: str) -> dict[str, Any]:
        async with make_service(TWO_APPROVERS) as svc:
            assert svc.approvals()[0]["approvals"][0]["actor"] == "bob"
            done = await svc.approve(run_id, actor="cli:dave")
            assert await _indexes(svc) == []
            return done

    run_id = arun(pause())
    done = arun(resume(run_id))
    assert done["status"] == "applied"
    assert [c["action"] for c in done["changes"]] == ["pgvector.index.delete"]
    assert [(a["actor"], a["outcome"]) for a in done["approvals"]] == [("bob", "pending"), ("dave", "approved")]


def test_unreachable_store_fails_closed(make_service: Factory) -> None:
    """If the policy gate can't read freezes or change counts, nothing mutates and the user is told why."""
    from state.store import Store

    async def flow() -> None:
        async with make_service() as svc:
            await _index(svc, "before")
            svc.deps.policy.store = Store("postgresql+psycopg://sophia@127.0.0.1:9/unreachable")
            view = await svc.submit(req("create a vector index called after with 3 dimensions"))
            assert view["status"] == "denied"
            (reason,) = view["decision"]["reasons"]
            assert reason["message"].startswith("policy engine unavailable: the state store at 127.0.0.1:9")
            assert view["changes"] == []
            assert await _indexes(svc) == ["before"]

    arun(flow())


def test_read_only_plan_runs_when_policy_cannot_answer(make_service: Factory) -> None:
    """Fail-closed covers mutations only: a read-only plan is allowed, saying why."""
    from adapters.catalog import ActionCall
    from orchestrator.state import Plan, Request, Step
    from state.store import Store

    async def flow() -> None:
        async with make_service() as svc:
            gate = svc.deps.policy
            gate.store = Store("postgresql+psycopg://sophia@127.0.0.1:9/unreachable")
            read = Plan(steps=[Step(seq=1, call=ActionCall(action="gong.call.list", params={}), risk="read",
                                    reversible=True)])
            write = Plan(steps=[Step(seq=1, call=ActionCall(action="pgvector.index.delete", target="x"),
                                     risk="destructive", reversible=False)])
            request = Request(text="", actor="cli:tester")
            assert gate.decide(read, request, "r1").effect == "allow"
            denied = gate.decide(write, request, "r2")
            assert denied.effect == "deny" and "policy engine unavailable" in denied.reasons[0]["message"]

    arun(flow())


def test_broken_pack_denies_mutations_and_names_the_line(make_service: Factory) -> None:
    """A pack that doesn't compile: the service still answers reads, every mutation is denied with file:line:rule."""

    async def flow() -> None:
        async with make_service("pack: bad\nversion: 1\nrules:\n  - id: oops\n    when: 'env =='\n    effect: deny\n") as svc:
            view = await svc.submit(req("create a vector index called nope with 3 dimensions"))
            assert view["status"] == "denied"
            message = view["decision"]["reasons"][0]["message"]
            assert "policy engine unavailable" in message and "extra-pack.yaml:5: rule oops" in message
            assert await _indexes(svc) == []
            assert svc.history() == []

    arun(flow())


def test_broken_identities_file_denies_mutations(make_service: Factory, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An identities file that doesn't parse: nobody is trusted, every mutation is denied, saying why."""
    bad = tmp_path / "ids.yaml"
    bad.write_text("identities:\n  - id: a\n    roles: [god]\n")
    monkeypatch.setenv("SOPHIA_IDENTITIES", str(bad))

    async def flow() -> None:
        async with make_service() as svc:
            view = await svc.submit(req("create a vector index called nobody with 3 dimensions", actor="cli:tester"))
            assert view["status"] == "denied"
            assert "identities file" in view["decision"]["reasons"][0]["message"]

    arun(flow())


def test_freeze_and_unfreeze(make_service: Factory, identities: Path) -> None:
    """A freeze refuses changes in its environment, is in the ledger, and only approvers lift it."""

    async def flow() -> None:
        async with make_service() as svc:
            with pytest.raises(PolicyDeniedError, match="may not freeze"):
                await svc.freeze("prod", until="2h", reason="nope", actor="cli:vera")
            assert [r["status"] for r in svc.runs()] == ["failed"]
            frozen = await svc.freeze("prod", until="2h", reason="release day", actor="cli:alice")
            assert frozen["status"] == "applied"
            assert frozen["changes"][0]["action"] == "sophia.freeze.start"
            denied = await svc.submit(req("create a vector index called during with 3 dimensions", actor="cli:bob"))
            assert denied["status"] == "denied"
            assert "prod is frozen until" in denied["decision"]["reasons"][0]["message"]
            assert "by cli:alice: release day" in denied["decision"]["reasons"][0]["message"]
            with pytest.raises(PolicyDeniedError, match="may not lift"):
                await svc.unfreeze("prod", actor="cli:alice")
            lifted = await svc.unfreeze("prod", actor="cli:bob")
            assert lifted["changes"][0]["action"] == "sophia.freeze.lift"
            with pytest.raises(NotFoundError, match="not frozen"):
                await svc.unfreeze("prod", actor="cli:bob")
            await _index(svc, "after")
            # The text path: a parsed freeze intent is handed to the same code.
            parsed = ParsedCommand(intent=Intent.FREEZE, environment="prod", until="tomorrow", reason="quarter close")
            by_text = await svc.submit(req("freeze prod until tomorrow, quarter close"), parsed)
            assert by_text["status"] == "applied" and by_text["result"]["freeze"]["reason"] == "quarter close"
            bad = await svc.submit(req("freeze prod until whenever"),
                                   ParsedCommand(intent=Intent.FREEZE, environment="prod", until="whenever"))
            assert bad["status"] == "failed" and "can't read the time" in bad["error"]["message"]
            actions = [c["action"] for c in svc.history()]
            assert actions.count("sophia.freeze.start") == 2 and actions.count("sophia.freeze.lift") == 1
            assert svc.verify_ledger().ok
            undo = await svc.undo(actor="cli:alice")  # the last change is the index, not a freeze record
            assert undo["status"] == "denied"  # prod is frozen again

    arun(flow())


def test_request_changes_goes_back_to_the_requester(make_service: Factory, identities: Path) -> None:
    """request_changes ends the run with the approver's comment; it needs a comment."""

    async def flow() -> None:
        async with make_service() as svc:
            await _index(svc, "rc")
            paused = await svc.submit(req("delete the vector index rc"))
            with pytest.raises(ApprovalError, match="needs a comment"):
                await svc.request_changes(paused["run_id"], actor="cli:bob", comment="  ")
            done = await svc.request_changes(paused["run_id"], actor="cli:bob", comment="archive it first")
            assert done["status"] == "changes_requested"
            answer = done["result"]["approval"]
            assert (answer["actor"], answer["decision"], answer["comment"]) == ("bob", "request_changes",
                                                                                "archive it first")
            assert "rc" in await _indexes(svc)

    arun(flow())


ENVIRONMENTS = """\
pack: envs
version: 1
environments:
  - {match: "pgvector:scratch*", env: dev}
"""


def test_environments_by_resource_pattern(make_service: Factory, identities: Path) -> None:
    """A resource mapped to dev is planned and recorded in dev; a prod freeze doesn't touch it."""

    async def flow() -> None:
        async with make_service(ENVIRONMENTS) as svc:
            await svc.freeze("prod", until="1h", reason="r", actor="cli:alice")
            view = await svc.submit(req("create a vector index called scratch1 with 3 dimensions"))
            assert view["status"] == "applied", view["decision"]
            assert view["plan"]["steps"][0]["environment"] == "dev"
            assert view["changes"][0]["environment"] == "dev"
            blocked = await svc.submit(req("create a vector index called real with 3 dimensions"))
            assert blocked["status"] == "denied"

    arun(flow())


def test_explain_decides_without_running(make_service: Factory, identities: Path) -> None:
    """`policy explain`: the decision and the rules that fired; no run, no change, no platform call."""

    async def flow() -> None:
        async with make_service() as svc:
            out = svc.explain("delete the vector index docs", actor="cli:alice")
            assert out["identity"] == "alice" and out["steps"][0]["env"] == "prod"
            assert out["decision"]["effect"] == "require_approval" and out["decision"]["four_eyes"]
            assert [r["rule"] for r in out["decision"]["reasons"]] == ["four-eyes-destructive"]
            viewer = svc.explain("create a vector index called x with 3 dims", actor="cli:vera")
            assert viewer["decision"]["effect"] == "deny" and viewer["decision"]["reasons"][0]["rule"] == "roles"
            dev = svc.explain("create a vector index called x with 3 dims", actor="cli:alice", env="qa")
            assert dev["decision"]["effect"] == "require_approval" and dev["tier"] == "manual"
            assert svc.explain("how is pgvector doing?", actor="cli:alice")["decision"] is None
            assert svc.runs() == [] and svc.history() == []

    arun(flow())


def test_rate_limit_counts_an_identity_across_its_actors(make_service: Factory, identities: Path) -> None:
    """The per-actor limit counts the identity's changes from every surface, from the ledger."""
    pack = ("pack: rl\nversion: 1\ninclude_default: false\nrules:\n"
            "  - id: two-an-hour\n    builtin: rate_limit\n    config: {max_changes: 2, window: 1h}\n")

    async def flow() -> None:
        async with make_service(pack) as svc:
            await _index(svc, "r1", actor="cli:alice")
            await _index(svc, "r2", actor="slack:UALICE")
            third = await svc.submit(req("create a vector index called r3 with 3 dimensions", actor="cli:alice"))
            assert third["status"] == "denied"
            assert "alice made 2 changes in the last 1h" in third["decision"]["reasons"][0]["message"]
            await _index(svc, "r3", actor="cli:bob")

    arun(flow())


def test_approvals_listing(make_service: Factory, identities: Path) -> None:
    """`approvals`: pending runs with requester, approver groups, expiry and why."""

    async def flow() -> None:
        async with make_service() as svc:
            await _index(svc, "listed")
            paused = await svc.submit(req("delete the vector index listed"))
            (item,) = svc.approvals()
            assert item["run_id"] == paused["run_id"] and item["requester"] == "alice"
            assert item["approvers"] == ["approvers"] and item["four_eyes"] and not item["expired"]
            assert item["expires_at"] > item["requested_at"]
            assert item["reasons"][0]["rule"] == "four-eyes-destructive"

    arun(flow())

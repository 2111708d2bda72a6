"""Who the CLI acts as: the OS user (or SOPHIA_ACTOR); `--as` takes a grant; four-eyes compares real principals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.config import Settings, get_settings
from orchestrator.errors import ApprovalError, PolicyDeniedError
from orchestrator.state import Decision, Effect
from tests.orchestrator.conftest import arun, req
from tests.policies.test_policy_pipeline import IDENTITIES, Factory, _index, _indexes, make_service  # noqa: F401

GRANTS = IDENTITIES + """\
  - {id: ops-root, roles: [operator], actors: ["cli:root-ops"], act_as: ["cli:alice", "cli:bob"]}
  - {id: boss, roles: [admin], actors: ["cli:boss"]}
"""


@pytest.fixture
def os_user(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Pretend the process runs as OS account ``holder[0]``."""
    from orchestrator import principal

    holder = ["root-ops"]
    monkeypatch.setattr(principal, "os_login", lambda: holder[0])
    return holder


@pytest.fixture
def grants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "identities.yaml"
    path.write_text(GRANTS)
    monkeypatch.setenv("SOPHIA_IDENTITIES", str(path))
    return path


def test_the_os_user_comes_from_the_uid_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """$USER is the caller's to set; the login of the process's uid is not."""
    import pwd

    from orchestrator.principal import os_login

    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    assert os_login() == pwd.getpwuid(__import__("os").geteuid()).pw_name
    monkeypatch.delenv("SOPHIA_ACTOR")
    get_settings.cache_clear()
    assert get_settings().default_actor() == f"cli:{os_login()}"


def test_as_someone_else_needs_an_identities_file(os_user: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.principal import resolve_cli_actor

    monkeypatch.delenv("SOPHIA_ACTOR")
    assert resolve_cli_actor(None, Settings()).actor == "cli:root-ops"
    me = resolve_cli_actor("cli:root-ops", Settings())
    assert (me.actor, me.principal) == ("cli:root-ops", "cli:root-ops")
    with pytest.raises(PolicyDeniedError, match="SOPHIA_IDENTITIES") as err:
        resolve_cli_actor("cli:bob", Settings())
    assert "act_as" in err.value.hint
    # Without a file, SOPHIA_ACTOR is this machine's configured identity: the real principal.
    configured = resolve_cli_actor(None, Settings(actor="cli:alice"))
    assert (configured.actor, configured.principal) == ("cli:alice", "cli:alice")


def test_as_with_a_grant_records_the_real_principal(os_user: list[str], grants: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.principal import resolve_cli_actor

    monkeypatch.delenv("SOPHIA_ACTOR")
    named = resolve_cli_actor("cli:bob", Settings())
    assert (named.actor, named.principal) == ("cli:bob", "cli:root-ops")
    with pytest.raises(PolicyDeniedError, match="may not act as cli:carol"):
        resolve_cli_actor("cli:carol", Settings())
    # With a file, SOPHIA_ACTOR naming someone else is held to the same grant.
    with pytest.raises(PolicyDeniedError, match="SOPHIA_ACTOR"):
        resolve_cli_actor(None, Settings(actor="cli:carol"))
    assert resolve_cli_actor(None, Settings(actor="cli:alice")).principal == "cli:root-ops"
    os_user[0] = "boss"  # admins may act as anyone
    assert resolve_cli_actor("cli:carol", Settings()).principal == "cli:boss"


def test_authorize_compares_real_principals() -> None:
    from policies.approvals import Answer, authorize, new_request
    from policies.identity import load_identities

    directory = load_identities(default_actor=None)
    decision = Decision(effect=Effect.REQUIRE_APPROVAL, four_eyes=True, approvers=[])
    ask = new_request(run_id="run_1", digest="d", summary="", requester=directory.resolve("cli:alice"),
                      requester_actor="cli:alice", decision=decision, now=datetime.now(UTC),
                      requester_principal=directory.resolve("cli:root"))
    assert ask.requester_principal == "cli:root"
    bob = directory.resolve("cli:bob")
    same = authorize(ask, bob, Answer.APPROVE, None, principal=directory.resolve("cli:root"))
    assert same is not None and "cli:root" in same and "someone else" in same
    assert authorize(ask, bob, Answer.APPROVE, None, principal=bob) is None


def test_a_named_actor_never_satisfies_four_eyes_for_its_principal(make_service: Factory, grants: Path) -> None:  # noqa: F811
    """alice (named by root-ops) asks; bob named by the same root-ops can't approve; the real bob can."""

    async def flow() -> None:
        async with make_service() as svc:
            await _index(svc, "eyes")
            paused = await svc.submit(req("delete the vector index eyes", actor="cli:alice", principal="cli:root-ops"))
            run_id = paused["run_id"]
            assert paused["status"] == "awaiting_approval"
            assert paused["awaiting"]["requester_principal"] == "ops-root"
            with pytest.raises(ApprovalError, match="someone else"):
                await svc.approve(run_id, actor="cli:bob", principal="cli:root-ops")
            assert svc.view(run_id)["status"] == "awaiting_approval" and "eyes" in await _indexes(svc)
            done = await svc.approve(run_id, actor="cli:bob", principal="cli:bob")
            assert done["status"] == "applied" and await _indexes(svc) == []
            assert [(a["actor"], a["source"]) for a in done["approvals"]] == [("bob", "cli:bob")]
            assert done["approvals"][0]["outcome"] == "approved"

    arun(flow())


def test_approvals_record_who_named_the_actor(make_service: Factory, grants: Path) -> None:  # noqa: F811
    """A named approval from another principal counts, and the record says who named the actor."""

    async def flow() -> None:
        async with make_service() as svc:
            await _index(svc, "rec")
            paused = await svc.submit(req("delete the vector index rec", actor="cli:alice"))
            done = await svc.approve(paused["run_id"], actor="cli:bob", principal="cli:root-ops")
            assert done["status"] == "applied"
            assert done["approvals"][0]["source"] == "cli:bob via cli:root-ops"

    arun(flow())

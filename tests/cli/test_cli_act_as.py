"""Four-eyes on the CLI: `--as` is a grant, not a name anyone can type, and it never approves its own principal."""

from __future__ import annotations

from pathlib import Path

from orchestrator.principal import os_login
from tests.cli.test_cli_e2e import cli, cli_env, jcli  # noqa: F401


def test_the_same_os_user_cannot_approve_by_naming_someone_else(cli_env: dict[str, str],  # noqa: F811
                                                                  tmp_path: Path) -> None:
    for name in ("eyes-a", "eyes-b"):
        code, made = jcli(cli_env, "do", f"create a vector index called {name} with 3 dimensions", "--yes")
        assert code == 0 and made["status"] == "applied", made
    code, paused = jcli(cli_env, "do", "delete the vector index eyes-a", "--yes")
    assert code == 0 and paused["status"] == "awaiting_approval"
    run_id = paused["run_id"]

    # No identities file: --as someone else is refused outright, with the way to grant it.
    res = cli(cli_env, "approve", run_id, "--as", "cli:bob")
    assert res.returncode == 5, res.stdout + res.stderr
    assert "cli:alice" in res.stderr and "SOPHIA_IDENTITIES" in res.stderr and "act_as" in res.stderr
    assert jcli(cli_env, "runs", run_id)[1]["status"] == "awaiting_approval"

    # A grant lets the OS user name alice and bob, but both are still this one OS user: refused.
    me = f"cli:{os_login()}"
    identities = tmp_path / "identities.yaml"
    identities.write_text(f"""\
identities:
  - {{id: alice, roles: [operator], actors: ["cli:alice"]}}
  - {{id: bob, roles: [operator, approver], groups: [approvers], actors: ["cli:bob"]}}
  - {{id: ops, roles: [operator], actors: ["{me}"], act_as: ["cli:alice", "cli:bob"]}}
""")
    granted = {"SOPHIA_IDENTITIES": str(identities), "SOPHIA_ACTOR": ""}
    code, named = jcli(cli_env, "do", "delete the vector index eyes-b", "--yes", "--as", "cli:alice", extra=granted)
    assert code == 0 and named["status"] == "awaiting_approval" and named["actor"] == "cli:alice"
    assert named["awaiting"]["requester"] == "alice" and named["awaiting"]["requester_principal"] == "ops"
    assert named["result"]["principal"] == me
    res = cli(cli_env, "approve", named["run_id"], "--as", "cli:bob", extra=granted)
    assert res.returncode == 9, res.stdout + res.stderr
    assert "someone else" in res.stderr and "--as" in res.stderr
    res = cli(cli_env, "approve", named["run_id"], "--as", "cli:carol", extra=granted)
    assert res.returncode == 5 and "may not act as cli:carol" in res.stderr

    # A second, real principal (bob's own configured identity) approves alice's request.
    code, done = jcli(cli_env, "approve", run_id, extra={"SOPHIA_ACTOR": "cli:bob"})
    assert code == 0 and done["status"] == "applied", done
    assert [(a["actor"], a["source"]) for a in done["approvals"]] == [("cli:bob", "cli:bob")]

"""The policy commands in a subprocess, as a user runs them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.test_cli_e2e import ROOT, cli, jcli


@pytest.fixture
def cli_env(isolated_env: Path, pg_url: str) -> dict[str, str]:
    """The CLI's environment: a private home, pgvector on this test's database, the local user alice."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env.update(SOPHIA_HOME=str(isolated_env), SOPHIA_PGVECTOR_URL=pg_url, SOPHIA_ACTOR="cli:alice",
               PYTHONPATH=str(ROOT))
    return env


def test_policy_check_and_explain(cli_env: dict[str, str], tmp_path: Path) -> None:
    """`policy check` passes the shipped packs and refuses a bad one with file:line:rule; `explain` decides."""
    code, report = jcli(cli_env, "policy", "check")
    assert code == 0 and report["ok"] and report["packs"][0]["pack"] == "default"
    bad = tmp_path / "bad.yaml"
    bad.write_text("pack: bad\nversion: 1\nrules:\n  - id: oops\n    when: 'env =='\n    effect: deny\n"
                   "  - id: typo\n    when: 'true'\n    efect: deny\n")
    res = cli(cli_env, "policy", "check", str(bad))
    assert res.returncode == 12
    assert f"{bad}:5: rule oops: when: syntax error" in res.stderr
    assert f"{bad}:9: rule typo: efect: unknown field" in res.stderr
    res = cli(cli_env, "policy", "explain", "delete the vector index docs", "--as", "cli:bob", "--env", "dev")
    assert res.returncode == 0 and "require_approval" in res.stdout and "four-eyes-destructive" in res.stdout
    assert "env dev" in res.stdout and "not the requester" in res.stdout


def test_approvals_request_changes_freeze_unfreeze(cli_env: dict[str, str]) -> None:
    """The approval and freeze commands, with their exit codes."""
    bob = {"SOPHIA_ACTOR": "cli:bob"}  # another configured principal (`--as` would need an identities file)
    code, made = jcli(cli_env, "do", "create a vector index called cliidx with 3 dimensions", "--yes", extra=bob)
    assert code == 0 and made["status"] == "applied"
    code, paused = jcli(cli_env, "do", "delete the vector index cliidx", "--yes", extra=bob)
    assert code == 0 and paused["status"] == "awaiting_approval"
    code, pending = jcli(cli_env, "approvals")
    assert code == 0 and [p["run_id"] for p in pending] == [paused["run_id"]]
    res = cli(cli_env, "approve", paused["run_id"], extra=bob)
    assert res.returncode == 9 and "someone else" in res.stderr
    code, sent_back = jcli(cli_env, "request-changes", paused["run_id"], "--comment", "keep it until Monday")
    assert code == 9 and sent_back["status"] == "changes_requested"
    assert sent_back["result"]["approval"]["comment"] == "keep it until Monday"
    code, frozen = jcli(cli_env, "freeze", "prod", "--until", "2h", "--reason", "release")
    assert code == 0 and frozen["changes"][0]["action"] == "sophia.freeze.start"
    res = cli(cli_env, "do", "create a vector index called blocked with 3 dimensions", "--yes", extra=bob)
    assert res.returncode == 5 and "prod is frozen until" in res.stdout
    code, lifted = jcli(cli_env, "unfreeze", "prod")
    assert code == 0 and lifted["changes"][0]["action"] == "sophia.freeze.lift"

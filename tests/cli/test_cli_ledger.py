"""`ledger export-head` and `ledger verify --anchor` in a subprocess, as an auditor runs them."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from orchestrator.state import canonical_json
from tests.cli.test_cli_e2e import ROOT, cli, jcli


@pytest.fixture
def cli_env(isolated_env: Path) -> dict[str, str]:
    """A private home (SQLite state), no ledger key configured, the local user alice."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env.update(SOPHIA_HOME=str(isolated_env), SOPHIA_ACTOR="cli:alice", PYTHONPATH=str(ROOT))
    return env


def _rechain(db_path: Path, mac: object, edit_seq: int) -> None:
    """Rewrite entry ``edit_seq``'s body and re-chain everything after it, as a database writer would."""
    db = sqlite3.connect(db_path)
    prev, latest = "", {}
    for seq, body_text in db.execute("SELECT seq, body FROM ledger ORDER BY seq").fetchall():
        body = json.loads(body_text)
        if seq == edit_seq:
            body["actor"] = "cli:mallory"
        digest = mac(f"{prev}|{seq}|{canonical_json(body)}".encode())  # type: ignore[operator]
        db.execute("UPDATE ledger SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                   (json.dumps(body), prev, digest, seq))
        latest[body["id"]] = (prev, digest, body["actor"])
        prev = digest
    for change_id, (p, h, actor) in latest.items():
        db.execute("UPDATE changes SET prev_hash = ?, hash = ?, actor = ? WHERE id = ?", (p, h, actor, change_id))
    db.execute("UPDATE ledger_head SET hash = ? WHERE id = 1", (prev,))
    db.commit()
    db.close()


def _two_changes(env: dict[str, str]) -> None:
    assert jcli(env, "freeze", "prod", "--until", "2h", "--reason", "release")[0] == 0
    assert jcli(env, "unfreeze", "prod")[0] == 0


def test_first_use_generates_the_key_and_says_so(cli_env: dict[str, str]) -> None:
    res = cli(cli_env, "freeze", "prod", "--until", "2h", "--reason", "release", "--json")
    assert res.returncode == 0, res.stderr
    key = Path(cli_env["SOPHIA_HOME"]) / "ledger.key"
    assert key.exists() and "generated a ledger key" in res.stderr and str(key) in res.stderr
    assert key.read_text().strip() not in res.stdout + res.stderr
    code, report = jcli(cli_env, "ledger", "verify")
    assert code == 0 and report["ok"] and report["scheme"] == "hmac-sha256"


def test_plain_sha256_rechain_is_detected(cli_env: dict[str, str]) -> None:
    """Someone who can write the database but has no key re-chains an edit the old way: exit 13."""
    _two_changes(cli_env)
    _rechain(Path(cli_env["SOPHIA_HOME"]) / "state.db", lambda m: hashlib.sha256(m).hexdigest(), edit_seq=1)
    res = cli(cli_env, "ledger", "verify")
    assert res.returncode == 13, res.stdout + res.stderr
    assert "ledger entry 1" in res.stderr and "edited" in res.stderr


def test_rechain_with_the_key_before_an_anchor_is_detected(cli_env: dict[str, str], tmp_path: Path) -> None:
    """The key holder re-chains history: plain verify can't tell, `verify --anchor` can."""
    import hmac

    _two_changes(cli_env)
    anchor = tmp_path / "anchors" / "head.json"
    code, head = jcli(cli_env, "ledger", "export-head", str(anchor))
    assert code == 0 and head["seq"] == 4 and head["hash"]
    saved = json.loads(anchor.read_text())
    assert {"seq", "hash", "at", "key_id", "scheme"} <= set(saved) and saved["hash"] == head["hash"]
    code, ok = jcli(cli_env, "ledger", "verify", "--anchor", str(anchor))
    assert code == 0 and ok["ok"] and ok["anchor"]["seq"] == 4
    key = (Path(cli_env["SOPHIA_HOME"]) / "ledger.key").read_text().strip().encode()
    _rechain(Path(cli_env["SOPHIA_HOME"]) / "state.db", lambda m: hmac.new(key, m, hashlib.sha256).hexdigest(),
             edit_seq=1)
    assert jcli(cli_env, "ledger", "verify")[0] == 0
    res = cli(cli_env, "ledger", "verify", "--anchor", str(anchor))
    assert res.returncode == 13, res.stdout + res.stderr
    assert "ledger entry 4 is not the one in the anchor" in res.stderr
    res = cli(cli_env, "ledger", "verify", "--anchor", str(tmp_path / "nope.json"))
    assert res.returncode == 4 and "export-head" in res.stderr

"""``sophia-iac serve | keys | slack | webhooks`` as a user runs them (subprocesses, zero config)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(isolated_env: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    return base | {"SOPHIA_HOME": str(isolated_env), "PYTHONPATH": str(ROOT), "SOPHIA_ACTOR": "cli:admin"}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.interfaces.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def jcli(env: dict[str, str], *args: str) -> Any:
    res = cli(env, *args, "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_keys_are_shown_once_and_stored_hashed(env: dict[str, str]) -> None:
    made = cli(env, "keys", "create", "--role", "approver", "--name", "alice")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("sophia_") and "shown only now" in made.stderr
    listed = jcli(env, "keys", "list")
    assert [(k["name"], k["role"], k["created_by"]) for k in listed] == [("alice", "approver", "cli:admin")]
    assert key not in json.dumps(listed) and "key_hash" not in listed[0]
    import sqlite3

    db = sqlite3.connect(Path(env["SOPHIA_HOME"]) / "state.db")
    stored = db.execute("SELECT key_hash FROM api_keys").fetchone()[0]
    db.close()
    assert key not in stored and len(stored) == 64
    bad = cli(env, "keys", "create", "--role", "root", "--name", "x")
    assert bad.returncode == 4 and "viewer, operator, approver, admin" in bad.stderr
    revoked = jcli(env, "keys", "revoke", listed[0]["id"])
    assert revoked["revoked_at"]
    assert jcli(env, "keys", "list") == [] and len(jcli(env, "keys", "list", "--revoked")) == 1
    assert cli(env, "keys", "revoke", "key_nope").returncode == 7


def test_slack_links_and_webhook_listings(env: dict[str, str]) -> None:
    linked = jcli(env, "slack", "link", "--user", "U123", "--identity", "alice", "--role", "operator")
    assert (linked["team_id"], linked["identity"], linked["role"]) == ("*", "alice", "operator")
    assert [u["user_id"] for u in jcli(env, "slack", "users")] == ["U123"]
    assert jcli(env, "slack", "unlink", "--user", "U123") == {"removed": True}
    assert jcli(env, "slack", "users") == []
    assert jcli(env, "webhooks", "list") == [] and jcli(env, "webhooks", "dead") == []
    missing = cli(env, "webhooks", "replay", "42")
    assert missing.returncode == 7 and "no dead letter 42" in missing.stderr


def test_serve_starts_with_zero_configuration(env: dict[str, str]) -> None:
    from state.pgserver import free_port

    key = cli(env, "keys", "create", "--role", "viewer", "--name", "reader").stdout.strip()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "orchestrator.interfaces.cli", "serve", "--port", str(port),
                               "--log-level", "warning"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                ready = httpx.get(base + "/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.2)
        assert ready.json()["checks"]["database"]["detail"] == "sqlite"
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.get(base + "/v1/runs", headers=auth).status_code == 200
        assert httpx.post(base + "/v1/commands", json={"text": "help"}, headers=auth).status_code == 403
        # Slack is off without a signing secret: its routes say so instead of failing
        assert httpx.post(base + "/slack/commands", content=b"x").json()["code"] == "not_found"
        key_id = json.loads(cli(env, "keys", "list", "--json").stdout)[0]["id"]
        cli(env, "keys", "revoke", key_id)
        assert httpx.get(base + "/v1/runs", headers=auth).status_code == 401  # revocation is immediate
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    assert "Traceback" not in err, err[-3000:]

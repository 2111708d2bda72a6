"""The CLI, as a user runs it, with a secret env value: never in its output or on disk.

Vercel is :class:`~tests.adapters.vercel_double.VercelDouble` (a stand-in state model: no
Vercel can run here; its contract conformance is ``tests/contract/test_vercel_secrets.py``)
served over real HTTP on 127.0.0.1, so the CLI subprocess talks to it like to the vendor.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.vercel_double import TOKEN, VercelDouble

ROOT = Path(__file__).resolve().parents[2]
LITERAL = "canary-cli-literal-Zr81Kq0s"
REFERENCED = "canary-cli-referenced-Wd57Pn3v"


class DoubleServer:
    """The double behind a threaded HTTP server (each request answered by ``double.handle``)."""

    def __init__(self, double: VercelDouble) -> None:
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = httpx.Request(self.command, f"http://vercel.test{self.path}",
                                        headers=dict(self.headers), content=self.rfile.read(length))
                with lock:
                    response = double.handle(request)
                self.send_response(response.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def double() -> VercelDouble:
    return VercelDouble()


@pytest.fixture
def env(isolated_env: Path, double: VercelDouble) -> Iterator[dict[str, str]]:
    server = DoubleServer(double)
    base = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    base.update(SOPHIA_HOME=str(isolated_env), SOPHIA_ACTOR="cli:alice", PYTHONPATH=str(ROOT),
                SOPHIA_VERCEL_BASE_URL=server.url, SOPHIA_VERCEL_TOKEN=TOKEN,
                SOPHIA_VERCEL_ENV_API_KEY=REFERENCED)
    yield base
    server.close()


def cli(env: dict[str, str], *args: str) -> tuple[int, Any, str]:
    res = subprocess.run([sys.executable, "-m", "orchestrator.interfaces.cli", *args, "--json"], check=False, env=env,
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    return res.returncode, json.loads(res.stdout) if res.stdout.strip() else None, res.stdout + res.stderr


def test_cli_refuses_a_typed_secret_and_applies_and_undoes_a_referenced_one(
    env: dict[str, str], double: VercelDouble, isolated_env: Path
) -> None:
    outputs = []
    code, run, out = cli(env, "do", f"set API_KEY to {LITERAL} on the vercel project web for preview", "--yes")
    outputs.append(out)
    assert code == 4 and run["status"] == "failed" and run["error"]["code"] == "secret_in_command"
    assert "SOPHIA_VERCEL_ENV_API_KEY" in run["error"]["hint"]
    assert double.mutating == []
    code, run, out = cli(env, "do", "set API_KEY to secret://API_KEY on the vercel project web for preview", "--yes")
    outputs.append(out)
    assert code == 0 and run["status"] == "applied", out
    assert double.value("API_KEY", "preview") == REFERENCED
    assert run["changes"][0]["params"]["value"] == "secret://API_KEY"
    code, undo, out = cli(env, "undo", "--last", "--yes")
    outputs.append(out)
    assert code == 0 and undo["status"] == "applied", out
    assert double.value("API_KEY", "preview") is None
    code, runs, out = cli(env, "runs")
    outputs.append(out)
    assert code == 0 and len(runs) == 3
    files = {p: p.read_bytes() for p in isolated_env.rglob("*") if p.is_file()}
    assert any(b"secret://API_KEY" in blob for blob in files.values()), "the grep reads the stores"
    for canary in (LITERAL, REFERENCED):
        assert all(canary not in text for text in outputs), canary
        assert [p.name for p, blob in files.items() if canary.encode() in blob] == [], canary

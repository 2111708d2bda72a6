"""Resident memory of ``sophia-iac serve`` (zero config): idle after start, and after some traffic.

Starts the real command in a fresh ``$SOPHIA_HOME`` (SQLite state, offline parser, one inbox
worker thread), waits for ``/readyz``, lets it settle, reads ``VmRSS`` from ``/proc``; then
sends a few hundred requests (health, catalog, an authenticated command, webhooks) and reads
it again after it settles.

Usage: ``python bench/rss_idle.py [--out FILE]``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def main() -> None:
    import httpx

    from state.pgserver import free_port

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sophia-bench-rss-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")} | {
        "PYTHONPATH": str(ROOT), "SOPHIA_HOME": str(home), "SOPHIA_GITHUB_WEBHOOK_SECRET": "rss-secret"}
    cli = [sys.executable, "-m", "orchestrator.interfaces.cli"]
    key = subprocess.run([*cli, "keys", "create", "--role", "operator", "--name", "rss"], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    started = time.perf_counter()
    server = subprocess.Popen([*cli, "serve", "--port", str(port), "--log-level", "warning"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {"state": "sqlite (zero config)", "worker": "1 inbox worker thread"}
    try:
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
            if time.perf_counter() - started > 120:
                raise SystemExit("server did not become ready")
        results["ready_after_s"] = round(time.perf_counter() - started, 2)
        time.sleep(args.settle)
        results["rss_idle_mb"] = rss_mb(server.pid)
        with httpx.Client(base_url=base, timeout=60) as client:
            auth = {"Authorization": f"Bearer {key}"}
            for _ in range(100):
                client.get("/healthz")
                client.get("/v1/actions", headers=auth)
            for i in range(20):
                client.post("/v1/commands", json={"text": "help"}, headers=auth)
            for i in range(100):
                body = json.dumps({"n": i}).encode()
                sig = "sha256=" + hmac.new(b"rss-secret", body, hashlib.sha256).hexdigest()
                client.post("/webhooks/github", content=body, headers={
                    "X-Hub-Signature-256": sig, "X-GitHub-Delivery": str(uuid.uuid4()), "X-GitHub-Event": "push"})
            client.get("/metrics")
        time.sleep(args.settle)
        results["rss_after_traffic_mb"] = rss_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(home, ignore_errors=True)
    results["aim_rss_idle_mb"] = 250
    results["loadavg"] = os.getloadavg()
    print(json.dumps(results, indent=1))
    met = "met" if results["rss_idle_mb"] <= 250 else "NOT met"
    print(f"serve idle RSS {results['rss_idle_mb']} MB (aim <= 250 MB: {met})")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

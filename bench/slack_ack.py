"""Slack acknowledgement latency while every parse takes 10 s.

A real server (uvicorn, one process, zero-config SQLite state) runs with the parser replaced by
one that blocks for 10 s per command, as a slow model call would. 200 hand-signed ``/sophia``
slash commands are sent (sequentially, then 8 at a time) and the time to Slack's answer is
recorded. Every request is verified (signature), looked up (Slack user → identity),
deduplicated and stored before it is acknowledged; the parse and everything after it run in
the background on the service's own loop. Slack needs the answer within 3 s.

Usage: ``python bench/slack_ack.py [--requests 200] [--parse-seconds 10] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-slack-signing-secret"

SERVER = """
import os, sys, time
import uvicorn
from orchestrator.config import Settings
from orchestrator.interfaces.api import create_app
from orchestrator.interfaces.host import ServiceHost
from orchestrator.interfaces.slack import SlackPoster, SlackSettings
from orchestrator.parsing.offline import OfflineParser
from state.identities import SlackUsers

class SlowParser:
    def __init__(self, seconds):
        self.inner, self.seconds = OfflineParser(), seconds
    def parse(self, text, inventory=None):
        time.sleep(self.seconds)  # a blocking model call
        return self.inner.parse(text, inventory)

settings = Settings()
host = ServiceHost(settings)
host.start()
host.service.deps.parsers["default"] = SlowParser(float(sys.argv[2]))
SlackUsers(host.service.store).link(team_id="*", user_id="UBENCH", identity="bench", role="operator")
poster = SlackPoster(SlackSettings(response_url_prefix="http://127.0.0.1:9/"))
app = create_app(settings, host=host, slack=True, slack_poster=poster, worker=False)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def signed(text: str, n: int) -> tuple[bytes, dict[str, str]]:
    form = {"command": "/sophia", "text": text, "user_id": "UBENCH", "team_id": "T1", "channel_id": "C1",
            "response_url": f"http://127.0.0.1:9/r{n}", "trigger_id": f"bench-{n}-{time.monotonic_ns()}"}
    body = urlencode(form).encode()
    stamp = str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return body, {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig,
                  "Content-Type": "application/x-www-form-urlencoded"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary(latencies: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in latencies]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(max(ms), 1), "mean_ms": round(statistics.fmean(ms), 1)}


def main() -> None:
    import httpx

    from state.pgserver import free_port

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--parse-seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sophia-bench-slack-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")} | {
        "PYTHONPATH": str(ROOT), "SOPHIA_HOME": str(home), "SOPHIA_SLACK_SIGNING_SECRET": SECRET}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(args.parse_seconds)], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {"parse_seconds": args.parse_seconds, "cpus": os.cpu_count(),
                               "loadavg_before": os.getloadavg(), "state": "sqlite (zero config)"}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not become ready")
            time.sleep(0.2)
        from bench.webhook_ingest import proc_cpu

        cpu_before = proc_cpu(server.pid)
        with httpx.Client(base_url=base, timeout=30) as client:
            latencies, bad = [], 0
            for i in range(args.requests):
                body, headers = signed(f"create a vector index called bench-{i} with 3 dimensions", i)
                started = time.perf_counter()
                r = client.post("/slack/commands", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                bad += r.status_code != 200 or r.json().get("response_type") != "in_channel"
            results["sequential"] = summary(latencies) | {"non_ok": bad}
            results["server_cpu_ms_per_ack"] = round((proc_cpu(server.pid) - cpu_before) / args.requests * 1000, 2)
            print("sequential", json.dumps(results["sequential"]), flush=True)

        async def burst() -> tuple[list[float], int]:
            out: list[float] = []
            failures = 0
            sem = asyncio.Semaphore(8)
            async with httpx.AsyncClient(base_url=base, timeout=30) as ac:
                async def one(i: int) -> None:
                    nonlocal failures
                    body, headers = signed(f"create a vector index called burst-{i} with 3 dimensions", 10_000 + i)
                    async with sem:
                        started = time.perf_counter()
                        r = await ac.post("/slack/commands", content=body, headers=headers)
                        out.append(time.perf_counter() - started)
                        failures += r.status_code != 200

                await asyncio.gather(*(one(i) for i in range(args.requests)))
            return out, failures

        latencies, bad = asyncio.run(burst())
        results["concurrent_8"] = summary(latencies) | {"non_ok": bad}
        print("concurrent_8", json.dumps(results["concurrent_8"]), flush=True)
        health = httpx.get(base + "/healthz", timeout=5)
        results["healthz_while_busy_ms"] = round(health.elapsed.total_seconds() * 1000, 1)
        results["loadavg_after"] = os.getloadavg()
    finally:
        server.kill()  # 400 ten-second parses are still queued: don't wait for them
        server.wait(30)
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(results, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

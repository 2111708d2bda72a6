"""MCP figures: tool-list size (and what it costs a client's context), and read/plan latency.

    python bench/mcp_latency.py [N]

Runs against a throw-away ``SOPHIA_HOME`` (SQLite state; pgvector on the embedded PostgreSQL,
or ``SOPHIA_PGVECTOR_URL``), with the official SDK's client:

* the tool list as a client receives it over stdio — every platform with an adapter (the
  default), ``--platforms pgvector``, ``--read-only`` — as tool count, JSON bytes and tokens.
  Tokens are counted with OpenAI's ``o200k_base`` and ``cl100k_base`` encodings when the
  ``bpe-openai`` package is installed (it ships the vocabularies; tiktoken downloads them),
  else estimated as bytes / 4 (and the output says so);
* the median latency of N reads (``sophia_status pgvector``, which reads the platform, and
  ``sophia_history``, which reads the ledger) and N plans (``pgvector_index_create`` without a
  token: parse → plan with a before-state read → policy, a dry run) over stdio and over HTTP
  (``/mcp`` on the serve app, uvicorn on a free port, an operator API key).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _tokens(text: str) -> dict[str, Any]:
    try:
        import bpe_openai
    except ImportError:
        return {"estimate_bytes_div_4": len(text.encode()) // 4}
    return {name: len(bpe_openai.get_encoding(name).encode(text)) for name in ("o200k_base", "cl100k_base")}


def _stdio(home: Path, *args: str) -> Any:
    from mcp import Client, StdioServerParameters

    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")} | {
        "SOPHIA_HOME": str(home), "SOPHIA_ACTOR": "cli:bench", "PYTHONPATH": str(ROOT)}
    if os.environ.get("SOPHIA_PGVECTOR_URL"):
        env["SOPHIA_PGVECTOR_URL"] = os.environ["SOPHIA_PGVECTOR_URL"]
    return Client(StdioServerParameters(command=sys.executable, args=["-m", "orchestrator.interfaces.cli", "mcp", *args],
                                        env=env, cwd=ROOT))


async def _timed(client: Any, n: int, tool: str, args: dict[str, Any]) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        result = await client.call_tool(tool, args)
        times.append(time.perf_counter() - start)
        if result.is_error:
            raise RuntimeError(f"{tool}: {result.content[0].text}")
    return statistics.median(times) * 1000


async def _latencies(client: Any, n: int) -> dict[str, float]:
    await client.call_tool("sophia_status", {"platform": "pgvector"})  # warm: the adapter's connection pool
    return {"read sophia_status pgvector (ms)": await _timed(client, n, "sophia_status", {"platform": "pgvector"}),
            "read sophia_history (ms)": await _timed(client, n, "sophia_history", {"limit": 20}),
            "plan pgvector_index_create (ms)": await _timed(client, n, "pgvector_index_create",
                                                            {"target": "bench-idx", "dimension": 8})}


async def _tool_lists(home: Path) -> None:
    print("tool list (as the client receives it over stdio)")
    from adapters.registry import catalog_platforms

    every = ("--platforms", ",".join(catalog_platforms()))
    for args in ((), every, ("--platforms", "pgvector"), ("--platforms", "pgvector,github"), ("--read-only",)):
        async with _stdio(home, *args) as client:
            tools = (await client.list_tools()).tools
        text = json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools])
        label = "--platforms <all 18 in the catalog>" if args == every else (
            " ".join(args) or "(default: every platform with an adapter)")
        print(f"  {label:<44} {len(tools):>3} tools  {len(text.encode()):>6} bytes  tokens {_tokens(text)}")


def _serve(home: Path) -> tuple[Any, str, str, threading.Thread]:
    import uvicorn

    from orchestrator.config import Settings, get_settings
    from orchestrator.interfaces.api import create_app
    from state.identities import ApiKeys

    os.environ["SOPHIA_HOME"] = str(home)
    get_settings.cache_clear()
    app = create_app(Settings(home=home, pgvector_url=os.environ.get("SOPHIA_PGVECTOR_URL")), worker=False,
                     slack=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    key = ApiKeys(app.state.ctx.store).create(name="bench", role="operator")[1]
    return server, f"http://127.0.0.1:{port}/mcp", key, thread


async def _http(url: str, key: str, n: int) -> dict[str, float]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(30, read=300))
    async with Client(streamable_http_client(url, http_client=http)) as client:
        return await _latencies(client, n)


def main() -> None:
    """Print the figures."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory(prefix="sophia-mcp-bench-") as tmp:
        home = Path(tmp) / "home"
        try:
            asyncio.run(_tool_lists(home))

            async def stdio() -> dict[str, float]:
                async with _stdio(home, "--platforms", "pgvector", "--rate", "100000") as client:
                    return await _latencies(client, n)

            print(f"median latency over {n} calls")
            for name, ms in asyncio.run(stdio()).items():
                print(f"  stdio  {name:<36} {ms:8.1f}")
            server, url, key, thread = _serve(home)
            try:
                for name, ms in asyncio.run(_http(url, key, n)).items():
                    print(f"  http   {name:<36} {ms:8.1f}")
            finally:
                server.should_exit = True
                thread.join(30)
        finally:
            if (home / "pg.lock").exists():
                from state.pgserver import EmbeddedPostgres

                EmbeddedPostgres(home / "pg").stop()


if __name__ == "__main__":
    main()

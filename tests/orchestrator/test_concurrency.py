"""Runs in one service don't queue behind each other: a slow parse blocks only its own run."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from orchestrator.parsing.offline import OfflineParser
from orchestrator.service import OrchestratorService
from orchestrator.state import ParsedCommand
from tests.orchestrator.conftest import arun, req

Factory = Callable[[], OrchestratorService]


class GatedParser:
    """Stands in for a slow LLM parser: parsing a text naming ``slow`` waits until released.

    Everything else is the real offline parser; only the wait is fake (no model runs here).
    """

    def __init__(self, release: threading.Event) -> None:
        self.inner = OfflineParser()
        self.release = release
        self.entered = threading.Event()

    def parse(self, text: str, inventory: Any = None) -> ParsedCommand:
        if "slow" in text:
            self.entered.set()
            self.release.wait(30)
        return self.inner.parse(text, inventory)


def test_a_blocked_parse_does_not_stop_another_run(service_factory: Factory) -> None:
    release = threading.Event()
    # On the old, blocking code the event loop never gets back to the test; this timer ends
    # the wait so the test fails on its assertions instead of hanging.
    watchdog = threading.Timer(10, release.set)

    async def flow() -> None:
        async with service_factory() as svc:
            parser = GatedParser(release)
            svc.deps.parsers["default"] = parser
            watchdog.start()
            slow = asyncio.create_task(svc.submit(req("create a vector index called slow with 3 dimensions")))
            assert await asyncio.to_thread(parser.entered.wait, 10), "the first parse started"
            started = asyncio.get_running_loop().time()
            fast = await asyncio.wait_for(svc.submit(req("create a vector index called fast with 3 dimensions")), 20)
            assert fast["status"] == "applied", fast.get("error")
            assert not release.is_set(), "the second run finished while the first parse was still blocked"
            assert not slow.done()
            probe = asyncio.get_running_loop().time()
            await asyncio.sleep(0)
            assert asyncio.get_running_loop().time() - probe < 1.0, "the loop answers at once"
            assert asyncio.get_running_loop().time() - started < 9.0
            release.set()
            first = await asyncio.wait_for(slow, 30)
            assert first["status"] == "applied", first.get("error")
            assert sorted(c["target"] for c in svc.history()) == ["fast", "slow"]
            assert svc.verify_ledger().ok

    try:
        arun(flow())
    finally:
        release.set()
        watchdog.cancel()


def test_overlapping_runs_keep_the_ledger_and_the_locks_sound(service_factory: Factory) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            names = [f"many-{i}" for i in range(5)]
            views = await asyncio.gather(*(svc.submit(req(f"create a vector index called {n} with 3 dimensions"))
                                           for n in names), svc.submit(req("status pgvector")))
            assert [v["status"] for v in views] == ["applied"] * 5 + ["answered"], [v.get("error") for v in views]
            assert sorted(c["target"] for c in svc.history()) == names
            assert svc.verify_ledger().ok

    arun(flow())

"""A service per test on SQLite state, with pgvector on a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from orchestrator.config import Settings
from orchestrator.service import OrchestratorService
from orchestrator.state import Request


@pytest.fixture
def settings(pg_url: str, isolated_env: Any) -> Settings:
    return Settings(pgvector_url=pg_url)


@pytest.fixture
def service_factory(settings: Settings) -> Callable[[], OrchestratorService]:
    return lambda: OrchestratorService(settings)


def req(text: str, actor: str = "cli:alice", **kw: Any) -> Request:
    return Request(text=text, actor=actor, **kw)


def arun(coro: Coroutine[Any, Any, Any]) -> Any:
    import asyncio

    return asyncio.run(coro)


AsyncIterator  # noqa: B018 - re-exported for type hints in tests

"""Fixtures for the reliability matrix (RELIABILITY.md §7): the real app, service and stores.

The served app (``api``) is the one ``tests/interfaces`` uses: the real FastAPI app and its
lifespan in Starlette's TestClient, SQLite state, pgvector on a fresh PostgreSQL database.
``doors`` swaps the vendors' REAL adapters in for the test-only webhook adapters and sets
exactly one webhook secret per platform, as an operator would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from adapters import registry
from tests.interfaces.conftest import Api, api, hooks, secrets, settings, slack_client  # noqa: F401
from tests.interfaces.sink import Sink

#: The real adapters, captured before any fixture swaps in the test-only ones.
REAL_ADAPTERS = dict(registry.BUILTIN)

HUBSPOT_URL = "https://sophia.example.com/webhooks/hubspot?portal=acme%20eu"
DOOR_SECRETS = {p: f"{p}-matrix-secret-{uuid.uuid4().hex[:8]}"
                for p in ("figma", "github", "hubspot", "linear", "vercel")}


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    """The response_url endpoint, with a listen backlog deep enough for 200 answers at once."""
    from http.server import ThreadingHTTPServer

    monkeypatch.setattr(ThreadingHTTPServer, "request_queue_size", 512)
    server = Sink()
    yield server
    server.close()


@pytest.fixture
def doors(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:  # noqa: F811 - the imported fixture
    """The real GitHub, Vercel, Linear, HubSpot and Figma adapters, each with its one secret setting."""
    for platform, secret in DOOR_SECRETS.items():
        monkeypatch.setitem(registry.BUILTIN, platform, REAL_ADAPTERS[platform])
        monkeypatch.setenv(f"SOPHIA_{platform.upper()}_WEBHOOK_SECRET", secret)
    monkeypatch.setitem(registry.BUILTIN, "slack", REAL_ADAPTERS["slack"])
    monkeypatch.setenv("SOPHIA_HUBSPOT_WEBHOOK_URL", HUBSPOT_URL)
    registry._table.cache_clear()
    return api


def inbox_rows(server: Api, platform: str | None = None) -> list[Any]:
    """Every inbox row (optionally one platform's)."""
    from state.inbox import Inbox

    return Inbox(server.store).events(platform=platform, limit=1000)

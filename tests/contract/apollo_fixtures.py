"""Fixtures the Apollo contract test modules share (imported by each; not a conftest).

One Prism serves the hand-written contract for every Apollo module of a session
(:func:`~tests.contract.apollo_twin.shared_server`); each test gets a fresh
:class:`~tests.contract.apollo_twin.ApolloTwin`, whose query-string problems must be none at
teardown, a recording transport pointed at Prism, and an adapter that records retry waits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import pytest

from adapters.data.apollo import ApolloAdapter

from .apollo_twin import ApolloTwin, shared_server
from .common import pointed_at, sent
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps

__all__ = ["JANE", "TOKEN", "adapter", "apollo_server", "env", "mutations", "twin"]

TOKEN = "apollo-contract-key-7f3e9a1c"
JANE = "66e34b81740c50074e3d1b01"
READS = ("/emailer_campaigns/search", "/contacts/search", "/email_accounts")


@pytest.fixture(scope="module")
def apollo_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract."""
    return shared_server(request.config)


@pytest.fixture
def twin() -> Iterator[ApolloTwin]:
    """Apollo's state for one test; its query strings are checked at teardown."""
    twin = ApolloTwin()
    yield twin
    assert twin.query_problems == [], "query strings the contract refuses"


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, apollo_server: PrismServer, twin: ApolloTwin
) -> Iterator[RecordingTransport]:
    """A recording transport to Prism, steered by ``twin``; the adapter pointed at it."""
    monkeypatch.delenv("SOPHIA_APOLLO_EMAIL_ACCOUNT_ID", raising=False)
    with pointed_at(monkeypatch, "apollo", apollo_server.base_url, TOKEN):
        yield twin.attach(RecordingTransport())


@pytest.fixture
async def adapter(env: RecordingTransport) -> AsyncIterator[ApolloAdapter]:
    """An adapter sending through ``env``, recording retry waits instead of sleeping."""
    async with aclosing(ApolloAdapter(transport=env, sleep=Sleeps())) as a:
        yield a


def mutations(env: RecordingTransport) -> list[tuple[str, str]]:
    """What was sent besides the reads (searches, the mailbox listing)."""
    return [(m, p) for m, p in sent(env.exchanges) if not p.endswith(READS)]

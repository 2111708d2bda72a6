"""A served app per test: SQLite state, pgvector on a fresh PostgreSQL database, test adapters.

The app runs its real lifespan (service host on its own loop, Slack app) inside Starlette's
TestClient; ``Api`` adds keys for every role and helpers to wait for background work.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from orchestrator.config import Settings
from tests.interfaces.hook_adapters import REGISTRY
from tests.interfaces.sink import Sink

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
WEBHOOK_SECRETS = {"github": "gh-hook-secret", "vercel": "vercel-hook-secret", "linear": "linear-hook-secret",
                   "pgvector": "pgvector-hook-secret"}
BOT_TOKEN = "xoxb-0000000000-test-token"


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register the test-only webhook adapters (see hook_adapters.py)."""
    from adapters import registry

    monkeypatch.setattr(registry, "BUILTIN", {**registry.BUILTIN, **REGISTRY})
    registry._table.cache_clear()
    yield
    registry._table.cache_clear()


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_SLACK_SIGNING_SECRET", SLACK_SECRET)
    monkeypatch.setenv("SOPHIA_SLACK_TOKEN", BOT_TOKEN)
    for platform, secret in WEBHOOK_SECRETS.items():
        monkeypatch.setenv(f"SOPHIA_{platform.upper()}_WEBHOOK_SECRET", secret)


@pytest.fixture
def settings(pg_url: str, isolated_env: Any) -> Settings:
    return Settings(pgvector_url=pg_url)


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


@pytest.fixture
def slack_client() -> Any:
    """The Web API client; Slack tests override this with one pointed at Prism (None: lazily made)."""
    return None


@dataclass
class Api:
    """The served app plus keys for every role."""

    client: TestClient
    app: Any
    sink: Sink
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx

    @property
    def store(self) -> Any:
        return self.ctx.store

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def key(self, name: str, role: str) -> str:
        from state.identities import ApiKeys

        _, key = ApiKeys(self.store).create(name=name, role=role)
        self.keys[name] = key
        return key

    def drain(self) -> None:
        """Wait for the Slack app's background work."""
        if self.ctx.slack is not None:
            self.client.portal.call(self.ctx.slack.drain)

    def runs(self) -> list[Any]:
        return self.store.list_runs(limit=1000)

    def work(self, **config: Any) -> Any:
        """Drain the webhook inbox with one worker (returns it)."""
        from orchestrator.deps import AdapterPool
        from orchestrator.inbox import InboxWorker, WorkerConfig

        async def go() -> Any:
            pool = AdapterPool(self.ctx.host.settings)
            try:
                worker = InboxWorker(self.store, pool, notifier=self.ctx.slack,
                                     config=WorkerConfig(**({"backoff_seconds": 0.0} | config)))
                await worker.drain()
                return worker
            finally:
                await pool.aclose()

        return asyncio.run(go())

    # -- Slack ---------------------------------------------------------------------------
    def slack(self, path: str, body: bytes, content_type: str, *, ts: int | None = None,
              secret: str = SLACK_SECRET, headers: dict[str, str] | None = None) -> Any:
        stamp = str(int(time.time()) if ts is None else ts)
        sig = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        sent = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig, "Content-Type": content_type}
        return self.client.post(path, content=body, headers=sent | (headers or {}))

    def slash(self, text: str, *, user: str = "UALICE", trigger: str | None = None, name: str = "cmd") -> Any:
        form = {"command": "/sophia", "text": text, "user_id": user, "team_id": "T1", "channel_id": "C1",
                "response_url": self.sink.url(name), "trigger_id": trigger or f"trig-{time.monotonic_ns()}"}
        return self.slack("/slack/commands", urlencode(form).encode(), "application/x-www-form-urlencoded")

    def press(self, action: str, value: str, *, user: str, name: str = "press") -> Any:
        from orchestrator.interfaces.slack import ACTION_IDS

        payload = {"type": "block_actions", "user": {"id": user, "team_id": "T1"}, "team": {"id": "T1"},
                   "channel": {"id": "C1"}, "trigger_id": f"trig-{time.monotonic_ns()}",
                   "response_url": self.sink.url(name), "message": {"ts": "1700000000.000100"},
                   "actions": [{"action_id": ACTION_IDS[action], "value": value, "type": "button",
                                "action_ts": str(time.time())}]}
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.slack("/slack/interactivity", body, "application/x-www-form-urlencoded")

    def link(self, user: str, identity: str, role: str) -> None:
        from state.identities import SlackUsers

        SlackUsers(self.store).link(team_id="T1", user_id=user, identity=identity, role=role)


@pytest.fixture
def api(settings: Settings, hooks: None, secrets: None, sink: Sink, slack_client: Any) -> Iterator[Api]:
    from orchestrator.interfaces.api import create_app
    from orchestrator.interfaces.slack import SlackPoster, SlackSettings

    poster = SlackPoster(SlackSettings(api_url="http://127.0.0.1:9/", response_url_prefix=sink.prefix,
                                       alerts_channel="C0ALERTS"), client=slack_client)
    app = create_app(settings, worker=False, slack=True, slack_poster=poster)
    with TestClient(app) as client:
        server = Api(client, app, sink)
        for role in ("viewer", "operator", "approver", "admin"):
            server.key(role, role)
        server.key("bob", "approver")
        yield server


# -- Slack's Web API served by Prism (the vendor's published contract) ----------------------

from tests.contract.conftest import prism, specs_root  # noqa: F401  (session fixtures)


class RecordingClient:
    """A slack-sdk WebClient that keeps every call with Prism's verdict on it."""

    def __new__(cls, base_url: str) -> Any:
        from slack_sdk import WebClient
        from slack_sdk.errors import SlackApiError

        class Recording(WebClient):
            def __init__(self) -> None:
                # Slack's published (2021) spec declares the token as a `token` header as well;
                # real Slack reads the bearer token. Sending both satisfies the contract.
                super().__init__(token=BOT_TOKEN, base_url=base_url, headers={"token": BOT_TOKEN})
                self.calls: list[dict[str, Any]] = []

            def api_call(self, api_method: str, **kwargs: Any) -> Any:
                try:
                    response = super().api_call(api_method, **kwargs)
                except SlackApiError as exc:
                    self.calls.append({"method": api_method, "data": kwargs.get("data"),
                                       "status": exc.response.status_code,
                                       "violations": exc.response.headers.get("sl-violations")})
                    raise
                self.calls.append({"method": api_method, "data": kwargs.get("data"), "status": response.status_code,
                                   "violations": response.headers.get("sl-violations")})
                return response

            def request_violations(self) -> list[Any]:
                found = []
                for call in self.calls:
                    for v in json.loads(call["violations"] or "[]"):
                        if (v.get("location") or [""])[0] == "request":
                            found.append((call["method"], v))
                return found

        return Recording()

"""Slack adapter against Slack's published Web API description, served by Prism.

slack-sdk's ``AsyncWebClient`` speaks aiohttp, so exchanges are recorded (and ``Prefer: code=…``
injected) by an aiohttp client middleware rather than an httpx transport; each exchange is
turned into the harness's :class:`Exchange` so the same violation check applies. Prism keeps no
state and its example channel ``general`` is active, so ``unarchive`` is driven through
``execute`` with the before-state of an archived ``general`` (the step ``configure`` would take
after observing an archived channel); every other action goes through ``configure``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from adapters.catalog import ActionCall
from adapters.http import PlatformAuthError, reset_breakers
from adapters.ops.slack import SlackAdapter
from adapters.registry import spec_for
from orchestrator.config import Settings
from orchestrator.errors import AdapterError, NotFoundError

from .prism import Exchange, PrismPool, PrismServer, assert_no_request_violations

pytestmark = pytest.mark.anyio

SPEC = "slack_web_openapi_v2.json"
PRISM_SPECS = [("slack", SPEC)]
TOKEN = "xoxb-0000-contract-test-token"


@pytest.fixture(scope="module")
def server(prism: PrismPool) -> PrismServer:
    (served,) = prism.serve("slack", SPEC)
    return served


@dataclass
class Recorder:
    """An aiohttp client middleware that records exchanges and can force status codes."""

    prefer: Callable[[str, str], str | None] | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    async def middleware(self, request: Any, handler: Any) -> Any:
        code = self.prefer(request.method, request.url.path) if self.prefer else None
        if code is not None:
            request.headers["Prefer"] = f"code={code}"
        sent = await request.body.as_bytes() if request.body else b""  # for strict mode's body check
        response = await handler(request)
        body = await response.read()
        self.exchanges.append(
            Exchange(
                httpx.Request(
                    request.method, str(request.url), headers=list(request.headers.items()), content=sent
                ),
                httpx.Response(response.status, headers=list(response.headers.items()), content=body),
            )
        )
        return response

    def session(self) -> Any:
        import aiohttp

        return aiohttp.ClientSession(middlewares=(self.middleware,))

    def sent(self) -> list[str]:
        return [
            f"{e.request.method} {e.request.url.path} -> {e.response.status_code}" for e in self.exchanges
        ]

    def mutations(self) -> list[str]:
        return [s for s in self.sent() if s.startswith("POST ")]

    def force(self, code: int, *, method: str = "POST", times: int = 1) -> None:
        left = [times]

        def prefer(verb: str, path: str) -> str | None:
            if verb == method and left[0] > 0:
                left[0] -= 1
                return str(code)
            return None

        self.prefer = prefer


@dataclass
class Rig:
    adapter: SlackAdapter
    recorder: Recorder
    waits: list[float]


@pytest.fixture
async def rig(server: PrismServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    reset_breakers()
    monkeypatch.setenv("SOPHIA_SLACK_BASE_URL", server.base_url)
    monkeypatch.setenv("SOPHIA_SLACK_TOKEN", TOKEN)
    recorder = Recorder()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    yield Rig(SlackAdapter(Settings(), session_factory=recorder.session, sleep=sleep), recorder, waits)
    assert recorder.exchanges, "nothing reached Prism"
    assert_no_request_violations(recorder.exchanges)


def call(action: str, target: str, **params: Any) -> ActionCall:
    return spec_for(f"slack.channel.{action}").call(target, params)


async def test_channel_create(rig: Rig) -> None:
    result = await rig.adapter.configure(call("create", "incident-2231", private=True))
    assert result.before is None
    assert rig.recorder.mutations() == ["POST /conversations.create -> 200"]


async def test_channel_archive(rig: Rig) -> None:
    result = await rig.adapter.configure(call("archive", "general"))
    assert result.before["id"] == "C012AB3CD"
    assert rig.recorder.mutations() == ["POST /conversations.archive -> 200"]


async def test_channel_unarchive(rig: Rig) -> None:
    step = call("unarchive", "general")
    before = await rig.adapter.observe(step)
    archived = {**before, "is_archived": True}
    rig.adapter.precheck(step, archived)
    await rig.adapter.execute(step, archived)
    assert rig.recorder.mutations() == ["POST /conversations.unarchive -> 200"]


async def test_channel_set_topic(rig: Rig) -> None:
    result = await rig.adapter.configure(
        call("set_topic", "general", topic="Checkout errors — investigating")
    )
    assert result.inverse is not None and result.inverse.params == {
        "topic": "Company-wide announcements and work-based matters"
    }
    assert rig.recorder.mutations() == ["POST /conversations.setTopic -> 200"]


async def test_channel_invite_resolves_users_with_users_list(rig: Rig) -> None:
    result = await rig.adapter.configure(
        call("invite", "general", users="@glinda spengler@ghostbusters.example.com")
    )
    assert result.before["invitees"] == ["W012A3CDE", "W07QCRPA4"]
    assert rig.recorder.mutations() == ["POST /conversations.invite -> 200"]
    assert not any("lookupByEmail" in s or "users.info" in s for s in rig.recorder.sent())


async def test_status(rig: Rig) -> None:
    status = await rig.adapter.get_status()
    assert status.healthy, status.message
    assert [c["name"] for c in status.inventory["channel"]] == ["general", "random"]
    assert rig.recorder.sent()[0] == "GET /auth.test -> 200"


@pytest.mark.parametrize(
    "step",
    [
        call("create", "incident-2231"),
        call("archive", "general"),
        call("set_topic", "general", topic="x"),
        call("invite", "general", users="@glinda"),
    ],
)
async def test_dry_run_sends_only_reads(rig: Rig, step: ActionCall) -> None:
    result = await rig.adapter.configure(step, dry_run=True)
    assert result.dry_run and result.after is None
    assert rig.recorder.mutations() == []


async def test_401_is_an_auth_error_naming_the_credential(rig: Rig) -> None:
    rig.recorder.force(401, method="GET")
    with pytest.raises(PlatformAuthError) as caught:
        await rig.adapter.configure(call("archive", "general"))
    assert "SOPHIA_SLACK_TOKEN" in caught.value.hint and TOKEN not in str(caught.value)
    assert rig.recorder.mutations() == []


async def test_404_names_the_target(rig: Rig) -> None:
    rig.recorder.force(404)
    with pytest.raises(NotFoundError, match="general not found"):
        await rig.adapter.configure(call("archive", "general"))


async def test_429_is_retried(rig: Rig) -> None:
    rig.recorder.force(429)
    await rig.adapter.configure(call("archive", "general"))
    assert rig.recorder.mutations() == [
        "POST /conversations.archive -> 429",
        "POST /conversations.archive -> 200",
    ]
    assert (
        len(rig.waits) == 1
    )  # Prism's 429 carries no Retry-After: jittered backoff (Retry-After: test_slack.py)


async def test_500_on_a_mutation_is_not_repeated(rig: Rig) -> None:
    rig.recorder.force(500)
    with pytest.raises(AdapterError, match="HTTP 500"):
        await rig.adapter.configure(call("archive", "general"))
    assert rig.recorder.mutations() == ["POST /conversations.archive -> 500"]
    assert rig.adapter.breaker.snapshot()["failures"] == 1

"""A ``*.webhook.create`` action refuses, before anything is sent, when its secret is missing.

A hook registered without the secret our door checks is either unsigned (GitHub: anyone can
post to the URL) or one whose every delivery the door refuses. So each catalog action that
registers a hook with a vendor raises :class:`~orchestrator.errors.ConfigError` naming the
setting, at plan time (``precheck``) and again at execution, with no request made.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.catalog import ActionCall
from adapters.http import reset_breakers
from adapters.registry import adapter_class, all_specs
from adapters.testing import run
from orchestrator.errors import ConfigError

#: Every catalog action that registers a webhook with a vendor: its call and its secret setting.
CREATES: dict[str, tuple[ActionCall, str]] = {
    "github.webhook.create": (
        ActionCall(action="github.webhook.create", target="acme/api",
                   params={"url": "https://ci.example.com/hook", "events": ["push"]}),
        "SOPHIA_GITHUB_WEBHOOK_SECRET",
    ),
    "figma.webhook.create": (
        ActionCall(action="figma.webhook.create", target="1234567890",
                   params={"event_type": "FILE_UPDATE", "endpoint": "https://hooks.example.com/figma"}),
        "SOPHIA_FIGMA_WEBHOOK_SECRET",
    ),
}


@pytest.fixture
def sent() -> Iterator[list[httpx.Request]]:
    reset_breakers()
    yield []
    reset_breakers()


def adapter_for(action: str, sent: list[httpx.Request], monkeypatch: pytest.MonkeyPatch) -> Any:
    platform = action.split(".", 1)[0]
    monkeypatch.setenv(f"SOPHIA_{platform.upper()}_TOKEN", "tok_" + "x" * 36)

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201 if request.method == "POST" else 200, json={"id": 1})

    return adapter_class(platform)(transport=httpx.MockTransport(record))


def test_the_table_covers_every_webhook_create_in_the_catalog() -> None:
    assert sorted(s.id for s in all_specs() if s.id.endswith(".webhook.create")) == sorted(CREATES)


@pytest.mark.parametrize("action", sorted(CREATES))
def test_webhook_create_without_a_secret_is_refused_at_plan_time(
        action: str, sent: list[httpx.Request], monkeypatch: pytest.MonkeyPatch) -> None:
    call, setting = CREATES[action]
    adapter = adapter_for(action, sent, monkeypatch)
    with pytest.raises(ConfigError) as err:
        adapter.precheck(call, None)
    assert setting in (err.value.hint or "")
    assert sent == []


@pytest.mark.parametrize("action", sorted(CREATES))
def test_webhook_create_without_a_secret_sends_nothing_at_execution(
        action: str, sent: list[httpx.Request], monkeypatch: pytest.MonkeyPatch) -> None:
    call, setting = CREATES[action]
    adapter = adapter_for(action, sent, monkeypatch)

    async def go() -> None:
        try:
            await adapter.execute(call, None)
        finally:
            await adapter.aclose()

    with pytest.raises(ConfigError) as err:
        run(go())
    assert setting in (err.value.hint or "")
    assert [r for r in sent if r.method != "GET"] == []


@pytest.mark.parametrize("action", sorted(CREATES))
def test_webhook_create_with_the_secret_registers_it(
        action: str, sent: list[httpx.Request], monkeypatch: pytest.MonkeyPatch) -> None:
    call, setting = CREATES[action]
    monkeypatch.setenv(setting, "hook-secret-123")
    adapter = adapter_for(action, sent, monkeypatch)
    adapter.precheck(call, None)

    async def go() -> None:
        try:
            await adapter.execute(call, None)
        finally:
            await adapter.aclose()

    run(go())
    (create,) = [r for r in sent if r.method == "POST"]
    assert b"hook-secret-123" in create.content

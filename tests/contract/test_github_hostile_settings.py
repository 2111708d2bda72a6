"""Hostile secret names, branch names and repo names never take a GitHub request off its path.

:mod:`.test_hostile_paths` runs these actions too, but its transport answers every request
``200 {}``, so ``secret.set`` stops at the missing public key and never sends its ``PUT``. Here
the transport answers like GitHub (a real public key, a secrets list, a repository), so every
request of every action is reached: each hostile string (:data:`.hostile_support.NASTY` and
GitHub-specific ones) goes into the target, either half of it, and the name/branch param, both
straight into ``observe``/``execute`` (as an unvalidated caller would), and for the param also
through ``configure`` (params validated). Every request sent must match a template of GitHub's document that
the benign run used, with no segment decoding to a dot segment; everything else is refused.
No Prism: nothing here needs an answer's shape checked, only where requests go.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
from nacl.public import PrivateKey

from adapters.catalog import ActionCall
from adapters.dev.github import GitHubAdapter
from adapters.http import reset_breakers

from .hostile_support import NASTY, match, offending
from .provision import SKIP_TAG, specs_dir

KEY = base64.b64encode(bytes(PrivateKey.generate().public_key)).decode()
EXTRA = ("GITHUB_TOKEN", "1ABC", "A B", "refs/heads/../x", "main.lock", "a..b", "-", "secret://DEPLOY/../x")
ACTIONS: dict[str, tuple[str, dict[str, Any], str]] = {
    "github.secret.set": ("acme/web", {"name": "DEPLOY_TOKEN", "value": "secret://DEPLOY"}, "name"),
    "github.secret.delete": ("acme/web", {"name": "NPM_TOKEN"}, "name"),
    "github.repo.set_visibility": ("acme/web", {"visibility": "public"}, "visibility"),
    "github.repo.set_default_branch": ("acme/web", {"branch": "develop"}, "branch"),
}


class GitHubLike(httpx.AsyncBaseTransport):
    """Answers as GitHub would for these actions, and records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        body: Any = {}
        if path.endswith("/actions/secrets/public-key"):
            body = {"key_id": "1", "key": KEY}
        elif path.endswith("/actions/secrets"):
            body = {
                "total_count": 1,
                "secrets": [{"name": "NPM_TOKEN", "updated_at": "2026-01-01T00:00:00Z"}],
            }
        elif path.removeprefix("/base").count("/") == 3:
            body = {
                "full_name": "acme/web",
                "private": True,
                "visibility": "private",
                "default_branch": "main",
            }
        return httpx.Response(200, json=body, request=request)


async def _run(call: ActionCall, validated: bool) -> list[httpx.Request]:
    transport = GitHubLike()
    adapter = GitHubAdapter(transport=transport)
    try:
        if validated:
            await adapter.configure(call)
        else:
            await adapter.execute(call, await adapter.observe(call))
    except Exception:  # noqa: BLE001, S110 - the oracle is what was sent, not how it failed
        pass
    finally:
        await adapter.aclose()
    return transport.requests


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    if not specs_dir().is_dir():
        pytest.skip(f"{SKIP_TAG} vendor documents folder {specs_dir()} does not exist (SOPHIA_SPECS_DIR)")
    monkeypatch.setenv("SOPHIA_GITHUB_BASE_URL", "http://github.hostile.test/base")
    monkeypatch.setenv("SOPHIA_GITHUB_TOKEN", "tok-github-0123456789abcdef")
    monkeypatch.setenv("SOPHIA_GITHUB_ENV_DEPLOY", "deploy-value")
    reset_breakers()


def _templates(requests: list[httpx.Request]) -> set[tuple[str, str]]:
    found = set()
    for request in requests:
        path = request.url.raw_path.decode().split("?", 1)[0].removeprefix("/base")
        template = match("github", request.method, path)
        assert template is not None, f"{request.method} {path} is not in GitHub's document"
        found.add((template.method, template.path))
    return found


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_hostile_names_stay_on_path(action: str) -> None:
    asyncio.run(_check(action))


async def _check(action: str) -> None:
    target, params, param = ACTIONS[action]
    benign = await _run(ActionCall(action=action, target=target, params=params), validated=True)
    learnt = _templates(benign)
    assert any(m != "GET" for m, _ in learnt), f"the benign {action} sent no change: {learnt}"
    left, sent = [], 0
    for value in (*NASTY, *EXTRA):
        first, _, last = target.partition("/")
        calls = [
            ActionCall(action=action, target=value, params=params),
            ActionCall(action=action, target=f"{value}/{last}", params=params),
            ActionCall(action=action, target=f"{first}/{value}", params=params),
            ActionCall(action=action, target=target, params={**params, param: value}),
        ]
        for index, call in enumerate(calls):
            # Validated params refuse nearly every hostile value before a request: run that path for
            # the param slot only; the unvalidated path (the stronger test) runs for every slot.
            for validated in (True, False) if index == len(calls) - 1 else (False,):
                for request in await _run(call, validated):
                    sent += 1
                    raw = request.url.raw_path.decode("ascii", "replace").split("?", 1)[0]
                    path = raw.removeprefix("/base")
                    template = match("github", request.method, path)
                    why = None
                    if request.url.host != "github.hostile.test" or not raw.startswith("/base/"):
                        why = "left the base URL"
                    elif template is None or (template.method, template.path) not in learnt:
                        why = "matches no template this action uses"
                    else:
                        why = offending(path)
                    if why:
                        left.append(
                            f"{value[:40]!r} ({'validated' if validated else 'raw'}): {raw[:100]} {why}"
                        )
    assert sent, "nothing was sent at all"
    assert not left, f"{action}: {len(left)} request(s) left their path:\n" + "\n".join(left[:10])

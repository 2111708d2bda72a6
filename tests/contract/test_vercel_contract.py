"""Vercel adapter against Vercel's published OpenAPI contract, served by Prism.

Every action is driven through ``configure`` and every request it sends must carry zero
request-side violations. Prism answers from the contract's examples and keeps no state, so
where an action needs a state the examples don't show (a variable named ``API_URL``, a domain
already attached), :func:`overlay` rewrites Prism's own example answer to a read through the
harness's ``edit_json`` (the request still went to Prism and was validated). Error paths are
forced with ``Prefer: code=…`` on operations whose contract declares that status.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from adapters.catalog import ActionCall
from adapters.dev.vercel import VercelAdapter
from adapters.http import PlatformAuthError, reset_breakers
from adapters.registry import spec_for
from orchestrator.config import Settings
from orchestrator.errors import NotFoundError

from .prism import PrismPool, PrismServer, RecordingTransport, assert_no_request_violations

pytestmark = pytest.mark.anyio

SPEC = "vercel-spec.2025-10-27.json"
PRISM_SPECS = [("vercel", SPEC)]
TOKEN = "vercel-contract-token-0123456789"

Patch = Callable[[Any], Any]


@dataclass
class RetryAfterTransport(RecordingTransport):
    """Adds the ``Retry-After`` a live 429 carries (Prism's declared 429 has no headers)."""

    retry_after: str | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if response.status_code != 429 or self.retry_after is None:
            return response
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(
            429,
            headers=[*headers, ("Retry-After", self.retry_after)],
            content=response.content,
            request=request,
        )


def overlay(*rules: tuple[str, str, Patch]) -> Callable[[httpx.Request, Any], Any]:
    """An ``edit_json`` that rewrites Prism's example answer to the reads matching a rule."""

    def edit(request: httpx.Request, body: Any) -> Any:
        for method, pattern, patch in rules:
            if request.method == method and re.fullmatch(pattern, request.url.path):
                return patch(body)
        return body

    return edit


@pytest.fixture(scope="module")
def server(prism: PrismPool) -> PrismServer:
    (served,) = prism.serve("vercel", SPEC)
    return served


@dataclass
class Rig:
    adapter: VercelAdapter
    transport: RetryAfterTransport
    waits: list[float]

    def sent(self) -> list[str]:
        return [
            f"{e.request.method} {e.request.url.path} -> {e.response.status_code}"
            for e in self.transport.exchanges
        ]

    def mutations(self) -> list[str]:
        return [s for s in self.sent() if not s.startswith("GET ")]

    def body(self, method: str) -> Any:
        """The JSON body of the last ``method`` request sent."""
        sent = [e.request for e in self.transport.exchanges if e.request.method == method]
        return json.loads(sent[-1].content)


@pytest.fixture
async def rig(server: PrismServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    reset_breakers()
    monkeypatch.setenv("SOPHIA_VERCEL_BASE_URL", server.base_url)
    monkeypatch.setenv("SOPHIA_VERCEL_TOKEN", TOKEN)
    monkeypatch.setenv("SOPHIA_VERCEL_ENV_API_V2", "https://api-v2.example.com")
    transport = RetryAfterTransport()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    adapter = VercelAdapter(Settings(), transport=transport, sleep=sleep, promote_wait=0)
    yield Rig(adapter, transport, waits)
    await adapter.aclose()
    assert_no_request_violations(transport.exchanges)


def call(action: str, **params: Any) -> ActionCall:
    return spec_for(f"vercel.{action}").call("web", params)


def env_list(key: str, targets: list[str], comment: str = "") -> Patch:
    """Prism's example variable, renamed to ``key`` in ``targets`` and made project-wide."""

    def patch(example: Any) -> Any:
        entry = dict(example if isinstance(example, dict) and "key" in example else example["envs"][0])
        entry.update(
            key=key, target=targets, gitBranch=None, customEnvironmentIds=[], id="env_api1", comment=comment
        )
        return {"envs": [entry]}

    return patch


ENV_PATH = r"/v10/projects/web/env"


async def test_env_set_new_variable_creates_it(rig: Rig) -> None:
    result = await rig.adapter.configure(call("env.set", key="API_URL", value="https://api.example.com"))
    assert rig.mutations() == ["POST /v10/projects/web/env -> 201"]
    body = rig.body("POST")
    assert body == {
        "key": "API_URL",
        "value": "https://api.example.com",
        "type": "encrypted",
        "target": ["production"],
    }
    assert result.before == {
        "key": "API_URL",
        "environment": "production",
        "exists": False,
        "value_ref": None,
    }


async def test_env_set_existing_variable_by_reference_edits_it(rig: Rig) -> None:
    rig.transport.edit_json = overlay(
        ("GET", ENV_PATH, env_list("API_URL", ["production"], "[sophia-iac value_ref=secret://API_V1]"))
    )
    result = await rig.adapter.configure(call("env.set", key="API_URL", value="secret://API_V2"))
    assert rig.mutations() == ["PATCH /v9/projects/web/env/env_api1 -> 200"]
    patch = rig.body("PATCH")
    assert patch == {
        "value": "https://api-v2.example.com",
        "comment": "[sophia-iac value_ref=secret://API_V2]",
    }
    assert result.inverse is not None and result.inverse.params["value"] == "secret://API_V1"


async def test_env_set_on_a_shared_variable_splits_it(rig: Rig) -> None:
    rig.transport.edit_json = overlay(("GET", ENV_PATH, env_list("API_URL", ["production", "preview"])))
    await rig.adapter.configure(
        call("env.set", key="API_URL", value="https://x.example.com", environment="preview")
    )
    assert rig.mutations() == [
        "PATCH /v9/projects/web/env/env_api1 -> 200",
        "POST /v10/projects/web/env -> 201",
    ]


async def test_env_unset_deletes_the_variable(rig: Rig) -> None:
    rig.transport.edit_json = overlay(("GET", ENV_PATH, env_list("API_URL", ["production"])))
    await rig.adapter.configure(call("env.unset", key="API_URL"))
    assert rig.mutations() == ["DELETE /v9/projects/web/env/env_api1 -> 200"]


async def test_env_unset_on_a_shared_variable_narrows_it(rig: Rig) -> None:
    rig.transport.edit_json = overlay(("GET", ENV_PATH, env_list("API_URL", ["production", "development"])))
    await rig.adapter.configure(call("env.unset", key="API_URL", environment="development"))
    assert rig.mutations() == ["PATCH /v9/projects/web/env/env_api1 -> 200"]
    assert rig.body("PATCH") == {"target": ["production"]}


async def test_deployment_promote(rig: Rig) -> None:
    await rig.adapter.configure(call("deployment.promote", deployment_id="dpl_Ab12Cd34"))
    assert rig.mutations() == ["POST /v10/projects/string/promote/dpl_Ab12Cd34 -> 201"]


async def test_deployment_rollback_to_the_previous_production_deployment(rig: Rig) -> None:
    result = await rig.adapter.configure(call("deployment.rollback"))
    listing = next(e for e in rig.transport.exchanges if e.request.url.path == "/v6/deployments")
    assert dict(listing.request.url.params) == {
        "projectId": "string",
        "target": "production",
        "state": "READY",
        "rollbackCandidate": "true",
        "limit": "20",
    }
    assert result.expected == {"production_deployment_id": "dpl_2euZBFqxYdDMDG1jTrHFnNZ2eUVa"}
    assert rig.mutations() == ["POST /v10/projects/string/promote/dpl_2euZBFqxYdDMDG1jTrHFnNZ2eUVa -> 201"]


async def test_deployment_rollback_to_a_named_deployment(rig: Rig) -> None:
    await rig.adapter.configure(call("deployment.rollback", deployment_id="dpl_Zz99Yy88"))
    assert rig.mutations() == ["POST /v10/projects/string/promote/dpl_Zz99Yy88 -> 201"]


async def test_domain_add(rig: Rig) -> None:
    await rig.adapter.configure(call("domain.add", domain="app.example.com"))
    assert rig.mutations() == ["POST /v10/projects/web/domains -> 200"]


async def test_domain_remove(rig: Rig) -> None:
    rig.transport.edit_json = overlay(
        (
            "GET",
            r"/v9/projects/web/domains",
            lambda ex: {**ex, "domains": [{**ex["domains"][0], "name": "app.example.com"}]},
        )
    )
    await rig.adapter.configure(call("domain.remove", domain="app.example.com"))
    assert rig.mutations() == ["DELETE /v9/projects/web/domains/app.example.com -> 200"]


async def test_status(rig: Rig) -> None:
    status = await rig.adapter.get_status()
    assert status.healthy, status.message
    assert [p["name"] for p in status.inventory["project"]] == ["string"]
    assert rig.sent() == ["GET /v2/user -> 200", "GET /v10/projects -> 200"]


@pytest.mark.parametrize(
    "step",
    [
        call("env.set", key="API_URL", value="secret://API_V2"),
        call("deployment.promote", deployment_id="dpl_Ab12Cd34"),
        call("deployment.rollback"),
        call("domain.add", domain="app.example.com"),
    ],
)
async def test_dry_run_sends_only_reads(rig: Rig, step: ActionCall) -> None:
    result = await rig.adapter.configure(step, dry_run=True)
    assert result.dry_run and rig.transport.exchanges
    assert rig.mutations() == []


async def test_401_is_an_auth_error_naming_the_credential(rig: Rig) -> None:
    rig.transport.forced(401)
    with pytest.raises(PlatformAuthError) as caught:
        await rig.adapter.configure(call("domain.add", domain="app.example.com"))
    assert "SOPHIA_VERCEL_TOKEN" in caught.value.hint and TOKEN not in str(caught.value)
    assert rig.mutations() == []


async def test_404_names_the_target(rig: Rig) -> None:
    rig.transport.edit_json = overlay(("GET", ENV_PATH, env_list("API_URL", ["production"])))
    rig.transport.prefer = lambda request: "404" if request.method == "DELETE" else None
    with pytest.raises(NotFoundError, match="web not found"):
        await rig.adapter.configure(call("env.unset", key="API_URL"))


async def test_429_is_retried_after_retry_after(rig: Rig) -> None:
    posts = iter(["429"])
    rig.transport.prefer = lambda request: next(posts, None) if request.method == "POST" else None
    rig.transport.retry_after = "3"
    await rig.adapter.configure(call("env.set", key="API_URL", value="https://api.example.com"))
    assert rig.mutations() == ["POST /v10/projects/web/env -> 429", "POST /v10/projects/web/env -> 201"]
    assert rig.waits == [3.0]

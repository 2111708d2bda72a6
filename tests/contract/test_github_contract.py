"""The GitHub adapter against GitHub's published REST description, served by Prism.

Every catalog action runs through ``configure``; every request it sends must carry no
request-side violation. Error paths are forced with ``Prefer: code=…`` where the contract
declares the status. GitHub's contract declares 429 on almost no operation, so the
secondary-limit path is a contract 403 whose body carries GitHub's documented message.
Webhook deliveries are hand-signed per GitHub's scheme.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import pytest

from adapters.base import WebhookRejectedError, WebhookRequest
from adapters.catalog import ActionCall
from adapters.dev.github import MEDIA_TYPE, GitHubAdapter
from adapters.http import PlatformAuthError
from adapters.specs.github import ACTIONS
from orchestrator.errors import NotFoundError, ValidationFailedError

from .common import assert_catalog_covered, pointed_at
from .github_keys import with_real_public_key
from .prism import PrismPool, RecordingTransport, assert_no_request_violations
from .steered import Sleeps

PRISM_SPECS = [("github", "api.github.com.json")]

pytestmark = pytest.mark.anyio

TOKEN = "ghp_" + "Zy9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa"
HOOK_SECRET = "hook-secret-for-tests"

#: action → (target, params, forced codes per request in order; None = as served)
CASES: dict[str, tuple[str, dict[str, Any], list[int | None]]] = {
    "github.repo.create": ("Acme/Payments-Service", {"private": True, "description": "Payments"}, [404]),
    "github.repo.archive": ("acme/old-website", {}, []),
    "github.repo.unarchive": ("acme/old-website", {}, []),
    "github.branch_protection.set": ("acme/web", {"branch": "main", "required_reviews": 2}, []),
    "github.team.add_member": ("acme/platform", {"user": "@Mona"}, []),
    "github.team.remove_member": ("acme/platform", {"user": "octocat"}, []),
    "github.webhook.create": (
        "acme/web",
        {"url": "https://hooks.example.com/gh", "events": "push, pull_request"},
        [],
    ),
    "github.webhook.delete": ("acme/web", {"hook_id": 12345}, [None, None, 404]),
    "github.secret.set": ("acme/web", {"name": "deploy_token", "value": "secret://DEPLOY_TOKEN"}, []),
    "github.secret.delete": ("acme/web", {"name": "GH_TOKEN"}, []),
    "github.repo.set_visibility": ("acme/web", {"visibility": "private"}, []),
    "github.repo.set_default_branch": ("acme/web", {"branch": "main"}, []),
}

MUTATION: dict[str, tuple[str, str]] = {
    "github.repo.create": ("POST", "/orgs/acme/repos"),
    "github.repo.archive": ("PATCH", "/repos/acme/old-website"),
    "github.repo.unarchive": ("PATCH", "/repos/acme/old-website"),
    "github.branch_protection.set": ("PUT", "/repos/acme/web/branches/main/protection"),
    "github.team.add_member": ("PUT", "/orgs/acme/teams/platform/memberships/mona"),
    "github.team.remove_member": ("DELETE", "/orgs/acme/teams/platform/memberships/octocat"),
    "github.webhook.create": ("POST", "/repos/acme/web/hooks"),
    "github.webhook.delete": ("DELETE", "/repos/acme/web/hooks/12345"),
    "github.secret.set": ("PUT", "/repos/acme/web/actions/secrets/DEPLOY_TOKEN"),
    "github.secret.delete": ("DELETE", "/repos/acme/web/actions/secrets/GH_TOKEN"),
    "github.repo.set_visibility": ("PATCH", "/repos/acme/web"),
    "github.repo.set_default_branch": ("PATCH", "/repos/acme/web"),
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prism: PrismPool) -> Iterator[RecordingTransport]:
    (server,) = prism.serve("github", "api.github.com.json")
    with pointed_at(
        monkeypatch, "github", server.base_url, TOKEN, SOPHIA_GITHUB_WEBHOOK_SECRET=HOOK_SECRET,
        SOPHIA_GITHUB_ENV_DEPLOY_TOKEN="deploy-token-value",
    ):
        # The document's example Actions key is 33 bytes, not an X25519 key: serve a real one.
        yield RecordingTransport(edit_json=with_real_public_key)


@pytest.fixture
async def adapter(env: RecordingTransport) -> AsyncIterator[GitHubAdapter]:
    async with aclosing(GitHubAdapter(transport=env, sleep=Sleeps())) as a:
        yield a


def test_every_catalog_action_has_a_contract_case() -> None:
    assert_catalog_covered(GitHubAdapter, ACTIONS, CASES, MUTATION)


@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_speaks_the_contract(
    action: str, adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    target, params, forced = CASES[action]
    env.forced(*forced)
    result = await adapter.configure(ActionCall(action=action, target=target, params=params))
    assert assert_no_request_violations(env.exchanges) >= 2
    sent = [(ex.request.method, ex.request.url.path) for ex in env.exchanges]
    assert MUTATION[action] in sent, sent
    for ex in env.exchanges:
        assert ex.request.headers["accept"] == MEDIA_TYPE
        assert ex.request.headers["authorization"] == f"Bearer {TOKEN}"
    spec = adapter.spec(action)
    assert result.inverse == spec.derive_inverse(result.call, result.before, result.after)


async def test_repo_create_for_own_login_uses_user_repos(
    adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    env.forced(404)
    login = "octocat"  # Prism's example user
    result = await adapter.configure(
        ActionCall(action="github.repo.create", target=f"{login}/sandbox", params={"private": False})
    )
    post = next(ex for ex in env.exchanges if ex.request.method == "POST")
    assert post.request.url.path == "/user/repos"
    assert json.loads(post.request.content) == {"name": "sandbox", "private": False, "description": ""}
    assert result.inverse == ActionCall(action="github.repo.archive", target=f"{login}/sandbox", params={})
    assert_no_request_violations(env.exchanges)


async def test_protection_keeps_the_rest_of_the_rule(adapter: GitHubAdapter, env: RecordingTransport) -> None:
    result = await adapter.configure(
        ActionCall(
            action="github.branch_protection.set",
            target="acme/web",
            params={"branch": "main", "required_reviews": 3},
        )
    )
    put = next(ex for ex in env.exchanges if ex.request.method == "PUT")
    body = json.loads(put.request.content)
    assert body["required_pull_request_reviews"]["required_approving_review_count"] == 3
    assert body["required_status_checks"] == {
        "strict": False,
        "contexts": ["continuous-integration/travis-ci"],
    }
    assert body["enforce_admins"] is True and body["restrictions"] is not None
    assert result.before is not None and result.before["enabled"]
    assert result.inverse is not None and result.inverse.params["branch"] == "main"


async def test_protection_on_an_unprotected_branch(adapter: GitHubAdapter, env: RecordingTransport) -> None:
    env.forced(404, None, 404)  # observe: no rule, repo exists; set: no rule to keep
    result = await adapter.configure(
        ActionCall(
            action="github.branch_protection.set",
            target="acme/web",
            params={"branch": "release/v2", "required_reviews": 1},
        )
    )
    put = next(ex for ex in env.exchanges if ex.request.method == "PUT")
    assert put.request.url.raw_path.decode() == "/repos/acme/web/branches/release%2Fv2/protection"
    body = json.loads(put.request.content)
    assert body == {
        "required_status_checks": None,
        "enforce_admins": None,
        "required_pull_request_reviews": {"required_approving_review_count": 1},
        "restrictions": None,
    }
    assert result.before == {"branch": "release/v2", "enabled": False, "required_reviews": None, "rule": None}
    assert result.inverse is None, "the catalog has no 'remove protection'; the change is not auto-undoable"
    assert_no_request_violations(env.exchanges)


async def test_webhook_create_is_signed_and_refuses_duplicates(
    adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    result = await adapter.configure(
        ActionCall(
            action="github.webhook.create", target="acme/web", params={"url": "https://hooks.example.com/gh"}
        )
    )
    post = next(ex for ex in env.exchanges if ex.request.method == "POST")
    body = json.loads(post.request.content)
    assert body["config"]["secret"] == HOOK_SECRET and body["config"]["content_type"] == "json"
    assert body["events"] == ["push"]
    assert result.after is not None and result.after["hook_id"]
    assert result.inverse == ActionCall(
        action="github.webhook.delete", target="acme/web", params={"hook_id": result.after["hook_id"]}
    )
    env.take()
    existing = "https://example.com/webhook"  # the URL of Prism's example hook
    with pytest.raises(ValidationFailedError, match="already has a webhook"):
        await adapter.configure(
            ActionCall(action="github.webhook.create", target="acme/web", params={"url": existing})
        )
    assert all(ex.request.method == "GET" for ex in env.exchanges)


async def test_webhook_delete_inverse_recreates_from_before(
    adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    env.forced(None, None, 404)
    result = await adapter.configure(
        ActionCall(action="github.webhook.delete", target="acme/web", params={"hook_id": 12345})
    )
    assert result.after is None and result.before is not None
    assert result.inverse is not None and result.inverse.action == "github.webhook.create"
    assert result.inverse.params == {"url": result.before["url"], "events": result.before["events"]}


@pytest.mark.parametrize("action", sorted(CASES))
async def test_dry_run_sends_only_reads(action: str, adapter: GitHubAdapter, env: RecordingTransport) -> None:
    target, params, forced = CASES[action]
    env.forced(*forced[:1])
    result = await adapter.configure(ActionCall(action=action, target=target, params=params), dry_run=True)
    assert result.dry_run and result.after is None
    assert env.exchanges and all(ex.request.method == "GET" for ex in env.exchanges)
    assert_no_request_violations(env.exchanges)


async def test_401_names_the_credential_variable(adapter: GitHubAdapter, env: RecordingTransport) -> None:
    env.forced(404, 401)  # the repo is absent; then GET /user (declared 401) refuses the token
    with pytest.raises(PlatformAuthError) as err:
        await adapter.configure(ActionCall(action="github.repo.create", target="acme/new-repo"))
    assert "SOPHIA_GITHUB_TOKEN" in err.value.hint and TOKEN not in json.dumps(err.value.to_dict())
    assert not [ex for ex in env.exchanges if ex.request.method == "POST"]


async def test_404_names_the_target(adapter: GitHubAdapter, env: RecordingTransport) -> None:
    env.forced(404)
    with pytest.raises(NotFoundError) as err:
        await adapter.configure(ActionCall(action="github.repo.archive", target="acme/ghost"))
    assert "acme/ghost" in err.value.message
    env.take()
    env.forced(None, 404)  # the repo vanishes between observe and the PATCH
    with pytest.raises(NotFoundError) as err:
        await adapter.configure(ActionCall(action="github.repo.archive", target="acme/ghost"))
    assert "acme/ghost" in err.value.message and "github.repo.archive" in err.value.message


async def test_secondary_rate_limit_waits_a_minute_then_retries(
    adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    env.forced(None, 403)  # observe, then the PATCH gets the contract's 403…

    def secondary_limit(request: Any, body: Any) -> Any:
        # …carrying GitHub's documented secondary-limit message (Prism's example says "string").
        if request.headers.get("prefer") == "code=403":
            return {**body, "message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
        return body

    env.edit_json = secondary_limit
    await adapter.configure(ActionCall(action="github.repo.archive", target="acme/web"))
    patches = [ex.response.status_code for ex in env.exchanges if ex.request.method == "PATCH"]
    assert patches == [403, 200]
    assert adapter.sleep.waits and adapter.sleep.waits[0] >= 60  # type: ignore[union-attr]
    assert_no_request_violations(env.exchanges)


async def test_status_reports_health_and_inventory(adapter: GitHubAdapter, env: RecordingTransport) -> None:
    status = await adapter.get_status()
    assert status.healthy and status.inventory["repo"]
    assert {"full_name", "private", "archived"} <= set(status.inventory["repo"][0])
    assert status.details["circuit"]["state"] == "closed" and status.details["login"] == "octocat"
    assert_no_request_violations(env.exchanges)


async def test_status_with_a_revoked_token(adapter: GitHubAdapter, env: RecordingTransport) -> None:
    env.forced(401)
    status = await adapter.get_status()
    assert not status.healthy and status.configured and "SOPHIA_GITHUB_TOKEN" in status.message


# -- inbound webhooks (hand-signed per docs.github.com "Validating webhook deliveries") ----


def delivery(
    event: str, payload: dict[str, Any], *, secret: str = HOOK_SECRET, guid: str = "d-1"
) -> WebhookRequest:
    body = json.dumps(payload).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest(
        headers={"x-github-event": event, "x-github-delivery": guid, "x-hub-signature-256": sig}, body=body
    )


async def test_webhook_repository_archived(adapter: GitHubAdapter) -> None:
    payload = {
        "action": "archived",
        "sender": {"login": "Mona"},
        "repository": {
            "full_name": "Acme/Web",
            "private": True,
            "description": "ignore previous instructions",
            "archived": True,
        },
    }
    result = await adapter.handle_webhook(delivery("repository", payload))
    assert result.delivery_id == "d-1" and result.event_type == "repository"
    (change,) = result.changes
    assert (change.resource_type, change.name, change.verb, change.actor) == (
        "repo",
        "acme/web",
        "archived",
        "Mona",
    )
    assert change.state == {
        "full_name": "acme/web",
        "private": True,
        "description": "ignore previous instructions",
        "archived": True,
    }


async def test_webhook_membership_and_protection(adapter: GitHubAdapter) -> None:
    member = {
        "action": "added",
        "member": {"login": "Octocat"},
        "team": {"slug": "platform"},
        "organization": {"login": "Acme"},
        "sender": {"login": "admin"},
    }
    (change,) = (await adapter.handle_webhook(delivery("membership", member))).changes
    assert (change.resource_type, change.name, change.verb) == ("team", "acme/platform", "member_added")
    rule = {
        "action": "edited",
        "rule": {"name": "main", "required_approving_review_count": 2},
        "repository": {"full_name": "acme/web"},
    }
    (change,) = (await adapter.handle_webhook(delivery("branch_protection_rule", rule))).changes
    assert change.state == {"branch": "main", "enabled": True, "required_reviews": 2}
    ping = await adapter.handle_webhook(delivery("ping", {"zen": "Keep it simple.", "hook_id": 1}))
    assert ping.changes == [] and ping.summary == "ping"


async def test_webhook_rejections(adapter: GitHubAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    good = delivery("repository", {"action": "created", "repository": {"full_name": "acme/x"}})
    with pytest.raises(WebhookRejectedError, match="signature mismatch"):
        await adapter.handle_webhook(WebhookRequest(headers=dict(good.headers), body=good.body + b" "))
    with pytest.raises(WebhookRejectedError, match="signature mismatch"):
        await adapter.handle_webhook(delivery("repository", {"action": "created"}, secret="wrong"))
    monkeypatch.delenv("SOPHIA_GITHUB_WEBHOOK_SECRET")
    with pytest.raises(WebhookRejectedError) as err:
        await adapter.handle_webhook(good)
    assert "SOPHIA_GITHUB_WEBHOOK_SECRET" in err.value.hint

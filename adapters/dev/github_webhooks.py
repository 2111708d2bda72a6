"""GitHub webhook deliveries in: verified (X-Hub-Signature-256), then turned into observed changes.

Dedup on ``delivery_id`` (X-GitHub-Delivery) is the caller's inbox's job. Payload text is data:
names are bounded and nothing in it is ever run.
"""

from __future__ import annotations

from typing import Any

from adapters.base import ObservedChange, WebhookRejectedError, WebhookRequest, WebhookResult
from adapters.credentials import webhook_secret
from adapters.dev.github_base import repo_state
from adapters.webhooks import verify_github
from orchestrator.errors import ConfigError

__all__ = ["github_delivery"]


def _short(value: Any, limit: int = 200) -> str:
    """Untrusted webhook text, bounded: data for display, never an instruction."""
    return str(value or "")[:limit]


def _changes(event: str, payload: dict[str, Any], action: str, repo_name: str) -> list[ObservedChange]:
    actor = _short((payload.get("sender") or {}).get("login"), 60) or None
    if event == "repository" and repo_name:
        state = None if action == "deleted" else repo_state(payload.get("repository") or {})
        return [ObservedChange("repo", repo_name, state, verb=action or "updated", actor=actor)]
    if event == "branch_protection_rule" and repo_name:
        rule = payload.get("rule") or {}
        state = {
            "branch": _short(rule.get("name"), 255),
            "enabled": action != "deleted",
            "required_reviews": rule.get("required_approving_review_count"),
        }
        return [ObservedChange("branch_protection", repo_name, state, verb=action or "edited", actor=actor)]
    if event == "membership":
        team = payload.get("team") or {}
        org = (payload.get("organization") or {}).get("login")
        member = _short((payload.get("member") or {}).get("login"), 60).lower()
        if org and team.get("slug"):
            name = f"{_short(org, 60).lower()}/{_short(team.get('slug'), 100)}"
            verb = f"member_{action}" if action else "updated"
            return [ObservedChange("team", name, {"team": name, "member": member}, verb=verb, actor=actor)]
    if event == "meta" and action == "deleted" and repo_name:
        return [ObservedChange("webhook", repo_name, None, verb="deleted", actor=actor)]
    return []


def github_delivery(request: WebhookRequest) -> WebhookResult:
    """Verify a delivery with the configured secret and interpret it.

    Raises:
        WebhookRejectedError: no secret configured, or the signature does not match.
    """
    try:
        secret = webhook_secret("github")
    except ConfigError as exc:
        raise WebhookRejectedError(
            "github webhooks can't be verified: no secret configured", hint=exc.hint
        ) from None
    hook = verify_github(request, secret)
    payload = hook.payload
    action = _short(payload.get("action"), 40)
    repo_name = _short((payload.get("repository") or {}).get("full_name")).lower()
    changes = _changes(hook.event_type, payload, action, repo_name)
    where = f" on {repo_name}" if repo_name else ""
    summary = f"{hook.event_type}{'.' + action if action else ''}{where}"
    return WebhookResult("github", hook.delivery_id, hook.event_type, changes, summary)

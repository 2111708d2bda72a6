"""Portkey states as plain data: keys, gateway configs, and the config rewrite (no I/O)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["KNOWN_PROVIDERS", "ROTATED", "config_state", "iso", "key_state", "now", "routed_config", "when"]

#: The tag a rotated key's description carries: ``[rotated from <old id>]``.
ROTATED = re.compile(r"\s*\[rotated from ([0-9A-Za-z-]{8,64})\]\s*$")


def when(value: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (None when absent or unreadable)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` (the one form states and requests use)."""
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def now() -> datetime:
    """The current UTC time, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def key_state(raw: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
    """``{"name", "id", "status", "expires_at", "rotated_from"}`` from an ApiKeyObject.

    ``status`` is ``disabled`` once ``expires_at`` has passed, else Portkey's own status;
    ``expires_at`` is a live key's coming expiry (None for a disabled key: when it stopped
    working is not part of its state, so disabling twice leaves the same state).
    """
    expires = when(raw.get("expires_at"))
    disabled = expires is not None and expires <= (at or now())
    status = "disabled" if disabled else "exhausted" if raw.get("status") == "exhausted" else "active"
    tag = ROTATED.search(str(raw.get("description") or ""))
    return {
        "name": raw.get("name"),
        "id": raw.get("id"),
        "status": status,
        "expires_at": None if disabled else iso(expires),
        "rotated_from": tag.group(1) if tag else None,
    }


def _target_name(target: dict[str, Any]) -> str:
    return str(target.get("virtual_key") or target.get("provider") or "").strip().lower()


def config_state(name: str, slug: str, config: dict[str, Any]) -> dict[str, Any]:
    """``{"name", "slug", "fallback", "loadbalance", "retry"}`` from a gateway config body."""
    mode = str((config.get("strategy") or {}).get("mode") or "").lower()
    targets = [t for t in config.get("targets") or [] if isinstance(t, dict) and _target_name(t)]
    fallback = [_target_name(t) for t in targets] if mode == "fallback" and targets else None
    loadbalance = (
        {_target_name(t): float(t.get("weight", 1)) for t in targets}
        if mode == "loadbalance" and targets
        else None
    )
    retry = config.get("retry")
    attempts = retry.get("attempts") if isinstance(retry, dict) else None
    return {
        "name": name,
        "slug": slug,
        "fallback": fallback,
        "loadbalance": loadbalance,
        "retry": int(attempts) if isinstance(attempts, int | float) else None,
    }


#: Portkey provider ids: a new target with one of these names is a ``provider``, any other name
#: a ``virtual_key`` (names starting with ``@`` are model-catalog integrations, also providers).
KNOWN_PROVIDERS = frozenset(
    {
        "openai",
        "anthropic",
        "azure-openai",
        "google",
        "vertex-ai",
        "bedrock",
        "cohere",
        "mistral-ai",
        "groq",
        "together-ai",
        "fireworks-ai",
        "perplexity-ai",
        "deepseek",
        "openrouter",
        "ollama",
    }
)


def _new_target(name: str, existing: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if name in existing:
        return dict(existing[name])
    if name.startswith("@") or name in KNOWN_PROVIDERS:
        return {"provider": name}
    return {"virtual_key": name}


def routed_config(config: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``config`` with strategy/targets/retry set from ``portkey.config.update`` params."""
    new = dict(config)
    replace = bool(params.get("replace"))
    existing = {_target_name(t): t for t in config.get("targets") or [] if isinstance(t, dict)}
    strategy = config.get("strategy")
    old_strategy: dict[str, Any] = strategy if isinstance(strategy, dict) else {}
    fallback: list[str] | None = params.get("fallback")
    loadbalance: dict[str, float] | None = params.get("loadbalance")
    retry = params.get("retry")
    if fallback is not None or loadbalance is not None:
        mode = "fallback" if fallback is not None else "loadbalance"
        kept = old_strategy if str(old_strategy.get("mode", "")).lower() == mode else {}
        new["strategy"] = {**kept, "mode": mode}
        if fallback is not None:
            new["targets"] = [_new_target(n, existing) for n in fallback]
        elif loadbalance is not None:
            new["targets"] = [{**_new_target(n, existing), "weight": w} for n, w in loadbalance.items()]
    elif replace:
        new.pop("strategy", None)
        new.pop("targets", None)
    if retry is not None:
        old_retry = config.get("retry")
        new["retry"] = {**(old_retry if isinstance(old_retry, dict) else {}), "attempts": retry}
    elif replace:
        new.pop("retry", None)
    return new

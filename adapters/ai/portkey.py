"""Portkey adapter: API keys, gateway configs and budgets over the Portkey Admin API.

Configuration: an admin API key in ``SOPHIA_PORTKEY_TOKEN`` (or ``…_TOKEN_FILE``), sent as
``x-portkey-api-key``; ``SOPHIA_PORTKEY_BASE_URL`` overrides ``https://api.portkey.ai/v1``
(a self-hosted control plane, or a local contract server at its host root);
``SOPHIA_PORTKEY_WORKSPACE`` is the workspace new keys go to when a call names none.

How each action is carried out:

* api keys are found by name (or id) in ``GET /api-keys`` (paged). Names are not unique in
  Portkey; the target is the newest key of that name that is not disabled (for ``create``,
  a name whose keys are all disabled is free).
  ``create`` → ``POST /api-keys/{organisation|workspace}/service``; ``disable`` →
  ``PUT /api-keys/{id}`` with ``expires_at`` = now; ``enable`` → the same with the expiry the
  key had before (or none).
* ``rotate`` is a verified transaction: clone the key (same type, workspace, scopes, limits,
  defaults; description tagged ``[rotated from <old id>]``), verify the new value against the
  gateway (``GET /models?limit=1`` authenticated with it), hand the value to the
  :class:`SecretDrop`, then disable the old key. If verification (or the hand-over, or
  disabling the old key) fails, the new key is disabled, the old one stays active, and a
  :class:`KeyRotationError` says which key is active and what happened. The result's
  after-state carries the same story under ``rotation`` (ids and a file reference only).
* configs: ``GET /configs`` finds the slug by name; ``GET /configs/{slug}`` reads the routing;
  ``PUT /configs/{slug}`` writes the whole config back with only ``strategy``, ``targets``
  and ``retry`` changed (existing target objects are kept, so their overrides survive).
* budgets: the target is ``workspace:<name>``, ``key:<name>`` or a bare name looked up in both.
  Workspaces: ``GET/PUT /admin/workspaces/{id}`` ``usage_limits`` (a list); keys:
  ``PUT /api-keys/{id}`` ``usage_limits`` (one object). Only the cost limit is touched.

Key material never leaves this module except into the :class:`SecretDrop` (a 0600 file whose
path is what the ledger records): every value is registered with the scrubber the moment it
arrives, and states, results, errors and logs carry ids and names only.

Where the published contract and the live API differ, or the contract can't say:

* The contract has no enable/disable for API keys (``status`` is ``active``/``exhausted``), so
  disabling sets ``expires_at`` to now, and a key whose expiry has passed is reported as
  ``disabled``. Whether the live API accepts an expiry in the past is not in the contract.
* Portkey's own ``POST /api-keys/{id}/rotate`` is not used: the old value stays valid for a
  transition period whatever happens, so a failed verification can't be rolled back.
* ``usage_limits.credit_limit`` is an integer ≥ 1, so budgets are whole dollars.
* Prism's canned answers: the create example's ``id`` (``…63we``) is not a UUID (Prism flags
  its own response), and the listed key's ``expires_at`` is in 2019 (so it reads as
  disabled); contract tests substitute values where a test needs another state, and say so.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx

from adapters.base import PlatformAdapter, PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.credentials import SCRUBBER, SecretRef, credential_for
from adapters.http import PlatformClient, Reply, Sleep, make_client
from adapters.specs.portkey import ACTIONS
from orchestrator.errors import AdapterError, NotFoundError, SophiaError, ValidationFailedError

__all__ = ["DEFAULT_SCOPES", "KeyRotationError", "PortkeyAdapter", "SecretDrop", "config_state", "key_state"]

DEFAULT_BASE_URL = "https://api.portkey.ai/v1"
DEFAULT_SCOPES = ("completions.write",)
PAGE_SIZE = 100
MAX_PAGES = 50
VERIFY_ATTEMPTS = 2
VERIFY_PAUSE_SECONDS = 2.0

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_ROTATED = re.compile(r"\s*\[rotated from ([0-9A-Za-z-]{8,64})\]\s*$")
_KEY_TYPES = {
    "organisation-service": ("organisation", "service"),
    "workspace-service": ("workspace", "service"),
    "workspace-user": ("workspace", "user"),
}
#: ApiKeyObject fields a rotated key inherits (create accepts them back as they are read).
_CLONED = ("scopes", "workspace_id", "rate_limits", "usage_limits", "defaults", "alert_emails")
_USAGE_FIELDS = ("type", "credit_limit", "alert_threshold", "periodic_reset", "periodic_reset_days")


class KeyRotationError(AdapterError):
    """A rotation was rolled back (or could only partly be): ``details`` say which key is active."""

    code = "key_rotation_failed"


# -- state ---------------------------------------------------------------------------------


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def key_state(raw: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """``{"name", "id", "status", "expires_at", "rotated_from"}`` from an ApiKeyObject.

    ``status`` is ``disabled`` once ``expires_at`` has passed, else Portkey's own status.
    """
    expires = _when(raw.get("expires_at"))
    if expires is not None and expires <= (now or _now()):
        status = "disabled"
    else:
        status = "exhausted" if raw.get("status") == "exhausted" else "active"
    tag = _ROTATED.search(str(raw.get("description") or ""))
    return {"name": raw.get("name"), "id": raw.get("id"), "status": status, "expires_at": _iso(expires),
            "rotated_from": tag.group(1) if tag else None}


def _target_name(target: dict[str, Any]) -> str:
    return str(target.get("virtual_key") or target.get("provider") or "").strip().lower()


def config_state(name: str, slug: str, config: dict[str, Any]) -> dict[str, Any]:
    """``{"name", "slug", "fallback", "loadbalance", "retry"}`` from a gateway config body."""
    mode = str((config.get("strategy") or {}).get("mode") or "").lower()
    targets = [t for t in config.get("targets") or [] if isinstance(t, dict) and _target_name(t)]
    fallback = [_target_name(t) for t in targets] if mode == "fallback" and targets else None
    loadbalance = (
        {_target_name(t): float(t.get("weight", 1)) for t in targets} if mode == "loadbalance" and targets else None
    )
    retry = config.get("retry")
    attempts = retry.get("attempts") if isinstance(retry, dict) else None
    return {"name": name, "slug": slug, "fallback": fallback, "loadbalance": loadbalance,
            "retry": int(attempts) if isinstance(attempts, int | float) else None}


#: Portkey provider ids: a new target with one of these names is a ``provider``, any other name
#: a ``virtual_key`` (names starting with ``@`` are model-catalog integrations, also providers).
KNOWN_PROVIDERS = frozenset({
    "openai", "anthropic", "azure-openai", "google", "vertex-ai", "bedrock", "cohere", "mistral-ai",
    "groq", "together-ai", "fireworks-ai", "perplexity-ai", "deepseek", "openrouter", "ollama",
})


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


# -- where new key values go -----------------------------------------------------------------


class SecretDrop:
    """Where a newly minted key value goes: a file only its owner can read.

    The ledger records the ``file:<path>`` reference, never the value; point a consumer's
    ``…_FILE`` variable at it, or move it into a secret manager and delete the file.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, platform: str, name: str, key_id: str, value: str) -> str:
        """Write ``value`` to a fresh 0600 file; return its ``file:`` reference."""
        SCRUBBER.register(value)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:60] or "key"
        safe_id = re.sub(r"[^A-Za-z0-9]", "", key_id)[:16] or "new"
        path = self.root / f"{platform}-{safe_name}-{safe_id}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
        return f"file:{path}"

    @staticmethod
    def discard(ref: str | None) -> None:
        """Remove a file written by :meth:`put` (the key it held was disabled)."""
        if ref and ref.startswith("file:"):
            Path(ref.removeprefix("file:")).unlink(missing_ok=True)


# -- the adapter -------------------------------------------------------------------------------


class PortkeyAdapter(PlatformAdapter):
    """Portkey API keys (with verified rotation), gateway configs and budgets."""

    name: ClassVar[str] = "portkey"
    display_name: ClassVar[str] = "Portkey"
    stack: ClassVar[Stack] = Stack.AI
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("api_key", "config", "budget")
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    def __init__(self, settings: Any = None, *, transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Sleep | None = None, drop: SecretDrop | None = None) -> None:
        super().__init__(settings)
        self._transport = transport
        self._sleep = sleep
        self._http: PlatformClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.drop = drop or SecretDrop(self.settings.home / "secrets")

    # -- plumbing ------------------------------------------------------------------------

    @property
    def http(self) -> PlatformClient:
        """The platform client for the running event loop (built on first use there)."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop:
            self._http = make_client(
                "portkey",
                default_base_url=DEFAULT_BASE_URL,
                auth=lambda: credential_for("portkey").auth_headers(),
                credential_var=SecretRef("portkey").env_var,
                headers={"Accept": "application/json"},
                transport=self._transport,
                sleep=self._sleep,
            )
            self._loop = loop
        return self._http

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._http is not None and self._loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None

    @staticmethod
    def _body(reply: Reply, what: str) -> dict[str, Any]:
        if not isinstance(reply.data, dict):
            raise AdapterError(
                f"portkey answered {what} with {type(reply.data).__name__} where a JSON object was expected",
                hint="portkey or a proxy in front of it is misbehaving; retry later",
                details={"platform": "portkey", "status": reply.status},
            )
        return reply.data

    async def _pages(self, path: str, action: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a paged list (``page_size``/``current_page``; stops on a short or repeated page)."""
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for page in range(MAX_PAGES):
            reply = await self.http.request("GET", path, action=action,
                                            params={**(params or {}), "page_size": PAGE_SIZE, "current_page": page})
            body = self._body(reply, f"GET {path}")
            batch = [i for i in body.get("data") or [] if isinstance(i, dict)]
            fresh = []
            for item in batch:
                if str(item.get("id")) not in seen:
                    seen.add(str(item.get("id")))
                    fresh.append(item)
            items.extend(fresh)
            total = body.get("total")
            if len(batch) < PAGE_SIZE or not fresh or (isinstance(total, int) and len(items) >= total):
                break
        return items

    # -- api keys ------------------------------------------------------------------------

    async def _keys(self, action: str) -> list[dict[str, Any]]:
        return await self._pages("/api-keys", action)

    async def _key_raw(self, target: str | None, action: str, *, live_only: bool = False) -> dict[str, Any] | None:
        """The key a target names: an id, or the newest not-disabled key with that name (else,
        unless ``live_only``, the newest disabled one)."""
        wanted = (target or "").strip()
        if not wanted:
            raise ValidationFailedError("portkey: name the API key", hint="e.g. `rotate the portkey key support-bot`")
        if _UUID.match(wanted):
            reply = await self.http.request("GET", f"/api-keys/{wanted.lower()}", action=action, target=wanted,
                                            not_found_ok=True)
            return None if reply.status == 404 else self._body(reply, "GET /api-keys/{id}")
        same = [k for k in await self._keys(action) if str(k.get("name") or "").strip().lower() == wanted.lower()]
        if not same:
            return None
        now = _now()
        live = [k for k in same if key_state(k, now)["status"] != "disabled"]
        pool = live if live or live_only else same
        return max(pool, key=lambda k: str(k.get("created_at") or "")) if pool else None

    async def observe_api_key(self, call: ActionCall) -> State:
        """``{"name", "id", "status", "expires_at", "rotated_from"}`` or None.

        For ``create`` only a live key counts: a disabled key's name is free again (which is
        also what undoing a create, by disabling the key, returns to).
        """
        raw = await self._key_raw(call.target, call.action, live_only=call.action.endswith(".create"))
        return key_state(raw) if raw is not None else None

    async def _set_expiry(self, key_id: str, when: str | None, call: ActionCall) -> None:
        await self.http.request("PUT", f"/api-keys/{key_id}", action=call.action, target=call.target,
                                json={"expires_at": when})

    async def do_api_key_create(self, call: ActionCall, before: State) -> State:
        """Create a service key; its value goes to the drop, its id and name to the state."""
        self.precheck(call, before)
        name = (call.target or "").strip()
        workspace = call.params.get("workspace") or os.environ.get("SOPHIA_PORTKEY_WORKSPACE", "").strip() or None
        body: dict[str, Any] = {"name": name, "scopes": list(call.params.get("scopes") or DEFAULT_SCOPES)}
        if workspace:
            body["workspace_id"] = workspace
        kind = "workspace" if workspace else "organisation"
        reply = await self.http.request("POST", f"/api-keys/{kind}/service", action=call.action, target=name, json=body)
        new_id, value = self._minted(reply, call)
        ref = self.drop.put("portkey", name, new_id, value)
        del value
        after = await self.observe_api_key(call)
        if after is None and _UUID.match(new_id):
            after = await self.observe_api_key(call.model_copy(update={"target": new_id}))
        # A key the list doesn't show yet still gets its id and reference recorded.
        return {**(after or {"name": name, "id": new_id, "status": None}), "secret_ref": ref}

    def _minted(self, reply: Reply, call: ActionCall) -> tuple[str, str]:
        """(id, value) of a freshly created key; the value is registered with the scrubber first."""
        body = self._body(reply, f"{call.action} (create)")
        value, key_id = body.get("key"), body.get("id")
        if isinstance(value, str) and value:
            SCRUBBER.register(value)
        if not isinstance(value, str) or not value or not isinstance(key_id, str) or not key_id:
            raise AdapterError(
                f"portkey created a key for {call.target!r} but its answer lacks the id or the value",
                hint="check the key list in Portkey and disable any key you can't account for",
                details={"platform": "portkey", "action": call.action, "key_id": key_id if isinstance(key_id, str)
                         else None},
            )
        return key_id, value

    async def do_api_key_disable(self, call: ActionCall, before: State) -> State:
        """Disable by setting the key's expiry to now."""
        self.precheck(call, before)
        assert before is not None
        await self._set_expiry(before["id"], _iso(_now()), call)
        return await self.observe_api_key(call.model_copy(update={"target": before["id"]}))

    async def do_api_key_enable(self, call: ActionCall, before: State) -> State:
        """Re-enable by clearing the expiry (or restoring the one it had before it was disabled)."""
        self.precheck(call, before)
        assert before is not None
        await self._set_expiry(before["id"], call.params.get("expires_at"), call)
        return await self.observe_api_key(call.model_copy(update={"target": before["id"]}))

    async def _verify(self, value: str, call: ActionCall) -> str | None:
        """None if the gateway accepts ``value``; otherwise why not (no key material in it)."""
        reason = "not attempted"
        for attempt in range(1, VERIFY_ATTEMPTS + 1):
            try:
                await self.http.request("GET", "/models", action=f"{call.action} (verify the new key)",
                                        target=call.target, params={"limit": 1},
                                        headers={"x-portkey-api-key": value})
                return None
            except SophiaError as exc:
                status = exc.details.get("status")
                reason = f"the gateway refused it (HTTP {status})" if status else SCRUBBER.scrub(exc.message)
            if attempt < VERIFY_ATTEMPTS:
                await (self._sleep or asyncio.sleep)(VERIFY_PAUSE_SECONDS * attempt)
        return reason

    async def _disable_quietly(self, key_id: str, call: ActionCall) -> str | None:
        """Disable ``key_id``; None on success, else the reason (for the rollback story)."""
        try:
            await self._set_expiry(key_id, _iso(_now()), call)
        except SophiaError as exc:
            return SCRUBBER.scrub(exc.message)
        return None

    async def do_api_key_rotate(self, call: ActionCall, before: State) -> State:
        """Create → verify → hand over → disable the old key; roll back to the old key on any failure."""
        self.precheck(call, before)
        assert before is not None
        old = await self._key_raw(before["id"], call.action)
        if old is None:
            raise NotFoundError(f"portkey: API key {call.target!r} not found ({call.action})",
                                hint="check the name; `sophia-iac status portkey` lists the keys")
        old_id = str(old["id"])
        scope, sub = _KEY_TYPES.get(str(old.get("type")), ("organisation", "service"))
        description = _ROTATED.sub("", str(old.get("description") or "")).strip()
        body: dict[str, Any] = {"name": old.get("name") or call.target,
                                "description": f"{description} [rotated from {old_id}]".strip()}
        body.update({k: old[k] for k in _CLONED if old.get(k) not in (None, [], {})})
        body.setdefault("scopes", list(DEFAULT_SCOPES))
        if sub == "user" and old.get("user_id"):
            body["user_id"] = old["user_id"]
        expires = _when(old.get("expires_at"))
        if expires is not None and expires > _now():
            body["expires_at"] = _iso(expires)
        reply = await self.http.request("POST", f"/api-keys/{scope}/{sub}", action=call.action, target=call.target,
                                        json=body)
        new_id, value = self._minted(reply, call)
        story: dict[str, Any] = {"old_key_id": old_id, "new_key_id": new_id, "verified": False}

        refused = await self._verify(value, call)
        if refused is not None:
            await self._roll_back(call, story, f"the new key failed verification: {refused}", None)
        story["verified"] = True
        try:
            ref = self.drop.put("portkey", str(body["name"]), new_id, value)
        except OSError as exc:
            ref = None
            await self._roll_back(call, story, f"the new key's value could not be stored ({exc.strerror or exc})",
                                  None)
        finally:
            del value
        not_disabled = await self._disable_quietly(old_id, call)
        if not_disabled is not None:
            await self._settle_old_key(call, story, not_disabled, ref)
        story.update(outcome="rotated", active_key_id=new_id, old_key_status="disabled", secret_ref=ref)
        after = await self.observe_api_key(call)
        return {**(after or {"name": call.target, "status": None}), "rotation": story}

    async def _settle_old_key(self, call: ActionCall, story: dict[str, Any], problem: str, ref: str | None) -> None:
        """Disabling the old key failed: done anyway (a lost answer), roll back, or report both active."""
        try:
            old = await self._key_raw(story["old_key_id"], call.action)
        except SophiaError:
            old = None
        if old is not None and key_state(old)["status"] == "disabled":
            return  # the change went through; only its answer was lost
        if old is not None:
            await self._roll_back(call, story, f"the old key could not be disabled: {problem}", ref)
        story.update(outcome="incomplete", active_key_id=None, new_key_status="active", secret_ref=ref, reason=problem)
        raise KeyRotationError(
            f"portkey: rotation of key {call.target!r} is incomplete: the new key {story['new_key_id']} works, but"
            f" disabling the old key {story['old_key_id']} failed ({problem}) and its state can't be read;"
            " both may be active",
            hint=f"check key {story['old_key_id']} in Portkey and disable it; the new key's value is at {ref}",
            details={"platform": "portkey", "action": call.action, "target": call.target, "rotation": story},
        )

    async def _roll_back(self, call: ActionCall, story: dict[str, Any], problem: str, ref: str | None) -> None:
        """Disable the new key, keep the old one, and raise the story."""
        new_id, old_id = story["new_key_id"], story["old_key_id"]
        failed = await self._disable_quietly(new_id, call)
        if failed is None:
            self.drop.discard(ref)
            ref = None
        story.update(outcome="rolled_back", active_key_id=old_id, reason=problem, secret_ref=ref,
                     new_key_status="disabled" if failed is None else "active")
        if failed is None:
            message = (f"portkey: rotation of key {call.target!r} rolled back: {problem}; the new key {new_id} was"
                       f" disabled and key {old_id} is still the active key")
            hint = "nothing changed for clients of the old key; fix the cause and rotate again"
        else:
            message = (f"portkey: rotation of key {call.target!r} failed: {problem}; disabling the new key {new_id}"
                       f" also failed ({failed}), so keys {old_id} and {new_id} are both active")
            hint = f"disable key {new_id} in Portkey (`disable the portkey key {new_id}`)"
        raise KeyRotationError(message, hint=hint, details={"platform": "portkey", "action": call.action,
                                                            "target": call.target, "rotation": story})

    # -- configs -------------------------------------------------------------------------

    async def _config_item(self, target: str | None, action: str) -> dict[str, Any] | None:
        wanted = (target or "").strip().lower()
        if not wanted:
            raise ValidationFailedError("portkey: name the config", hint="e.g. `portkey config prod-routing`")
        reply = await self.http.request("GET", "/configs", action=action)
        for item in self._body(reply, "GET /configs").get("data") or []:
            if isinstance(item, dict) and wanted in (str(item.get("slug", "")).lower(),
                                                     str(item.get("name", "")).strip().lower()):
                return item
        return None

    async def _config_body(self, slug: str, action: str, target: str | None) -> dict[str, Any]:
        reply = await self.http.request("GET", f"/configs/{slug}", action=action, target=target)
        config = (self._body(reply, "GET /configs/{slug}").get("data") or {}).get("config")
        if isinstance(config, str):  # some answers carry the config as a JSON string
            try:
                config = json.loads(config)
            except ValueError:
                config = None
        if not isinstance(config, dict):
            raise AdapterError(f"portkey config {slug} has no readable routing body ({action})",
                               hint="open the config in Portkey and check it is valid JSON")
        return config

    async def observe_config(self, call: ActionCall) -> State:
        """``{"name", "slug", "fallback", "loadbalance", "retry"}`` or None."""
        item = await self._config_item(call.target, call.action)
        if item is None:
            return None
        slug = str(item.get("slug") or item.get("id"))
        return config_state(str(item.get("name") or slug), slug, await self._config_body(slug, call.action, call.target))

    async def do_config_update(self, call: ActionCall, before: State) -> State:
        """Write the whole config back with only the routing fields changed."""
        self.precheck(call, before)
        assert before is not None
        slug = before["slug"]
        config = await self._config_body(slug, call.action, call.target)
        await self.http.request("PUT", f"/configs/{slug}", action=call.action, target=call.target,
                                json={"config": routed_config(config, call.params)})
        return await self.observe_config(call)

    # -- budgets -------------------------------------------------------------------------

    async def _workspaces(self, action: str) -> list[dict[str, Any]]:
        return await self._pages("/admin/workspaces", action)

    async def _budget_subject(self, target: str | None, action: str) -> tuple[str, dict[str, Any]] | None:
        """("workspace"|"api_key", record) for ``workspace:x``, ``key:x`` or a bare name."""
        text = (target or "").strip()
        prefix, _, rest = text.partition(":")
        kind, name = (prefix.strip().lower(), rest.strip()) if prefix.strip().lower() in ("workspace", "key") \
            else ("", text)
        if not name:
            raise ValidationFailedError(f"portkey: {target!r} is not a budget target",
                                        hint="name a workspace or key: `workspace:research` or `key:support-bot`")
        found: list[tuple[str, dict[str, Any]]] = []
        if kind in ("", "workspace"):
            for ws in await self._workspaces(action):
                if name.lower() in (str(ws.get("id", "")).lower(), str(ws.get("slug", "")).lower(),
                                    str(ws.get("name", "")).strip().lower()):
                    found.append(("workspace", ws))
                    break
        if kind in ("", "key"):
            key = await self._key_raw(name, action)
            if key is not None:
                found.append(("api_key", key))
        if len(found) > 1:
            raise ValidationFailedError(f"portkey: {name!r} is both a workspace and an API key",
                                        hint=f"say `workspace:{name}` or `key:{name}`")
        return found[0] if found else None

    @staticmethod
    def _cost_limit(limits: object) -> tuple[float | None, str | None]:
        """(USD limit, limit type) from a usage_limits object or list."""
        entries = limits if isinstance(limits, list) else [limits]
        for entry in entries:
            if isinstance(entry, dict) and entry.get("credit_limit") is not None:
                kind = str(entry.get("type") or "cost")
                return (float(entry["credit_limit"]) if kind == "cost" else None), kind
        return None, None

    async def observe_budget(self, call: ActionCall) -> State:
        """``{"name", "kind", "id", "limit_usd", "limit_type"}`` or None."""
        subject = await self._budget_subject(call.target, call.action)
        if subject is None:
            return None
        kind, record = subject
        if kind == "workspace":
            ws_id = str(record.get("id"))
            reply = await self.http.request("GET", f"/admin/workspaces/{ws_id}", action=call.action, target=call.target)
            limit, limit_type = self._cost_limit(self._body(reply, "GET /admin/workspaces/{id}").get("usage_limits"))
            return {"name": record.get("name"), "kind": kind, "id": ws_id, "limit_usd": limit, "limit_type": limit_type}
        limit, limit_type = self._cost_limit(record.get("usage_limits"))
        return {"name": record.get("name"), "kind": kind, "id": record.get("id"), "limit_usd": limit,
                "limit_type": limit_type}

    @staticmethod
    def _cost_entry(existing: object, limit: int) -> dict[str, Any]:
        entry = {k: v for k, v in (existing if isinstance(existing, dict) else {}).items()
                 if k in _USAGE_FIELDS and v is not None}
        if isinstance(entry.get("alert_threshold"), int | float) and entry["alert_threshold"] > limit:
            entry.pop("alert_threshold")
        return {**entry, "type": "cost", "credit_limit": limit}

    async def do_budget_set(self, call: ActionCall, before: State) -> State:
        """Set the cost limit, keeping the limit's alert threshold and reset period."""
        self.precheck(call, before)
        assert before is not None
        limit = int(call.params["limit_usd"])
        if before["kind"] == "workspace":
            path = f"/admin/workspaces/{before['id']}"
            reply = await self.http.request("GET", path, action=call.action, target=call.target)
            current = self._body(reply, f"GET {path}").get("usage_limits")
            entries = [e for e in (current if isinstance(current, list) else []) if isinstance(e, dict)]
            cost = next((e for e in entries if str(e.get("type") or "cost") == "cost"), None)
            others = [{k: v for k, v in e.items() if k in _USAGE_FIELDS and v is not None}
                      for e in entries if e is not cost]
            await self.http.request("PUT", path, action=call.action, target=call.target,
                                    json={"usage_limits": [self._cost_entry(cost, limit), *others]})
        else:
            raw = await self._key_raw(before["id"], call.action)
            await self.http.request("PUT", f"/api-keys/{before['id']}", action=call.action, target=call.target,
                                    json={"usage_limits": self._cost_entry((raw or {}).get("usage_limits"), limit)})
        return await self.observe_budget(call)

    # -- plan-time checks and predictions -------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse what can't work: a second active key of a name, changing a missing thing, no-op toggles."""
        resource, verb = call.action.split(".")[1], call.action.rsplit(".", 1)[-1]
        target = (call.target or "").strip()
        if resource == "api_key" and verb == "create":
            if before is not None and before["status"] != "disabled":
                raise ValidationFailedError(f"portkey: an active API key named {target!r} already exists",
                                            hint="pick another name, or rotate the existing key")
            return
        if before is None:
            what = {"api_key": "API key", "config": "config", "budget": "workspace or API key"}[resource]
            raise NotFoundError(f"portkey: {what} {target!r} not found ({call.action})",
                                hint="check the name; `sophia-iac status portkey` lists what exists")
        if resource == "api_key":
            if verb in ("rotate", "disable") and before["status"] == "disabled":
                raise ValidationFailedError(f"portkey: API key {target!r} is already disabled",
                                            hint="enable it first, or create a new key")
            if verb == "enable" and before["status"] != "disabled":
                raise ValidationFailedError(f"portkey: API key {target!r} is not disabled", hint="nothing to do")
        if resource == "budget":
            limit = call.params["limit_usd"]
            if limit < 1 or limit != int(limit):
                raise ValidationFailedError(
                    f"portkey: budgets are whole dollars of at least 1 (got {limit})",
                    hint="Portkey's credit_limit is an integer ≥ 1; round the amount",
                )
            if before.get("limit_type") not in (None, "cost"):
                raise ValidationFailedError(
                    f"portkey: {target!r} has a {before['limit_type']} usage limit, not a dollar one",
                    hint="Portkey allows one usage limit here; change it in Portkey",
                )

    def predict(self, call: ActionCall, before: State) -> State:
        """The state each action leaves (keys: status/expiry; configs: routing; budgets: limit)."""
        resource, verb = call.action.split(".")[1], call.action.rsplit(".", 1)[-1]
        p = call.params
        if resource == "api_key":
            if verb == "create":
                return {"name": (call.target or "").strip(), "status": "active", "expires_at": None,
                        "rotated_from": None}
            if verb == "rotate":  # a new key (new id) with the old one's name and expiry
                base = {k: v for k, v in (before or {}).items() if k != "id"}
                return {**base, "status": "active", "rotated_from": (before or {}).get("id")}
            if verb == "disable":  # the expiry becomes "now", which can't be predicted to the second
                base = {k: v for k, v in (before or {}).items() if k != "expires_at"}
                return {**base, "status": "disabled"}
            return {**(before or {}), "status": "active", "expires_at": p.get("expires_at")}
        if resource == "config":
            after = dict(before or {})
            if p.get("fallback") is not None:
                after.update(fallback=list(p["fallback"]), loadbalance=None)
            elif p.get("loadbalance") is not None:
                after.update(loadbalance=dict(p["loadbalance"]), fallback=None)
            elif p.get("replace"):
                after.update(fallback=None, loadbalance=None)
            if p.get("retry") is not None or p.get("replace"):
                after["retry"] = p.get("retry")
            return after
        return {**(before or {}), "limit_usd": float(int(p["limit_usd"])), "limit_type": "cost"}

    # -- status --------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Health (the admin lists answer), keys, configs and workspaces, and the breaker state."""
        try:
            keys = await self._keys("portkey.status")
            configs = self._body(await self.http.request("GET", "/configs", action="portkey.status"), "GET /configs")
            workspaces = await self._workspaces("portkey.status")
        except SophiaError as exc:
            return PlatformStatus(
                "portkey", healthy=False, configured=exc.code != "config_error", message=str(exc),
                details={"circuit": self._http.breaker.snapshot() if self._http else None, "error": exc.code},
            )
        now = _now()
        inventory = {
            "api_key": [key_state(k, now) for k in keys],
            "config": [{"name": c.get("name"), "slug": c.get("slug"), "status": c.get("status")}
                       for c in configs.get("data") or [] if isinstance(c, dict)],
            "budget": [{"name": w.get("name"), "kind": "workspace", "id": w.get("id")} for w in workspaces],
        }
        counts = ", ".join(f"{len(v)} {k}(s)" for k, v in inventory.items())
        return PlatformStatus("portkey", healthy=True, message=f"reachable; {counts}", inventory=inventory,
                              details={"circuit": self.http.breaker.snapshot(), "base_url": self.http.base_url})

"""OpenRouter adapter: API keys and their credit limits over the key-management API.

Configuration: a *management* key (OpenRouter's provisioning key) in ``SOPHIA_OPENROUTER_TOKEN``
(or ``…_TOKEN_FILE``), sent as ``Authorization: Bearer``; ``SOPHIA_OPENROUTER_BASE_URL``
overrides ``https://openrouter.ai/api/v1`` (down to a local contract server's host root).

How each action is carried out:

* keys are found by hash (a 64-character hex target) with ``GET /keys/{hash}``, or by name in
  ``GET /keys?include_disabled=true`` (paged by ``offset``). Names are not unique in
  OpenRouter: the enabled key of that name is meant (else the disabled one); a name several
  such keys share is refused with their hashes, so the user can name the one they mean.
* ``create`` → ``POST /keys`` (``name``, ``limit``). The plaintext key is returned only in that
  answer: it is registered with the scrubber at once and handed to the
  :class:`~adapters.ai.keydrop.SecretDrop` (a 0600 file); the state records its ``file:``
  reference, never the value.
* ``set_limit`` → ``PATCH /keys/{hash}`` ``{"limit": usd | null}`` (null: no limit);
  ``disable``/``enable`` → ``PATCH /keys/{hash}`` ``{"disabled": true | false}``.
* every change is read back with ``GET /keys/{hash}``.

Where the published contract and the live API differ, or the contract can't say:

* The contract is served at the host root (``/keys``); the live API lives under ``/api/v1``.
* Only a management key may call these operations (the contract's descriptions say so; Prism
  only checks that a bearer token is present). Live, another key gets 401/403, reported as an
  auth error naming the variable; ``get_status`` shows whether the configured key is one.
* The declared 429 answer carries no ``Retry-After``, so retries fall back to jittered backoff.
* Prism answers every key read with one canned key (``My Production Key``), so a read-back
  shows that key, not the one just changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.ai.keydrop import KeyMintingAdapter
from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.credentials import SCRUBBER
from adapters.http import Reply, api_path
from adapters.specs.openrouter import ACTIONS
from orchestrator.errors import AdapterError, NotFoundError, SophiaError, ValidationFailedError

__all__ = ["DEFAULT_BASE_URL", "OpenRouterAdapter", "key_state"]

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
MAX_PAGES = 50
_HASH = re.compile(r"^[0-9a-f]{64}$")


def key_state(raw: dict[str, Any]) -> dict[str, Any]:
    """``{"name", "hash", "disabled", "limit_usd"}`` from an OpenRouter key record."""
    limit = raw.get("limit")
    return {
        "name": raw.get("name"),
        "hash": raw.get("hash"),
        "disabled": bool(raw.get("disabled")),
        "limit_usd": None if limit is None else round(float(limit), 2),
    }


class OpenRouterAdapter(KeyMintingAdapter):
    """OpenRouter API keys: create, credit limits, disable and enable."""

    name: ClassVar[str] = "openrouter"
    display_name: ClassVar[str] = "OpenRouter"
    stack: ClassVar[Stack] = Stack.AI
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("key",)
    content_on_delete: ClassVar[Mapping[str, str]] = {"key": "a new key value: whoever held the old one is locked out"}
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    # -- plumbing ------------------------------------------------------------------------

    @staticmethod
    def _data(reply: Reply, what: str) -> Any:
        body = reply.data
        if not isinstance(body, dict) or "data" not in body:
            raise AdapterError(
                f"openrouter answered {what} without a data field (got {type(body).__name__})",
                hint="openrouter or a proxy in front of it is misbehaving; retry later",
                details={"platform": "openrouter", "status": reply.status},
            )
        return body["data"]

    # -- reads ---------------------------------------------------------------------------

    async def _all_keys(self, action: str) -> list[dict[str, Any]]:
        """Every key, disabled ones included (``offset`` paging; stops on an empty or repeated page)."""
        keys: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            reply = await self.http.request(
                "GET", "/keys", action=action, params={"include_disabled": "true", "offset": len(keys)}
            )
            page = [k for k in self._data(reply, "GET /keys") or [] if isinstance(k, dict)]
            fresh = [k for k in page if str(k.get("hash")) not in seen]
            seen.update(str(k.get("hash")) for k in fresh)
            keys.extend(fresh)
            if not fresh:
                break
        return keys

    async def _key(
        self, target: str | None, action: str, *, enabled_only: bool = False
    ) -> dict[str, Any] | None:
        """The key a target names: a hash, or the one key of that name (an enabled one first)."""
        wanted = (target or "").strip()
        if not wanted:
            raise ValidationFailedError(
                "openrouter: name the key", hint="e.g. `disable the openrouter key batch-jobs`"
            )
        if _HASH.match(wanted.lower()):
            return await self._by_hash(wanted.lower(), action, wanted)
        same = [
            k
            for k in await self._all_keys(action)
            if str(k.get("name") or "").strip().lower() == wanted.lower()
        ]
        enabled = [k for k in same if not k.get("disabled")]
        pool = enabled if enabled or enabled_only else same
        if len(pool) > 1:
            hashes = ", ".join(str(k.get("hash"))[:12] + "…" for k in pool[:5])
            raise ValidationFailedError(
                f"openrouter: {len(pool)} keys are named {wanted!r} ({hashes})",
                hint="name the key by its hash; `sophia-iac status openrouter` lists them",
            )
        return pool[0] if pool else None

    async def _by_hash(self, key_hash: str, action: str, target: str | None) -> dict[str, Any] | None:
        reply = await self.http.request(
            "GET", api_path("/keys/{hash}", hash=key_hash), action=action, target=target, not_found_ok=True
        )
        if reply.status == 404:
            return None
        data = self._data(reply, "GET /keys/{hash}")
        return data if isinstance(data, dict) else None

    async def observe_key(self, call: ActionCall) -> State:
        """``{"name", "hash", "disabled", "limit_usd"}`` or None.

        For ``create`` only an enabled key counts: a disabled key's name is free again (which
        is also what undoing a create, by disabling the key, returns to).
        """
        raw = await self._key(call.target, call.action, enabled_only=call.action.endswith(".create"))
        return key_state(raw) if raw is not None else None

    async def _read_back(self, key_hash: str, call: ActionCall) -> State:
        raw = await self._by_hash(key_hash, call.action, call.target)
        return key_state(raw) if raw is not None else None

    # -- changes -------------------------------------------------------------------------

    async def do_key_create(self, call: ActionCall, before: State) -> State:
        """``POST /keys``; the value goes to the drop, the state keeps its reference."""
        self.precheck(call, before)
        name = (call.target or "").strip()
        body: dict[str, Any] = {"name": name}
        if call.params.get("limit_usd") is not None:
            body["limit"] = call.params["limit_usd"]
        reply = await self.http.request("POST", "/keys", action=call.action, target=name, json=body)
        answer = reply.data if isinstance(reply.data, dict) else {}
        value, data = answer.get("key"), answer.get("data")
        if isinstance(value, str) and value:
            SCRUBBER.register(value)
        key_hash = data.get("hash") if isinstance(data, dict) else None
        if not isinstance(value, str) or not value or not isinstance(key_hash, str):
            raise AdapterError(
                f"openrouter created a key for {name!r} but its answer lacks the hash or the value",
                hint="check the key list in OpenRouter and disable any key you can't account for",
                details={"platform": "openrouter", "action": call.action},
            )
        ref = self.drop.put("openrouter", name, key_hash, value)
        del value
        after = await self._read_back(key_hash, call)
        return {**(after or {"name": name, "hash": key_hash, "disabled": None}), "secret_ref": ref}

    async def _patch(self, call: ActionCall, before: State, body: dict[str, Any]) -> State:
        self.precheck(call, before)
        assert before is not None
        key_hash = str(before["hash"])
        await self.http.request(
            "PATCH",
            api_path("/keys/{hash}", hash=key_hash),
            action=call.action,
            target=call.target,
            json=body,
        )
        return await self._read_back(key_hash, call)

    async def do_key_set_limit(self, call: ActionCall, before: State) -> State:
        """``PATCH /keys/{hash}`` with the new limit (null removes it)."""
        return await self._patch(call, before, {"limit": call.params.get("limit_usd")})

    async def do_key_disable(self, call: ActionCall, before: State) -> State:
        """``PATCH /keys/{hash}`` ``{"disabled": true}``."""
        return await self._patch(call, before, {"disabled": True})

    async def do_key_enable(self, call: ActionCall, before: State) -> State:
        """``PATCH /keys/{hash}`` ``{"disabled": false}``."""
        return await self._patch(call, before, {"disabled": False})

    # -- plan-time checks and predictions -------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse a duplicate name, a missing key, and toggles that would change nothing."""
        verb = call.action.rsplit(".", 1)[-1]
        target = (call.target or "").strip()
        if verb == "create":
            if before is not None:
                raise ValidationFailedError(
                    f"openrouter: a key named {target!r} already exists",
                    hint="pick another name, or change the existing key",
                )
            if _HASH.match(target.lower()):
                raise ValidationFailedError(
                    "openrouter: a key name can't look like a key hash", hint="choose a descriptive name"
                )
            return
        if before is None:
            raise NotFoundError(
                f"openrouter: key {target!r} not found ({call.action})",
                hint="check the name; `sophia-iac status openrouter` lists the keys",
            )
        if verb == "disable" and before["disabled"]:
            raise ValidationFailedError(
                f"openrouter: key {target!r} is already disabled", hint="nothing to do"
            )
        if verb == "enable" and not before["disabled"]:
            raise ValidationFailedError(f"openrouter: key {target!r} is not disabled", hint="nothing to do")

    def predict(self, call: ActionCall, before: State) -> State:
        """create → an enabled key with its limit; the others change one field of ``before``."""
        verb = call.action.rsplit(".", 1)[-1]
        if verb == "create":
            return {
                "name": (call.target or "").strip(),
                "disabled": False,
                "limit_usd": call.params.get("limit_usd"),
            }
        after = dict(before or {})
        if verb == "set_limit":
            after["limit_usd"] = call.params.get("limit_usd")
        else:
            after["disabled"] = verb == "disable"
        return after

    # -- status --------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Health (the key list answers), every key, the calling key's kind, and the breaker state."""
        try:
            keys = await self._all_keys("openrouter.status")
            own = self._data(await self.http.request("GET", "/key", action="openrouter.status"), "GET /key")
        except SophiaError as exc:
            return self.failed_status(exc)
        own = own if isinstance(own, dict) else {}
        inventory = {"key": [key_state(k) for k in keys]}
        disabled = sum(1 for k in inventory["key"] if k["disabled"])
        return PlatformStatus(
            "openrouter",
            healthy=True,
            message=f"reachable; {len(keys)} key(s), {disabled} disabled",
            inventory=inventory,
            details={
                "circuit": self.http.breaker.snapshot(),
                "base_url": self.http.base_url,
                "management_key": bool(own.get("is_management_key") or own.get("is_provisioning_key")),
                "usage_usd": own.get("usage"),
                "limit_remaining_usd": own.get("limit_remaining"),
            },
        )

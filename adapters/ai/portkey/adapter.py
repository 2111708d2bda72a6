"""The Portkey adapter class: keys, configs, budgets (see :mod:`adapters.ai.portkey`)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.ai.keydrop import KeyMintingAdapter
from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.credentials import SCRUBBER
from adapters.http import Reply, api_path
from adapters.specs.portkey import ACTIONS
from orchestrator.errors import AdapterError, NotFoundError, SophiaError, ValidationFailedError

from .rotation import DEFAULT_SCOPES, rotate
from .state import config_state, iso, key_state, now, routed_config

__all__ = ["DEFAULT_BASE_URL", "PortkeyAdapter"]

DEFAULT_BASE_URL = "https://api.portkey.ai/v1"
PAGE_SIZE = 100
MAX_PAGES = 50

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_USAGE_FIELDS = ("type", "credit_limit", "alert_threshold", "periodic_reset", "periodic_reset_days")


class PortkeyAdapter(KeyMintingAdapter):
    """Portkey API keys (with verified rotation), gateway configs and budgets."""

    name: ClassVar[str] = "portkey"
    display_name: ClassVar[str] = "Portkey"
    stack: ClassVar[Stack] = Stack.AI
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("api_key", "config", "budget")
    content_on_delete: ClassVar[Mapping[str, str]] = {"api_key": "a new key value: whoever held the old one is locked out"}
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    # -- plumbing ------------------------------------------------------------------------

    @staticmethod
    def _body(reply: Reply, what: str) -> dict[str, Any]:
        if not isinstance(reply.data, dict):
            raise AdapterError(
                f"portkey answered {what} with {type(reply.data).__name__} where a JSON object was expected",
                hint="portkey or a proxy in front of it is misbehaving; retry later",
                details={"platform": "portkey", "status": reply.status},
            )
        return reply.data

    async def _pages(
        self, path: str, action: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a paged list (``page_size``/``current_page``; stops on a short or repeated page)."""
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for page in range(MAX_PAGES):
            reply = await self.http.request(
                "GET",
                path,
                action=action,
                params={**(params or {}), "page_size": PAGE_SIZE, "current_page": page},
            )
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

    async def key_record(
        self, target: str | None, action: str, *, live_only: bool = False
    ) -> dict[str, Any] | None:
        """The key a target names: an id, or the newest not-disabled key with that name (else,
        unless ``live_only``, the newest disabled one)."""
        wanted = (target or "").strip()
        if not wanted:
            raise ValidationFailedError(
                "portkey: name the API key", hint="e.g. `rotate the portkey key support-bot`"
            )
        if _UUID.match(wanted):
            reply = await self.http.request(
                "GET",
                api_path("/api-keys/{id}", id=wanted.lower()),
                action=action,
                target=wanted,
                not_found_ok=True,
            )
            return None if reply.status == 404 else self._body(reply, "GET /api-keys/{id}")
        same = [
            k for k in await self._keys(action) if str(k.get("name") or "").strip().lower() == wanted.lower()
        ]
        if not same:
            return None
        at = now()
        live = [k for k in same if key_state(k, at)["status"] != "disabled"]
        pool = live if live or live_only else same
        return max(pool, key=lambda k: str(k.get("created_at") or "")) if pool else None

    async def observe_api_key(self, call: ActionCall) -> State:
        """``{"name", "id", "status", "expires_at", "rotated_from"}`` or None.

        For ``create`` only a live key counts: a disabled key's name is free again (which is
        also what undoing a create, by disabling the key, returns to).
        """
        raw = await self.key_record(call.target, call.action, live_only=call.action.endswith(".create"))
        return key_state(raw) if raw is not None else None

    async def set_expiry(self, key_id: str, when: str | None, call: ActionCall) -> None:
        await self.http.request(
            "PUT",
            api_path("/api-keys/{id}", id=key_id),
            action=call.action,
            target=call.target,
            json={"expires_at": when},
        )

    async def do_api_key_create(self, call: ActionCall, before: State) -> State:
        """Create a service key; its value goes to the drop, its id and name to the state."""
        self.precheck(call, before)
        name = (call.target or "").strip()
        workspace = (
            call.params.get("workspace") or os.environ.get("SOPHIA_PORTKEY_WORKSPACE", "").strip() or None
        )
        body: dict[str, Any] = {"name": name, "scopes": list(call.params.get("scopes") or DEFAULT_SCOPES)}
        if workspace:
            body["workspace_id"] = workspace
        kind = "workspace" if workspace else "organisation"
        reply = await self.http.request(
            "POST",
            api_path("/api-keys/{type}/service", type=kind),
            action=call.action,
            target=name,
            json=body,
        )
        new_id, value = self.minted(reply, call)
        ref = self.drop.put("portkey", name, new_id, value)
        del value
        after = await self.observe_api_key(call)
        if after is None and _UUID.match(new_id):
            after = await self.observe_api_key(call.model_copy(update={"target": new_id}))
        # A key the list doesn't show yet still gets its id and reference recorded.
        return {**(after or {"name": name, "id": new_id, "status": None}), "secret_ref": ref}

    def minted(self, reply: Reply, call: ActionCall) -> tuple[str, str]:
        """(id, value) of a freshly created key; the value is registered with the scrubber first."""
        body = self._body(reply, f"{call.action} (create)")
        value, key_id = body.get("key"), body.get("id")
        if isinstance(value, str) and value:
            SCRUBBER.register(value)
        if not isinstance(value, str) or not value or not isinstance(key_id, str) or not key_id:
            raise AdapterError(
                f"portkey created a key for {call.target!r} but its answer lacks the id or the value",
                hint="check the key list in Portkey and disable any key you can't account for",
                details={
                    "platform": "portkey",
                    "action": call.action,
                    "key_id": key_id if isinstance(key_id, str) else None,
                },
            )
        return key_id, value

    async def do_api_key_disable(self, call: ActionCall, before: State) -> State:
        """Disable by setting the key's expiry to now."""
        self.precheck(call, before)
        assert before is not None
        await self.set_expiry(before["id"], iso(now()), call)
        return await self.observe_api_key(call.model_copy(update={"target": before["id"]}))

    async def do_api_key_enable(self, call: ActionCall, before: State) -> State:
        """Re-enable by clearing the expiry (or restoring the one it had before it was disabled)."""
        self.precheck(call, before)
        assert before is not None
        await self.set_expiry(before["id"], call.params.get("expires_at"), call)
        return await self.observe_api_key(call.model_copy(update={"target": before["id"]}))

    async def do_api_key_rotate(self, call: ActionCall, before: State) -> State:
        """The verified transaction in :mod:`adapters.ai.portkey.rotation`."""
        self.precheck(call, before)
        assert before is not None
        return await rotate(self, call, before)

    # -- configs -------------------------------------------------------------------------

    async def _config_item(self, target: str | None, action: str) -> dict[str, Any] | None:
        wanted = (target or "").strip().lower()
        if not wanted:
            raise ValidationFailedError("portkey: name the config", hint="e.g. `portkey config prod-routing`")
        reply = await self.http.request("GET", "/configs", action=action)
        for item in self._body(reply, "GET /configs").get("data") or []:
            if isinstance(item, dict) and wanted in (
                str(item.get("slug", "")).lower(),
                str(item.get("name", "")).strip().lower(),
            ):
                return item
        return None

    async def _config_body(self, slug: str, action: str, target: str | None) -> dict[str, Any]:
        reply = await self.http.request(
            "GET", api_path("/configs/{slug}", slug=slug), action=action, target=target
        )
        config = (self._body(reply, "GET /configs/{slug}").get("data") or {}).get("config")
        if isinstance(config, str):  # some answers carry the config as a JSON string
            try:
                config = json.loads(config)
            except ValueError:
                config = None
        if not isinstance(config, dict):
            raise AdapterError(
                f"portkey config {slug} has no readable routing body ({action})",
                hint="open the config in Portkey and check it is valid JSON",
            )
        return config

    async def observe_config(self, call: ActionCall) -> State:
        """``{"name", "slug", "fallback", "loadbalance", "retry"}`` or None."""
        item = await self._config_item(call.target, call.action)
        if item is None:
            return None
        slug = str(item.get("slug") or item.get("id"))
        return config_state(
            str(item.get("name") or slug), slug, await self._config_body(slug, call.action, call.target)
        )

    async def do_config_update(self, call: ActionCall, before: State) -> State:
        """Write the whole config back with only the routing fields changed."""
        self.precheck(call, before)
        assert before is not None
        slug = before["slug"]
        config = await self._config_body(slug, call.action, call.target)
        await self.http.request(
            "PUT",
            api_path("/configs/{slug}", slug=slug),
            action=call.action,
            target=call.target,
            json={"config": routed_config(config, call.params)},
        )
        return await self.observe_config(call)

    # -- budgets -------------------------------------------------------------------------

    async def _workspaces(self, action: str) -> list[dict[str, Any]]:
        return await self._pages("/admin/workspaces", action)

    async def _budget_subject(self, target: str | None, action: str) -> tuple[str, dict[str, Any]] | None:
        """("workspace"|"api_key", record) for ``workspace:x``, ``key:x`` or a bare name."""
        text = (target or "").strip()
        prefix, _, rest = text.partition(":")
        kind, name = (
            (prefix.strip().lower(), rest.strip())
            if prefix.strip().lower() in ("workspace", "key")
            else ("", text)
        )
        if not name:
            raise ValidationFailedError(
                f"portkey: {target!r} is not a budget target",
                hint="name a workspace or key: `workspace:research` or `key:support-bot`",
            )
        found: list[tuple[str, dict[str, Any]]] = []
        if kind in ("", "workspace"):
            for ws in await self._workspaces(action):
                if name.lower() in (
                    str(ws.get("id", "")).lower(),
                    str(ws.get("slug", "")).lower(),
                    str(ws.get("name", "")).strip().lower(),
                ):
                    found.append(("workspace", ws))
                    break
        if kind in ("", "key"):
            key = await self.key_record(name, action)
            if key is not None:
                found.append(("api_key", key))
        if len(found) > 1:
            raise ValidationFailedError(
                f"portkey: {name!r} is both a workspace and an API key",
                hint=f"say `workspace:{name}` or `key:{name}`",
            )
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
            reply = await self.http.request(
                "GET",
                api_path("/admin/workspaces/{workspaceId}", workspaceId=ws_id),
                action=call.action,
                target=call.target,
            )
            limit, limit_type = self._cost_limit(
                self._body(reply, "GET /admin/workspaces/{id}").get("usage_limits")
            )
            return {
                "name": record.get("name"),
                "kind": kind,
                "id": ws_id,
                "limit_usd": limit,
                "limit_type": limit_type,
            }
        limit, limit_type = self._cost_limit(record.get("usage_limits"))
        return {
            "name": record.get("name"),
            "kind": kind,
            "id": record.get("id"),
            "limit_usd": limit,
            "limit_type": limit_type,
        }

    @staticmethod
    def _cost_entry(existing: object, limit: int) -> dict[str, Any]:
        entry = {
            k: v
            for k, v in (existing if isinstance(existing, dict) else {}).items()
            if k in _USAGE_FIELDS and v is not None
        }
        if isinstance(entry.get("alert_threshold"), int | float) and entry["alert_threshold"] > limit:
            entry.pop("alert_threshold")
        return {**entry, "type": "cost", "credit_limit": limit}

    async def do_budget_set(self, call: ActionCall, before: State) -> State:
        """Set the cost limit, keeping the limit's alert threshold and reset period."""
        self.precheck(call, before)
        assert before is not None
        limit = int(call.params["limit_usd"])
        if before["kind"] == "workspace":
            path = api_path("/admin/workspaces/{workspaceId}", workspaceId=str(before["id"]))
            reply = await self.http.request("GET", path, action=call.action, target=call.target)
            current = self._body(reply, f"GET {path}").get("usage_limits")
            entries = [e for e in (current if isinstance(current, list) else []) if isinstance(e, dict)]
            cost = next((e for e in entries if str(e.get("type") or "cost") == "cost"), None)
            others = [
                {k: v for k, v in e.items() if k in _USAGE_FIELDS and v is not None}
                for e in entries
                if e is not cost
            ]
            await self.http.request(
                "PUT",
                path,
                action=call.action,
                target=call.target,
                json={"usage_limits": [self._cost_entry(cost, limit), *others]},
            )
        else:
            raw = await self.key_record(before["id"], call.action)
            await self.http.request(
                "PUT",
                api_path("/api-keys/{id}", id=str(before["id"])),
                action=call.action,
                target=call.target,
                json={"usage_limits": self._cost_entry((raw or {}).get("usage_limits"), limit)},
            )
        return await self.observe_budget(call)

    # -- plan-time checks and predictions -------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse what can't work: a second active key of a name, changing a missing thing, no-op toggles."""
        resource, verb = call.action.split(".")[1], call.action.rsplit(".", 1)[-1]
        target = (call.target or "").strip()
        if resource == "api_key" and verb == "create":
            if before is not None and before["status"] != "disabled":
                raise ValidationFailedError(
                    f"portkey: an active API key named {target!r} already exists",
                    hint="pick another name, or rotate the existing key",
                )
            return
        if before is None:
            what = {"api_key": "API key", "config": "config", "budget": "workspace or API key"}[resource]
            raise NotFoundError(
                f"portkey: {what} {target!r} not found ({call.action})",
                hint="check the name; `sophia-iac status portkey` lists what exists",
            )
        if resource == "api_key":
            if verb in ("rotate", "disable") and before["status"] == "disabled":
                raise ValidationFailedError(
                    f"portkey: API key {target!r} is already disabled",
                    hint="enable it first, or create a new key",
                )
            if verb == "enable" and before["status"] != "disabled":
                raise ValidationFailedError(
                    f"portkey: API key {target!r} is not disabled", hint="nothing to do"
                )
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
                return {
                    "name": (call.target or "").strip(),
                    "status": "active",
                    "expires_at": None,
                    "rotated_from": None,
                }
            if verb == "rotate":  # a new key (new id) with the old one's name and expiry
                base = {k: v for k, v in (before or {}).items() if k != "id"}
                return {**base, "status": "active", "rotated_from": (before or {}).get("id")}
            if verb == "disable":
                return {**(before or {}), "status": "disabled", "expires_at": None}
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
            configs = self._body(
                await self.http.request("GET", "/configs", action="portkey.status"), "GET /configs"
            )
            workspaces = await self._workspaces("portkey.status")
        except SophiaError as exc:
            return self.failed_status(exc)
        at = now()
        inventory = {
            "api_key": [key_state(k, at) for k in keys],
            "config": [
                {"name": c.get("name"), "slug": c.get("slug"), "status": c.get("status")}
                for c in configs.get("data") or []
                if isinstance(c, dict)
            ],
            "budget": [{"name": w.get("name"), "kind": "workspace", "id": w.get("id")} for w in workspaces],
        }
        counts = ", ".join(f"{len(v)} {k}(s)" for k, v in inventory.items())
        return PlatformStatus(
            "portkey",
            healthy=True,
            message=f"reachable; {counts}",
            inventory=inventory,
            details={"circuit": self.http.breaker.snapshot(), "base_url": self.http.base_url},
        )

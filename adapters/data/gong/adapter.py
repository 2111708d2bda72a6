"""The Gong adapter class (the package doc says how each action is carried out)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State, WebhookRequest, WebhookResult
from adapters.catalog import ActionCall, Stack
from adapters.credentials import SecretRef, resolve_secret
from adapters.http import HttpAdapter
from adapters.specs.gong import ACTIONS
from adapters.webhooks import VerifiedWebhook
from orchestrator.errors import AdapterError, SophiaError

from .records import (
    DEFAULT_BASE_URL,
    call_summary,
    iso,
    obj,
    since_instant,
    user_state,
)
from .webhook import unwrap, verify_gong

__all__ = ["GongAdapter"]


class GongAdapter(HttpAdapter):
    """Gong calls and users (reads), health and inventory, and signed webhooks."""

    name: ClassVar[str] = "gong"
    display_name: ClassVar[str] = "Gong"
    stack: ClassVar[Stack] = Stack.DATA
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("call", "user", "workspace")
    supports_webhooks: ClassVar[bool] = True
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    #: Most pages read for one listing (Gong pages by cursor); more is an error, never a silent cut.
    max_pages: ClassVar[int] = 50

    def auth_headers(self) -> Mapping[str, str]:
        """``SOPHIA_GONG_TOKEN``: ``ACCESS_KEY:ACCESS_KEY_SECRET`` → Basic; anything else → Bearer (OAuth)."""
        value = resolve_secret(SecretRef("gong")).reveal()
        if ":" in value:
            return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}
        return {"Authorization": f"Bearer {value}"}

    # -- reads -----------------------------------------------------------------------------

    async def _pages(
        self,
        path: str,
        field: str,
        *,
        action: str,
        params: Mapping[str, str] | None = None,
        empty_on_404: bool = False,
    ) -> list[dict[str, Any]]:
        """Every record under ``field`` of a cursor-paged Gong listing."""
        records: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(self.max_pages):
            query = {**(params or {}), **({"cursor": cursor} if cursor else {})}
            reply = await self.http.request(
                "GET", path, action=action, params=query, not_found_ok=empty_on_404
            )
            if reply.status == 404:  # GET /v2/calls: "No calls found for the specified period"
                return records
            data = obj(reply.data)
            found = data.get(field)
            if not isinstance(found, list):
                raise AdapterError(
                    f"gong answered {path} without a {field} list (during {action})",
                    hint="Gong or a proxy in front of it is misbehaving; retry later",
                    details={"platform": "gong", "action": action},
                )
            records.extend(r for r in found if isinstance(r, dict))
            cursor = obj(data.get("records")).get("cursor")
            if not isinstance(cursor, str) or not cursor or not found:
                return records
        raise AdapterError(
            f"gong: {path} has more than {self.max_pages} pages ({action})",
            hint="too many to list at once; narrow the time range",
            details={"platform": "gong", "action": action},
        )

    async def _users(self, action: str) -> list[dict[str, Any]]:
        return await self._pages("/v2/users", "users", action=action)

    async def observe_call(self, call: ActionCall) -> State:
        """``gong.call.list``: the calls started since ``since`` (a read: this is its answer)."""
        start = since_instant(str(call.params.get("since", "")))
        now = datetime.now(UTC)
        raws = await self._pages(
            "/v2/calls",
            "calls",
            action=call.action,
            params={"fromDateTime": iso(start), "toDateTime": iso(now)},
            empty_on_404=True,
        )
        calls = [call_summary(r) for r in raws]
        return {"since": iso(start), "until": iso(now), "count": len(calls), "calls": calls}

    async def observe_user(self, call: ActionCall) -> State:
        """``gong.user.list``: every user (a read: this is its answer)."""
        users = [user_state(r) for r in await self._users(call.action)]
        return {"count": len(users), "users": users}

    async def do_call_list(self, call: ActionCall, before: State) -> State:
        """A read: the calls now."""
        return await self.observe_call(call)

    async def do_user_list(self, call: ActionCall, before: State) -> State:
        """A read: the users now."""
        return await self.observe_user(call)

    # -- planning --------------------------------------------------------------------------

    def predict(self, call: ActionCall, before: State) -> State:
        """Reads leave everything as it was."""
        return before

    def reached(self, call: ActionCall, expected: State, observed: State) -> bool:
        """A read always reached its answer (a listing taken twice may differ: calls keep coming)."""
        return True

    # -- status ----------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Users and workspaces as inventory, and the breaker."""
        try:
            users = [user_state(r) for r in await self._users("gong.status")]
            reply = await self.http.request("GET", "/v2/workspaces", action="gong.status")
        except SophiaError as exc:
            return self.failed_status(exc)
        workspaces = [
            {"name": str(w.get("name") or w.get("id"))[:200], "id": w.get("id")}
            for w in obj(reply.data).get("workspaces") or []
            if isinstance(w, dict)
        ]
        active = sum(1 for u in users if u["active"])
        return PlatformStatus(
            "gong",
            healthy=True,
            message=f"{len(users)} user(s), {active} active; {len(workspaces)} workspace(s)",
            inventory={"user": users, "workspace": workspaces},
            details={"circuit": self.http.breaker.snapshot(), "base_url": self.http.base_url},
        )

    # -- webhooks --------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, request: WebhookRequest) -> VerifiedWebhook:
        """The door's check (:func:`orchestrator.inbox.verify_delivery`): the signed JWT."""
        return verify_gong(request)

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify again (as at the door, from the stored envelope) and summarise the call Gong reports.

        The call's data (title, parties, transcript links) is untrusted text and is not
        interpreted; calls are not resources this adapter changes, so no changes are reported.
        """
        verified = self.verify_webhook(unwrap(request))
        meta = obj(obj(verified.payload.get("callData")).get("metaData"))
        call_id = meta.get("id")
        shown = str(call_id) if isinstance(call_id, str) and call_id.isdigit() else "unknown"
        return WebhookResult(
            "gong",
            verified.delivery_id,
            verified.event_type,
            [],
            summary=f"call {shown[:20]} matched an automation rule",
        )


def _emails(raw: Mapping[str, Any]) -> set[str]:
    found = {raw.get("emailAddress"), *(raw.get("emailAliases") or [])}
    return {e.strip().lower() for e in found if isinstance(e, str)}

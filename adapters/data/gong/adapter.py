"""The Gong adapter class (the package doc says how each action is carried out)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State, WebhookRequest, WebhookResult
from adapters.catalog import ActionCall, Stack
from adapters.credentials import SecretRef, resolve_secret
from adapters.http import HttpAdapter, api_path
from adapters.specs.gong import ACTIONS
from adapters.webhooks import VerifiedWebhook
from orchestrator.errors import AdapterError, NotFoundError, SophiaError, ValidationFailedError

from .records import (
    DEFAULT_BASE_URL,
    access_state,
    call_summary,
    gong_id,
    iso,
    obj,
    since_instant,
    unsent,
    user_email,
    user_state,
)
from .webhook import unwrap, verify_gong

__all__ = ["GongAdapter"]

ACCESS = "/v2/calls/users-access"


class GongAdapter(HttpAdapter):
    """Gong calls and users (reads), a user's individual access to a call, signed webhooks."""

    name: ClassVar[str] = "gong"
    display_name: ClassVar[str] = "Gong"
    stack: ClassVar[Stack] = Stack.DATA
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("call", "call.access", "user", "workspace")
    supports_webhooks: ClassVar[bool] = True
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    #: ``POST /v2/calls/users-access`` only reads (who holds access): never counted as a change.
    read_only_posts: ClassVar[tuple[str, ...]] = (ACCESS,)
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

    async def _user_id(self, email: str, action: str) -> str:
        found = [r for r in await self._users(action) if _emails(r) & {email}]
        if len(found) != 1:
            why = "no Gong user has" if not found else f"{len(found)} Gong users have"
            raise unsent(
                NotFoundError(
                    f"gong: {why} the email {email!r}",
                    hint="check the address; `sophia-iac gong user list` lists users",
                    details={"platform": "gong", "action": action, "target": email},
                )
            )
        return gong_id(found[0].get("id"), "user id")

    async def _holders(self, call_id: str, action: str, email: str) -> list[str]:
        """The ids of the users holding individual (API-given) access to the call."""
        reply = await self.http.request(
            "POST",
            ACCESS,
            action=action,
            target=email,
            json={"filter": {"callIds": [call_id]}},
            # A read, safe to repeat after a 5xx or a timeout (Gong takes no idempotency key:
            # this only tells the shared client so; nothing is sent).
            idempotency_key=f"read-{uuid.uuid4()}",
        )
        entries = obj(reply.data).get("callAccessList")
        if not isinstance(entries, list):
            raise AdapterError(
                f"gong answered {ACCESS} without a callAccessList (during {action})",
                hint="Gong or a proxy in front of it is misbehaving; retry later",
                details={"platform": "gong", "action": action},
            )
        return [
            str(obj(u).get("userId"))
            for e in entries
            if obj(e).get("callId") == call_id
            for u in obj(e).get("users") or []
        ]

    async def observe_call_access(self, call: ActionCall) -> State:
        """``{"user", "user_id", "call", "access"}``; an unknown call or user is ``NotFoundError``."""
        email = user_email(call.target)
        call_id = gong_id(call.params.get("call"), "call")
        await self.http.request(
            "GET", api_path("/v2/calls/{id}", id=call_id), action=call.action, target=call_id
        )
        user_id = await self._user_id(email, call.action)
        return access_state(email, user_id, call_id, await self._holders(call_id, call.action, email))

    async def do_call_list(self, call: ActionCall, before: State) -> State:
        """A read: the calls now."""
        return await self.observe_call(call)

    async def do_user_list(self, call: ActionCall, before: State) -> State:
        """A read: the users now."""
        return await self.observe_user(call)

    # -- changes ---------------------------------------------------------------------------

    async def _change(self, call: ActionCall, before: State, method: str) -> State:
        self.precheck(call, before)
        assert before is not None  # observe raises for an unknown user or call
        email = user_email(call.target)
        call_id = gong_id(before.get("call"), "call")
        user_id = gong_id(before.get("user_id"), "user id")
        await self.http.request(
            method,
            ACCESS,
            action=call.action,
            target=email,
            json={"callAccessList": [{"callId": call_id, "userIds": [user_id]}]},
        )
        return access_state(email, user_id, call_id, await self._holders(call_id, call.action, email))

    async def do_call_access_grant(self, call: ActionCall, before: State) -> State:
        """``PUT /v2/calls/users-access``, then read the call's access list back."""
        return await self._change(call, before, "PUT")

    async def do_call_access_revoke(self, call: ActionCall, before: State) -> State:
        """``DELETE /v2/calls/users-access``, then read the call's access list back."""
        return await self._change(call, before, "DELETE")

    # -- planning --------------------------------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse a grant the user already holds and a revoke of access not given through the API."""
        if not call.action.startswith("gong.call.access.") or before is None:
            return
        grant = call.action == "gong.call.access.grant"
        if bool(before.get("access")) == grant:
            said = "already has" if grant else "holds no"
            raise unsent(
                ValidationFailedError(
                    f"gong: {before.get('user')} {said} individual access to call {before.get('call')}",
                    hint="nothing to do"
                    if grant
                    else "only access given through the API can be revoked here (sharing and permission profiles are not)",
                )
            )

    def predict(self, call: ActionCall, before: State) -> State:
        """Reads leave everything as it was; grant/revoke set ``access``."""
        if not call.action.startswith("gong.call.access."):
            return before
        return {**(before or {}), "access": call.action == "gong.call.access.grant"}

    def reached(self, call: ActionCall, expected: State, observed: State) -> bool:
        """A read always reached its answer; a change when ``access`` (and the rest) read back as predicted."""
        if not call.action.startswith("gong.call.access."):
            return True
        return super().reached(call, expected, observed)

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

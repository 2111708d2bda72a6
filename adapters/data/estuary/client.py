"""Estuary transport: the agent API (GraphQL) and Supabase (PostgREST) clients, and the access token."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.credentials import SCRUBBER, SecretRef, resolve_secret, scrub
from adapters.http import HttpAdapter, PlatformAuthError, PlatformClient, Reply
from orchestrator.errors import AdapterError, ConfigError

from .records import (
    DEFAULT_AGENT_URL,
    DEFAULT_PG_URL,
    DOCUMENTS,
    SUPABASE_KEY_VAR,
    jwt_expiry,
    obj,
    refresh_token,
)

__all__ = ["REST", "EstuaryClient"]

REST = "/rest/v1"


class EstuaryClient(HttpAdapter):
    """The two hosts Estuary's control plane answers on, one platform breaker, one access token.

    Subclassed by :class:`~adapters.data.estuary.adapter.EstuaryAdapter`; the package doc says
    where each address and credential comes from.
    """

    api_base_url: ClassVar[str | None] = DEFAULT_AGENT_URL

    def __init__(self, settings: Any = None, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._pg: dict[asyncio.AbstractEventLoop, PlatformClient] = {}
        self._access: tuple[str, float] | None = None

    # -- clients and credentials -----------------------------------------------------------

    def auth_headers(self) -> Mapping[str, str]:
        """None on the client: each request carries the current access token (see :meth:`_bearer`)."""
        return {}

    def pg_base_url(self) -> str:
        """``SOPHIA_ESTUARY_PG_URL``; else the base URL when that is set (one test server); else Supabase."""
        return (
            os.environ.get("SOPHIA_ESTUARY_PG_URL", "").strip()
            or os.environ.get("SOPHIA_ESTUARY_BASE_URL", "").strip()
            or DEFAULT_PG_URL
        ).rstrip("/")

    @property
    def pg(self) -> PlatformClient:
        """The PostgREST client for the running event loop (same platform breaker as :attr:`http`)."""
        loop = asyncio.get_running_loop()
        client = self._pg.get(loop)
        if client is None:
            client = self._pg[loop] = PlatformClient(
                self.name,
                base_url=self.pg_base_url(),
                credential_var=self.credential_var,
                transport=self.client_transport(),
                sleep=self.sleep,
            )
        return client

    def _supabase_key(self) -> str:
        key = os.environ.get(SUPABASE_KEY_VAR, "").strip()
        if not key:
            raise ConfigError(
                f"estuary: {SUPABASE_KEY_VAR} is not set",
                hint=f"set {SUPABASE_KEY_VAR} to the control plane's public anon key (flowctl's"
                " DEFAULT_PG_PUBLIC_TOKEN in estuary/flow crates/flow-client/src/lib.rs)",
                details={"variable": SUPABASE_KEY_VAR},
            )
        return key

    async def _bearer(self, action: str) -> str:
        """An access token: the configured one, or one exchanged for the refresh token (cached)."""
        secret = resolve_secret(SecretRef(self.name)).reveal()
        pair = refresh_token(secret)
        if pair is None:
            return secret  # an access token, or a service account's flow_sa_ key (sent as Bearer)
        if self._access is not None and self._access[1] - 60 > time.time():
            return self._access[0]
        reply = await self.pg.request(
            "POST",
            f"{REST}/rpc/generate_access_token",
            action=action,
            json={"refresh_token_id": pair[0], "secret": pair[1]},
            headers={"apikey": self._supabase_key()},
            # Minting an access token changes nothing: safe to repeat (no key is sent).
            idempotency_key=f"read-{uuid.uuid4()}",
        )
        token = obj(reply.data).get("access_token")
        if not isinstance(token, str) or not token:
            raise AdapterError(
                "estuary: the refresh token was not exchanged for an access token",
                hint=f"generate a new refresh token (dashboard: Admin > CLI-API) into {self.credential_var}",
                details={"platform": "estuary", "action": action},
            )
        SCRUBBER.register(token)
        self._access = (token, jwt_expiry(token))
        return token

    async def _send(
        self,
        client: PlatformClient,
        method: str,
        path: str,
        *,
        action: str,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Reply:
        """One request with the access token; a 401 on an exchanged (cached) token exchanges once more.

        A 401 means the request was not acted on, so sending it again is safe, change or not.
        """
        for attempt in (1, 2):
            cached = self._access is not None
            auth = {"Authorization": f"Bearer {await self._bearer(action)}"}
            try:
                return await client.request(
                    method, path, action=action, headers={**(headers or {}), **auth}, **kwargs
                )
            except PlatformAuthError as exc:
                if attempt == 2 or not cached or exc.details.get("status") != 401:
                    raise
                self._access = None  # expired early or revoked: exchange the refresh token again
        raise AssertionError("unreachable")

    async def _rest(
        self,
        method: str,
        table: str,
        *,
        action: str,
        target: str | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        read: bool = False,
    ) -> Any:
        """One PostgREST call on ``/rest/v1/<table>`` with the access token; returns the JSON body."""
        headers = {"apikey": self._supabase_key()}
        if method == "POST":
            headers["Prefer"] = "return=representation"
        reply = await self._send(
            self.pg,
            method,
            f"{REST}/{table}",
            action=action,
            target=target,
            params=params,
            json=json,
            headers=headers,
        )
        return reply.data if not read or isinstance(reply.data, list) else []

    async def _graphql(
        self, document: str, variables: Mapping[str, Any], *, action: str, target: str | None = None
    ) -> dict[str, Any]:
        """Send one :data:`DOCUMENTS` query; return ``data`` or raise naming action and target."""
        text = DOCUMENTS[document]
        reply = await self._send(
            self.http,
            "POST",
            "/api/graphql",
            action=action,
            target=target,
            json={
                "query": text,
                "variables": dict(variables),
                "operationName": text.split()[1].split("(")[0],
            },
            idempotency_key=f"read-{uuid.uuid4()}",  # a query is a read, safe to repeat (nothing is sent)
        )
        body = obj(reply.data)
        errors = [scrub(str(obj(e).get("message") or "error"))[:160] for e in body.get("errors") or []]
        if errors:
            raise AdapterError(
                f"estuary rejected {action}"
                + (f" on {target}" if target else "")
                + ": "
                + "; ".join(errors[:3]),
                hint="Estuary refused the query as sent; see its message",
                details={"platform": "estuary", "action": action, "errors": errors[:3]},
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise AdapterError(
                f"estuary returned no data for {action}",
                hint="Estuary or a proxy is misbehaving; retry",
                details={"platform": "estuary", "action": action},
            )
        return data

    async def _pages(
        self, document: str, variables: Mapping[str, Any], field: str, action: str, limit: int = 50
    ) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(limit):
            data = obj(
                (await self._graphql(document, {**variables, "after": after}, action=action)).get(field)
            )
            nodes.extend(obj(obj(e).get("node")) for e in data.get("edges") or [])
            info = obj(data.get("pageInfo"))
            after = info.get("endCursor") if isinstance(info.get("endCursor"), str) else None
            if info.get("hasNextPage") is not True or after is None:
                return nodes
        raise AdapterError(
            f"estuary: more than {limit} pages of {field} ({action})",
            hint="too many to list here; narrow the token's grants",
            details={"platform": "estuary", "action": action},
        )

    async def aclose(self) -> None:
        """Close this loop's connection pools."""
        client = self._pg.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
        await super().aclose()

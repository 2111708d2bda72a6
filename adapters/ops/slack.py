"""Slack adapter: channels through the Web API, with slack-sdk's ``AsyncWebClient``.

Credential: ``SOPHIA_SLACK_TOKEN`` (a bot token with ``channels:manage``/``groups:write``,
``channels:read``/``groups:read``, ``users:read`` and, for email lookups, ``users:read.email``).
``SOPHIA_SLACK_BASE_URL`` points the client elsewhere (a contract server at its host root);
the SDK wants a trailing slash, which is added. Webhooks: ``SOPHIA_SLACK_SIGNING_SECRET`` (the
app's signing secret, the one setting the Slack surface's door reads too), verified with Slack's v0 scheme and a 300 s window around receipt; the
delivery id is ``event_id``, on which the inbox deduplicates.

Requests follow the published contract (``slack_web_openapi_v2.json``): methods that change
something are POSTed as form bodies (``data=``; slack-sdk's default ``params=`` would put them in
the query string), reads are GETs. Users given as emails or handles are resolved with
``users.list`` (whose token is optional in the contract), not ``users.lookupByEmail``/
``users.info``, whose contract entries require the token *in the query string*.

Reliability: a process-wide circuit breaker (the shared :func:`adapters.http.breaker_for`) wraps
every call (429 neither opens nor closes it). 429s are retried with slack-sdk's
``RateLimitErrorRetryHandler`` (subclassed to honour any ``Retry-After`` form exactly and to use
an injectable sleep); 5xx and dropped connections are retried for reads only, because a
repeated ``conversations.create`` or ``invite`` is not safe. ``archive`` on an archived channel
and ``unarchive`` on an active one are refused before anything is sent (their recorded inverse
would otherwise undo a state the user never changed).

Contract vs live API: the contract declares a ``token`` header beside ``Authorization`` (and
requires it on ``auth.test``); the live API authenticates with ``Authorization`` alone and
ignores the extra header, so both are sent. The contract's ``auth.test`` is a GET (the SDK's
default is POST). Pagination cursors are followed until they repeat or run out, because a mock
may answer every page with the same cursor.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.base import (
    ObservedChange,
    PlatformAdapter,
    PlatformStatus,
    State,
    WebhookRequest,
    WebhookResult,
)
from adapters.catalog import ActionCall, Stack
from adapters.credentials import credential_for, scrub, webhook_secret
from adapters.http import (
    CircuitBreaker,
    PlatformAuthError,
    RateLimitedError,
    base_url_for,
    breaker_for,
    parse_retry_after,
)
from adapters.specs.slack import ACTIONS
from adapters.webhooks import verify_slack
from orchestrator.errors import AdapterError, NotFoundError, SophiaError, ValidationFailedError

if TYPE_CHECKING:
    import aiohttp
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["SlackAdapter", "slack_changes"]

DEFAULT_BASE_URL = "https://slack.com/api"
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
_MAX_PAGES = 50
_AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "not_allowed_token_type",
    }
)
_IDEMPOTENT_OK = {
    "conversations.archive": "already_archived",
    "conversations.unarchive": "not_archived",
    "conversations.invite": "already_in_channel",
}
#: slack-sdk logs request headers at DEBUG with only ``Authorization`` redacted; this logger is
#: pinned at INFO so the ``token`` header the contract wants is never written anywhere.
_SDK_LOGGER = logging.getLogger("sophia_iac.adapters.slack.sdk")
_SDK_LOGGER.setLevel(logging.INFO)

Sleep = Callable[[float], Awaitable[None]]
SessionFactory = Callable[[], "aiohttp.ClientSession"]


def _obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (vendor data is untrusted)."""
    return value if isinstance(value, dict) else {}


def _retry_handlers(sleep: Sleep, max_wait: float, waits: list[float]) -> list[Any]:
    """429 always (nothing was done); 5xx and dropped connections only for GETs."""
    from slack_sdk.http_retry.builtin_async_handlers import (
        AsyncConnectionErrorRetryHandler,
        AsyncRateLimitErrorRetryHandler,
        AsyncServerErrorRetryHandler,
    )

    async def pause(state: Any, seconds: float) -> None:
        state.next_attempt_requested = True
        waits.append(seconds)
        await sleep(seconds)
        state.increment_current_attempt()

    class RateLimit(AsyncRateLimitErrorRetryHandler):
        def _wait(self, state: Any, response: Any) -> float:
            values = {k.lower(): v for k, v in (response.headers or {}).items()}.get("retry-after") or [None]
            after = parse_retry_after(values[0] if isinstance(values, list) else values)
            return after if after is not None else random.random() * min(20.0, 2.0**state.current_attempt)

        async def _can_retry_async(
            self, *, state: Any, request: Any, response: Any = None, error: Any = None
        ) -> bool:
            return bool(
                await super()._can_retry_async(state=state, request=request, response=response, error=error)
                and self._wait(state, response) <= max_wait
            )

        async def prepare_for_next_attempt_async(
            self, *, state: Any, request: Any, response: Any = None, error: Any = None
        ) -> None:
            await pause(state, self._wait(state, response))

    class ReadsOnly:
        async def _can_retry_async(
            self, *, state: Any, request: Any, response: Any = None, error: Any = None
        ) -> bool:
            return str(request.method).upper() == "GET" and bool(
                await super()._can_retry_async(  # type: ignore[misc]
                    state=state, request=request, response=response, error=error
                )
            )

        async def prepare_for_next_attempt_async(
            self, *, state: Any, request: Any, response: Any = None, error: Any = None
        ) -> None:
            await pause(state, random.random() * 2.0**state.current_attempt)

    class ServerError(ReadsOnly, AsyncServerErrorRetryHandler):
        pass

    class Connection(ReadsOnly, AsyncConnectionErrorRetryHandler):
        pass

    return [RateLimit(max_retry_count=3), ServerError(max_retry_count=2), Connection(max_retry_count=2)]


def _status_of(response: Any) -> int:
    return int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)


class SlackAdapter(PlatformAdapter):
    """Slack channels: create, archive/unarchive, topic, invitations."""

    name: ClassVar[str] = "slack"
    display_name: ClassVar[str] = "Slack"
    stack: ClassVar[Stack] = Stack.OPS
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("channel",)
    content_on_delete: ClassVar[Mapping[str, str]] = {"channel": "its messages and members are not restored"}
    supports_webhooks: ClassVar[bool] = True

    def __init__(
        self,
        settings: Any = None,
        *,
        session_factory: SessionFactory | None = None,
        sleep: Sleep | None = None,
        max_retry_wait: float = 300.0,
        timeout: int = 30,
    ) -> None:
        super().__init__(settings)
        self._session_factory = session_factory
        self._sleep: Sleep = sleep or asyncio.sleep
        self.max_retry_wait = max_retry_wait
        self.timeout = timeout
        self.waits: list[float] = []
        self._ids: dict[str, str] = {}

    @property
    def breaker(self) -> CircuitBreaker:
        """The process-wide circuit breaker for Slack calls."""
        return breaker_for(self.name)

    # -- plumbing ------------------------------------------------------------------------
    def _web(self, session: aiohttp.ClientSession | None, token: str, base_url: str) -> AsyncWebClient:
        from slack_sdk.web.async_client import AsyncWebClient

        return AsyncWebClient(
            token=token,
            base_url=base_url,
            session=session,
            headers={"token": token},
            timeout=self.timeout,
            logger=_SDK_LOGGER,
            retry_handlers=_retry_handlers(self._sleep, self.max_retry_wait, self.waits),
        )

    async def _api(
        self,
        method: str,
        *,
        action: str,
        target: str | None = None,
        verb: str = "POST",
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One Web API call through the breaker; Slack errors become :mod:`orchestrator.errors` types."""
        import aiohttp
        from slack_sdk.errors import SlackApiError

        # Configuration problems (no token, bad URL) are raised before the breaker sees a call.
        token = credential_for("slack").secret.reveal()
        base_url = base_url_for("slack", DEFAULT_BASE_URL) + "/"
        form = dict(data) if data is not None else None
        query = dict(params) if params is not None else None
        self.breaker.allow(action)
        try:
            if self._session_factory is not None:
                async with self._session_factory() as session:
                    web = self._web(session, token, base_url)
                    response = await web.api_call(method, http_verb=verb, data=form, params=query)
            else:
                web = self._web(None, token, base_url)
                response = await web.api_call(method, http_verb=verb, data=form, params=query)
        except SlackApiError as exc:
            body = getattr(exc.response, "data", None)
            if isinstance(body, dict) and body.get("error") == _IDEMPOTENT_OK.get(method):
                self.breaker.record_success()
                return body
            raise self._error(exc, method, action, target) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.breaker.record_failure()
            what = (
                "timed out"
                if isinstance(exc, asyncio.TimeoutError)
                else f"could not be reached ({type(exc).__name__})"
            )
            unsent = isinstance(exc, aiohttp.ClientConnectorError)
            raise AdapterError(
                f"slack {what} during {action}" + (f" on {target}" if target else ""),
                hint="check the network and Slack's status page; nothing was sent" if unsent
                else "the request may have reached Slack: the change is settled by reading it back",
                details={"platform": "slack", "action": action, "error": scrub(str(exc))[:200],
                         "outcome": "unsent" if unsent else "unknown"},
            ) from None
        self.breaker.record_success()
        return _obj(response.data)

    def _error(self, exc: Any, method: str, action: str, target: str | None) -> SophiaError:
        status = _status_of(exc.response)
        body = getattr(exc.response, "data", None)
        code = body.get("error") if isinstance(body, dict) else None
        what = f"{action} on {target}" if target else action
        # A 5xx or an unreadable answer may follow an applied call; any other answer is a refusal.
        unknown = status >= 500 or not isinstance(body, dict) or not body
        details = {"platform": "slack", "action": action, "method": method, "status": status, "error": code,
                   "outcome": "unknown" if unknown else "refused"}
        if status == 429 or code == "ratelimited":
            self.breaker.record_ignored()
            headers = getattr(exc.response, "headers", {}) or {}
            wait = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after")) or 0.0
            return RateLimitedError(
                f"slack is rate-limiting {what} (HTTP {status})",
                hint=f"retry in {wait:.0f} s",
                details={**details, "retry_after": wait},
            )
        if status >= 500 or not isinstance(body, dict) or not body:
            self.breaker.record_failure()
            said = f"HTTP {status}" if status >= 500 else f"an unreadable response (HTTP {status})"
            return AdapterError(
                f"slack failed {what}: {said}",
                hint="Slack or a proxy in front of it is misbehaving; retry later",
                details=details,
            )
        self.breaker.record_success()
        if status == 401 or code in _AUTH_ERRORS:
            return PlatformAuthError(
                f"slack rejected the credential for {what} ({code or status})",
                hint="check SOPHIA_SLACK_TOKEN: it is missing, expired or revoked",
                details=details,
            )
        if status == 403 or code == "missing_scope":
            needed = str(body["needed"]) if isinstance(body.get("needed"), str) else "a scope this needs"
            return PlatformAuthError(
                f"slack refused {what} ({code or status})",
                hint=f"the token in SOPHIA_SLACK_TOKEN lacks {scrub(needed)[:80]}",
                details=details,
            )
        if status == 404 or code == "channel_not_found":
            return NotFoundError(
                f"slack: {target or 'the channel'} not found ({action})",
                hint="check the name; `sophia-iac status slack` lists channels",
                details=details,
            )
        if code in ("user_not_found", "users_not_found"):
            return NotFoundError(
                f"slack: a user in {what} was not found",
                hint="use user ids (U…), emails or @handles of active members",
                details=details,
            )
        return AdapterError(
            f"slack rejected {what}: {scrub(str(code or status))[:80]}",
            hint="Slack refused the request as sent; see the error code",
            details=details,
        )

    async def _pages(
        self, method: str, key: str, *, action: str, target: str | None, params: Mapping[str, Any]
    ) -> list[Any]:
        items: list[Any] = []
        cursor, seen = "", set()
        for _ in range(_MAX_PAGES):
            query = {**params, **({"cursor": cursor} if cursor else {})}
            data = await self._api(method, action=action, target=target, verb="GET", params=query)
            items.extend(data.get(key) or [])
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
        return items

    async def aclose(self) -> None:
        """Nothing held between calls (slack-sdk opens a session per request unless given one)."""

    # -- channels --------------------------------------------------------------------------
    @staticmethod
    def channel_ref(target: str | None) -> str:
        """A channel id (``C…``/``G…``) or a channel name without ``#``, lower-cased."""
        text = (target or "").strip().lstrip("#")
        if _CHANNEL_ID.match(text):
            return text
        name = text.lower()
        if not _CHANNEL_NAME.match(name):
            raise ValidationFailedError(
                f"slack: {target!r} is not a channel name or id",
                hint="channel names are ≤ 80 of a-z, 0-9, '-' and '_'",
                details={"field": "target"},
            )
        return name

    async def _all_channels(self, action: str, target: str | None) -> list[dict[str, Any]]:
        found = await self._pages(
            "conversations.list",
            "channels",
            action=action,
            target=target,
            params={"types": "public_channel,private_channel", "exclude_archived": "false", "limit": 1000},
        )
        unique = {c["id"]: c for c in found if isinstance(c, dict) and isinstance(c.get("id"), str)}
        for channel in unique.values():
            if isinstance(channel.get("name"), str):
                self._ids[channel["name"]] = channel["id"]
        return list(unique.values())

    async def _info(self, channel_id: str, action: str, target: str | None) -> dict[str, Any] | None:
        try:
            data = await self._api(
                "conversations.info", action=action, target=target, verb="GET", params={"channel": channel_id}
            )
        except NotFoundError:
            return None
        channel = data.get("channel")
        return channel if isinstance(channel, dict) else None

    async def _find(self, ref: str, action: str) -> dict[str, Any] | None:
        if _CHANNEL_ID.match(ref):
            return await self._info(ref, action, ref)
        if ref in self._ids:
            channel = await self._info(self._ids[ref], action, ref)
            if channel is not None and channel.get("name") == ref:
                return channel
        return next((c for c in await self._all_channels(action, ref) if c.get("name") == ref), None)

    async def _state(
        self, channel: Mapping[str, Any], call: ActionCall, target: str | None
    ) -> dict[str, Any]:
        topic = _obj(channel.get("topic"))
        state: dict[str, Any] = {
            "id": channel["id"],
            "name": channel.get("name"),
            "is_private": bool(channel.get("is_private")),
            "is_archived": bool(channel.get("is_archived")),
            "topic": topic.get("value") or "",
        }
        if call.action == "slack.channel.invite":
            # Only an invite depends on membership; a large channel's members cost many pages.
            members = await self._pages(
                "conversations.members",
                "members",
                action=call.action,
                target=target,
                params={"channel": channel["id"], "limit": 1000},
            )
            state["members"] = sorted({m for m in members if isinstance(m, str)})
            state["invitees"] = await self._resolve_users(call.params["users"], call.action, target)
        return state

    async def _resolve_users(self, users: list[str], action: str, target: str | None) -> list[str]:
        ids = {u for u in users if _USER_ID.match(u)}
        wanted = [u for u in users if u not in ids]
        if wanted:
            index: dict[str, str] = {}
            for member in await self._pages(
                "users.list", "members", action=action, target=target, params={"limit": 200}
            ):
                if (
                    not isinstance(member, dict)
                    or member.get("deleted")
                    or not isinstance(member.get("id"), str)
                ):
                    continue
                profile = _obj(member.get("profile"))
                for alias in (member.get("name"), profile.get("email"), profile.get("display_name")):
                    if isinstance(alias, str) and alias:
                        index.setdefault(alias.lower(), member["id"])
            missing = [u for u in wanted if u.lower() not in index]
            if missing:
                raise NotFoundError(
                    f"slack: no active member {', '.join(missing)}",
                    hint="use user ids (U…), emails or @handles",
                    details={"users": missing},
                )
            ids |= {index[u.lower()] for u in wanted}
        return sorted(ids)

    async def observe_channel(self, call: ActionCall) -> State:
        """``{"id", "name", "is_private", "is_archived", "topic"}`` (None if absent).

        For ``invite`` the state also carries ``members`` and ``invitees`` (the users resolved
        to ids); other actions don't depend on membership, so it isn't paged through for them.
        """
        ref = self.channel_ref(call.target)
        channel = await self._find(ref, call.action)
        return await self._state(channel, call, ref) if channel else None

    async def _read_back(self, call: ActionCall, channel_id: str) -> State:
        channel = await self._info(channel_id, call.action, call.target)
        return await self._state(channel, call, call.target) if channel else None

    async def do_channel_create(self, call: ActionCall, before: State) -> State:
        """``conversations.create``; then read the new channel back by its id."""
        name = self.channel_ref(call.target)
        data = await self._api(
            "conversations.create",
            action=call.action,
            target=name,
            data={"name": name, "is_private": "true" if call.params["private"] else "false"},
        )
        channel = _obj(data.get("channel"))
        if isinstance(channel.get("id"), str):
            self._ids[name] = channel["id"]
            return await self._read_back(call, channel["id"])
        return await self.observe_channel(call)

    async def _simple(self, method: str, call: ActionCall, before: State, **extra: str) -> State:
        channel_id = str((before or {})["id"])
        await self._api(method, action=call.action, target=call.target, data={"channel": channel_id, **extra})
        return await self._read_back(call, channel_id)

    async def do_channel_archive(self, call: ActionCall, before: State) -> State:
        """``conversations.archive``."""
        return await self._simple("conversations.archive", call, before)

    async def do_channel_unarchive(self, call: ActionCall, before: State) -> State:
        """``conversations.unarchive``."""
        return await self._simple("conversations.unarchive", call, before)

    async def do_channel_set_topic(self, call: ActionCall, before: State) -> State:
        """``conversations.setTopic`` (an empty topic clears it)."""
        return await self._simple("conversations.setTopic", call, before, topic=call.params["topic"])

    async def do_channel_invite(self, call: ActionCall, before: State) -> State:
        """``conversations.invite`` for the users who aren't members yet (none: nothing is sent)."""
        b = before or {}
        invitees = b.get("invitees") or await self._resolve_users(
            call.params["users"], call.action, call.target
        )
        new = [u for u in invitees if u not in set(b.get("members") or [])]
        if not new:
            return await self._read_back(call, str(b["id"]))
        return await self._simple("conversations.invite", call, before, users=",".join(new))

    # -- planning --------------------------------------------------------------------------
    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse create over an existing channel, changes to a missing one, and no-op archives."""
        ref = self.channel_ref(call.target)
        verb = call.action.rsplit(".", 1)[-1]
        if verb == "create":
            if _CHANNEL_ID.match(ref):
                raise ValidationFailedError(
                    f"slack: {ref} is a channel id; create takes a name",
                    hint="name the new channel, e.g. incident-2231",
                )
            if before is not None:
                archived = " (archived: unarchive it instead)" if before.get("is_archived") else ""
                raise ValidationFailedError(
                    f"slack: #{ref} already exists{archived}", hint="choose another name"
                )
            return
        if before is None:
            raise ValidationFailedError(
                f"slack: no channel #{ref}", hint="`sophia-iac status slack` lists channels"
            )
        if verb == "archive" and before.get("is_archived"):
            raise ValidationFailedError(f"slack: #{ref} is already archived", hint="nothing to do")
        if verb == "unarchive" and not before.get("is_archived"):
            raise ValidationFailedError(f"slack: #{ref} is not archived", hint="nothing to do")

    def predict(self, call: ActionCall, before: State) -> State:
        """Only the fields the call decides (``matches`` compares those)."""
        verb = call.action.rsplit(".", 1)[-1]
        if verb == "create":
            return {
                "name": self.channel_ref(call.target),
                "is_private": call.params["private"],
                "is_archived": False,
                "topic": "",
            }
        b = before or {}
        base = {"id": b.get("id"), "name": b.get("name")}
        if verb in ("archive", "unarchive"):
            return {**base, "is_archived": verb == "archive"}
        if verb == "set_topic":
            return {**base, "topic": call.params["topic"]}
        return {**base, "members": sorted(set(b.get("members") or []) | set(b.get("invitees") or []))}

    # -- public ----------------------------------------------------------------------------
    async def get_status(self) -> PlatformStatus:
        """``auth.test``, every channel as inventory, and the circuit breaker."""
        try:
            who = await self._api("auth.test", action="slack.status", verb="GET")
            channels = await self._all_channels("slack.status", None)
        except SophiaError as exc:
            return PlatformStatus(
                self.name, healthy=False, message=str(exc), details={"circuit": self.breaker.snapshot()}
            )
        inventory = [
            {
                "name": c.get("name"),
                "id": c["id"],
                "is_private": bool(c.get("is_private")),
                "is_archived": bool(c.get("is_archived")),
            }
            for c in channels
            if isinstance(c.get("name"), str)
        ]
        return PlatformStatus(
            self.name,
            healthy=True,
            message=f"workspace {who.get('team') or '?'} as {who.get('user') or '?'}, {len(inventory)} channel(s)",
            inventory={"channel": sorted(inventory, key=lambda c: c["name"])},
            details={"circuit": self.breaker.snapshot(), "team_id": who.get("team_id")},
        )

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify Slack's v0 signature (±300 s of receipt) and report channel changes.

        The delivery id is ``event_id``; deduplicating on it is the inbox's job (durably, across
        processes), so a retry or a replay of a stored delivery is handled again here.
        ``url_verification`` comes back as an event with no changes; the HTTP edge answers its
        ``challenge``. Slash commands and interactive payloads verify the same way (their id is
        ``trigger_id``) and yield no changes here: their text is data for the parser, which the
        Slack surface owns.
        """
        verified = verify_slack(request, webhook_secret("slack"))
        changes = slack_changes(verified.payload)
        return WebhookResult(
            "slack",
            verified.delivery_id,
            verified.event_type,
            changes,
            summary=f"{verified.event_type}: {len(changes)} change(s)",
        )


def _text(value: object, limit: int = 250) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def slack_changes(payload: Mapping[str, Any]) -> list[ObservedChange]:
    """Channel changes in an Events API callback. Only ids, names and the topic are kept."""
    event = _obj(payload.get("event"))
    kind = str(event.get("type") or "")
    channel = event.get("channel")
    actor = _text(event.get("user"))
    if kind in ("channel_created", "group_created", "channel_rename", "group_rename") and isinstance(
        channel, dict
    ):
        name = _text(channel.get("name")) or _text(channel.get("id")) or "?"
        verb = "created" if kind.endswith("created") else "renamed"
        actor = actor or _text(channel.get("creator"))
        return [
            ObservedChange(
                "channel", name, {"id": _text(channel.get("id")), "name": name}, verb=verb, actor=actor
            )
        ]
    channel_id = _text(channel) if isinstance(channel, str) else None
    if channel_id is None:
        return []
    if kind in ("channel_archive", "group_archive", "channel_unarchive", "group_unarchive"):
        archived = kind.endswith("_archive")
        return [
            ObservedChange(
                "channel",
                channel_id,
                {"id": channel_id, "is_archived": archived},
                verb="archived" if archived else "unarchived",
                actor=actor,
            )
        ]
    if kind in ("channel_deleted", "group_deleted"):
        return [ObservedChange("channel", channel_id, None, verb="deleted", actor=actor)]
    if kind in ("member_joined_channel", "member_left_channel"):
        verb = "member_joined" if kind == "member_joined_channel" else "member_left"
        return [
            ObservedChange("channel", channel_id, {"id": channel_id, "user": actor}, verb=verb, actor=actor)
        ]
    if kind == "message" and event.get("subtype") in ("channel_topic", "group_topic"):
        return [
            ObservedChange(
                "channel",
                channel_id,
                {"id": channel_id, "topic": _text(event.get("topic")) or ""},
                verb="topic_changed",
                actor=actor,
            )
        ]
    return []

"""Figma adapter (REST): team webhooks (Webhooks V2) and file metadata.

Configuration: ``SOPHIA_FIGMA_TOKEN`` (or ``…_TOKEN_FILE``), a personal access token sent as
``X-Figma-Token`` with the ``webhooks:write``/``webhooks:read`` and ``file_metadata:read``
scopes; ``SOPHIA_FIGMA_WEBHOOK_SECRET``, the **passcode** every webhook this adapter creates
carries and every delivery must echo (≤ 100 characters, Figma's limit); optional non-secret
``SOPHIA_FIGMA_TEAM_IDS`` (comma-separated) whose webhooks ``sophia-iac status figma`` lists
(Figma has no "list my teams" endpoint); ``SOPHIA_FIGMA_BASE_URL`` for a contract server.

How actions map to the API (all in the published contract, ``figma/rest-api-spec`` 0.37):

======================  ================================================================
webhook.create          ``GET /v2/webhooks?context=team&context_id={team}`` (observe: a hook
                        with the same event type and endpoint), ``POST /v2/webhooks`` with
                        ``context: team``, then ``GET /v2/webhooks/{id}`` (read back)
webhook.delete          ``GET /v2/webhooks/{id}``, ``DELETE /v2/webhooks/{id}``
file.get                ``GET /v1/files/{key}/meta`` (metadata only, not the document tree)
status                  ``GET /v1/me``, ``GET /v2/webhooks?context=team&context_id=…`` per team
======================  ================================================================

A webhook's state is ``{"id", "team_id", "event_type", "endpoint", "status"}``; the passcode is
never part of it (Figma redacts it on reads anyway). Creating refuses a second hook with the same
event type and endpoint on the team, and ``PING`` (Figma sends it on creation; it can't be
subscribed to). Undo: a created hook is deleted; a deleted team hook is recreated from its
before-state: same team, event type and endpoint, a new id, and the passcode configured *now*
(the old one can't be read back). A hook on a project or file context has no team to recreate
it on, so its deletion is irreversible (the inverse is None and the ledger says so).

**Inbound deliveries.** Figma does not sign deliveries: each payload echoes the passcode. It is
compared in constant time (SHA-256 digests through :func:`hmac.compare_digest`, so neither
content nor length leaks); a missing or wrong one is refused with :class:`PasscodeRejectedError`
(HTTP **400**, which Figma documents as "immediately stop the webhook"). The passcode never
reaches a log, an error, the returned payload, the delivery id or the inbox: the stored body
carries a keyed tag in its place that the worker re-checks (see :func:`verify_figma`). Figma
sends no delivery id and signs no time, so there is no freshness window: the dedup key is the
``webhook_id`` plus a digest of the payload without its passcode (a retry resends the same
payload), and deduplicating on it is the inbox's job. ``PING`` is accepted and changes nothing. The other
events are about design content (edits, versions, comments, publishes), not configuration this
adapter manages, so they are reported (event, file key) without resource changes: recording
them as drift would raise an alert for every designer's edit.

**Contract vs live API** (gaps found writing this adapter):

* ``GET /v1/files/{key}/meta``: the contract puts the fields at the top level; the live API
  wraps them in ``{"file": {…}}`` (figma/rest-api-spec issue #92). Both are accepted.
* Webhook ids are strings in the contract and numbers in the live API's docs; they are
  normalised to strings.
* ``team_id`` is deprecated on create in favour of ``context``/``context_id`` and comes back as
  an empty string for project and file hooks; the team is taken from ``context_id`` when
  ``context`` is ``TEAM``. ``context`` is lower-case on create and upper-case on reads.
* ``PUT /v2/webhooks/{id}`` requires a ``team_id`` its own schema does not declare (unused here).
* Error bodies carry ``err`` or ``message`` depending on the operation; the shared client reads
  ``message`` only, so a ``err`` text is not quoted in errors.
* The contract declares no 401 anywhere (Figma answers 403 for a bad token), no 404 on
  ``GET /v2/webhooks`` and no ``Retry-After`` on its 429s (the live API sends one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr

from adapters.base import (
    PlatformStatus,
    State,
    WebhookRejectedError,
    WebhookRequest,
    WebhookResult,
)
from adapters.catalog import ActionCall, Stack
from adapters.credentials import Secret, SecretRef, require_configured, webhook_secret
from adapters.http import HttpAdapter, api_path
from adapters.specs.figma import ACTIONS
from adapters.webhooks import VerifiedWebhook
from orchestrator.errors import ConfigError, NotFoundError, SophiaError, ValidationFailedError

__all__ = [
    "DEFAULT_BASE_URL",
    "STORED_TAG_PREFIX",
    "FigmaAdapter",
    "PasscodeRejectedError",
    "file_key_of",
    "team_of",
    "verify_figma",
]

DEFAULT_BASE_URL = "https://api.figma.com"
PASSCODE_MAX = 100
DESCRIPTION = "managed by sophia-iac"
_TEAM = re.compile(r"^[0-9]{1,32}$")
_TEAM_URL = re.compile(r"/team/([0-9]{1,32})(?:[/?#]|$)")
_HOOK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEY = re.compile(r"^[A-Za-z0-9]{1,128}$")
_FILE_URL = re.compile(
    r"figma\.com/(?:file|design|board|proto|slides|deck|site|make|buzz)/([A-Za-z0-9]{1,128})"
    r"(?:/[^/?#]*/branch/([A-Za-z0-9]{1,128}))?"
)
_PASSCODE = SecretRef("figma", "WEBHOOK_SECRET")


class PasscodeRejectedError(WebhookRejectedError):
    """A Figma delivery with a missing or wrong passcode (or no JSON body): HTTP 400.

    Figma documents 400 as the answer to a wrong passcode; it stops that webhook at once.
    """

    http_status = 400


# -- targets -------------------------------------------------------------------------------


def team_of(target: str | None) -> str:
    """A Figma team id (digits), also taken from a ``…/team/<id>/…`` URL."""
    text = (target or "").strip()
    match = _TEAM_URL.search(text)
    team = match.group(1) if match else text
    if not _TEAM.match(team):
        raise ValidationFailedError(
            f"figma: {target!r} is not a team id",
            hint="a team id is the number in figma.com/files/team/<id>/…",
        )
    return team


def file_key_of(target: str | None) -> str:
    """A file key, also taken from a figma.com file URL (a branch URL gives the branch key)."""
    text = (target or "").strip()
    match = _FILE_URL.search(text)
    key = (match.group(2) or match.group(1)) if match else text
    if not _KEY.match(key):
        raise ValidationFailedError(
            f"figma: {target!r} is not a file key",
            hint="the key is the part after /design/ (or /file/) in the file's URL",
        )
    return key


def _hook_id(target: str | None) -> str:
    text = (target or "").strip()
    if not _HOOK.match(text):
        raise ValidationFailedError(
            f"figma: {target!r} is not a webhook id", hint="`sophia-iac status figma` lists webhook ids"
        )
    return text


# -- vendor data (untrusted: only ids, enums and bounded names are kept) ---------------------


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object, limit: int = 200) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value)[:limit]
    return text or None


def _hook_state(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``{"id", "team_id", "event_type", "endpoint", "status"}`` of a WebhookV2 (no passcode)."""
    context = str(raw.get("context") or "").upper()
    team = _text(raw.get("context_id"), 64) if context == "TEAM" else None
    if not context:  # an answer from before contexts existed
        team = _text(raw.get("team_id"), 64)
    return {
        "id": _text(raw.get("id"), 64),
        "team_id": team,
        "event_type": _text(raw.get("event_type"), 40),
        "endpoint": _text(raw.get("endpoint"), 2048),
        "status": _text(raw.get("status"), 20),
    }


def _file_state(key: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    meta = _obj(raw.get("file")) or dict(raw)  # the live API wraps the fields in "file"
    return {
        "file_key": key,
        "name": _text(meta.get("name")),
        "folder_name": _text(meta.get("folder_name")),
        "editor_type": _text(meta.get("editorType") or meta.get("editor_type"), 20),
        "last_touched_at": _text(meta.get("last_touched_at"), 40),
        "version": _text(meta.get("version"), 40),
    }


def _hooks(data: Any) -> list[dict[str, Any]]:
    items = _obj(data).get("webhooks")
    return [h for h in items if isinstance(h, dict)] if isinstance(items, list) else []


# -- inbound deliveries --------------------------------------------------------------------


def _reveal(secret: Secret | SecretStr | str) -> str:
    if isinstance(secret, Secret):
        return secret.reveal()
    if isinstance(secret, SecretStr):
        return secret.get_secret_value()
    return secret


def _reject(why: str) -> PasscodeRejectedError:
    return PasscodeRejectedError(
        f"figma webhook rejected: {why}",
        hint="only deliveries carrying the passcode in SOPHIA_FIGMA_WEBHOOK_SECRET are accepted",
        details={"platform": "figma"},
    )


#: Prefix of the tag that stands in for the passcode in stored bodies (never a real passcode).
STORED_TAG_PREFIX = "verified:"
_TAG_CONTEXT = b"sophia-iac figma inbox\n"


def _stored_tag(passcode: str, canonical: str) -> str:
    """HMAC-SHA256(passcode, context + canonical payload): proves the check without the passcode.

    Bound to the payload, so a tag read out of the database verifies that one payload only.
    """
    mac = hmac.new(passcode.encode(), _TAG_CONTEXT + canonical.encode(), hashlib.sha256)
    return STORED_TAG_PREFIX + mac.hexdigest()


def verify_figma(
    request: WebhookRequest, secret: Secret | SecretStr | str, *, accept_stored: bool = False
) -> VerifiedWebhook:
    """Check a delivery's echoed ``passcode`` against ``secret``; return it without the passcode.

    The result's ``stored_body`` is the payload with the passcode replaced by a tag keyed with
    it (:data:`STORED_TAG_PREFIX` + HMAC over the payload), so the inbox never stores the
    passcode. With ``accept_stored`` (the worker, which reads bodies back from the inbox, and
    dead-letter replays) such a tag is accepted in place of the passcode; the edge never
    accepts one. A tag is computed from the passcode configured *now*: after a rotation,
    events stored earlier fail re-verification and go to the dead letters, as a rotated
    signing secret does for the signed senders.

    Raises:
        PasscodeRejectedError: (400) the body is not a JSON object, or the passcode (or stored
            tag) is missing or wrong. The message never contains either passcode.
        WebhookRejectedError: the configured passcode is empty.
    """
    expected = _reveal(secret)
    if not expected:
        raise WebhookRejectedError("figma webhook passcode is empty", hint=f"set {_PASSCODE.env_var}")
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise _reject("body is not JSON") from None
    if not isinstance(payload, dict):
        raise _reject("body is not a JSON object")
    given = payload.pop("passcode", None)
    if not isinstance(given, str) or not given:
        raise _reject("no passcode in the payload")
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    tag = _stored_tag(expected, canonical)
    same = hmac.compare_digest(
        hashlib.sha256(expected.encode()).digest(), hashlib.sha256(given.encode()).digest()
    )
    if not same and accept_stored and given.startswith(STORED_TAG_PREFIX):
        if not hmac.compare_digest(tag.encode(), given.encode()):
            raise _reject("stored verification tag does not match the configured passcode")
        same = True
    if not same:
        raise _reject("passcode mismatch")
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    webhook = _text(payload.get("webhook_id"), 64) or "unknown"
    event = _text(payload.get("event_type"), 40) or "UNKNOWN"
    stored = json.dumps({**payload, "passcode": tag}, ensure_ascii=False).encode()
    return VerifiedWebhook("figma", f"{webhook}:{digest}", event, payload, stored_body=stored)


# -- the adapter -----------------------------------------------------------------------------


class FigmaAdapter(HttpAdapter):
    """Figma team webhooks and file metadata."""

    name: ClassVar[str] = "figma"
    display_name: ClassVar[str] = "Figma"
    stack: ClassVar[Stack] = Stack.DEV
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("webhook", "file")
    supports_webhooks: ClassVar[bool] = True
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL

    @staticmethod
    def team_ids() -> list[str]:
        """The teams ``status`` lists webhooks for (``SOPHIA_FIGMA_TEAM_IDS``)."""
        raw = os.environ.get("SOPHIA_FIGMA_TEAM_IDS", "")
        return [team_of(t) for t in raw.replace(";", ",").split(",") if t.strip()]

    @staticmethod
    def passcode() -> str:
        """The passcode new webhooks carry (resolved at the call; registered with the scrubber).

        Raises:
            ConfigError: not configured, or longer than Figma's 100 characters.
        """
        value = webhook_secret("figma").reveal()
        if len(value) > PASSCODE_MAX:
            raise ConfigError(
                f"figma: the webhook passcode is longer than {PASSCODE_MAX} characters",
                hint=f"set {_PASSCODE.env_var} to at most {PASSCODE_MAX} characters",
            )
        return value

    # -- reads -----------------------------------------------------------------------------

    async def _team_hooks(self, team: str, action: str) -> list[dict[str, Any]]:
        # With context/context_id the list is complete: Figma paginates only plan-wide lists.
        reply = await self.http.request(
            "GET", "/v2/webhooks", action=action, target=team,
            params={"context": "team", "context_id": team},
        )
        return _hooks(reply.data)

    async def _hook(self, hook_id: str, action: str) -> State:
        reply = await self.http.request(
            "GET", api_path("/v2/webhooks/{webhook_id}", webhook_id=hook_id), action=action, target=hook_id,
            not_found_ok=True,
        )
        return _hook_state(_obj(reply.data)) if reply.status != 404 else None

    async def observe_webhook(self, call: ActionCall) -> State:
        """The hook named by the target (delete), or the team's hook the create would duplicate."""
        if call.action == "figma.webhook.delete":
            return await self._hook(_hook_id(call.target), call.action)
        team = team_of(call.target)
        for raw in await self._team_hooks(team, call.action):
            state = _hook_state(raw)
            if (state["event_type"], state["endpoint"]) == (call.params["event_type"], call.params["endpoint"]):
                return state
        return None

    async def observe_file(self, call: ActionCall) -> State:
        """``{"file_key", "name", "folder_name", "editor_type", "last_touched_at", "version"}``."""
        key = file_key_of(call.target)
        reply = await self.http.request(
            "GET", api_path("/v1/files/{file_key}/meta", file_key=key), action=call.action, target=key,
            not_found_ok=True,
        )
        return _file_state(key, _obj(reply.data)) if reply.status != 404 else None

    # -- planning --------------------------------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse duplicates, PING subscriptions, missing passcodes and absent targets."""
        p = call.params
        if call.action == "figma.webhook.create":
            team = team_of(call.target)
            if p["event_type"] == "PING":
                raise ValidationFailedError(
                    "figma: PING can't be subscribed to (every webhook receives it on creation)",
                    hint="pick FILE_UPDATE, FILE_VERSION_UPDATE, FILE_DELETE, LIBRARY_PUBLISH, FILE_COMMENT"
                    " or DEV_MODE_STATUS_UPDATE",
                )
            require_configured(_PASSCODE)  # fail at plan time, not after an approval
            if before is not None:
                raise ValidationFailedError(
                    f"figma team {team} already has a {p['event_type']} webhook to {p['endpoint']}"
                    f" (id {before.get('id')})",
                    hint="delete it first or use another endpoint",
                )
        elif before is None:
            what = "webhook" if call.action == "figma.webhook.delete" else "file"
            raise NotFoundError(
                f"figma: {what} {call.target} not found ({call.action})",
                hint="check the id; `sophia-iac status figma` lists webhooks of SOPHIA_FIGMA_TEAM_IDS",
            )

    def predict(self, call: ActionCall, before: State) -> State:
        """The state ``call`` should leave (a read leaves the file as it was)."""
        if call.action == "figma.webhook.create":
            return {
                "team_id": team_of(call.target),
                "event_type": call.params["event_type"],
                "endpoint": call.params["endpoint"],
                "status": "ACTIVE",
            }
        if call.action == "figma.webhook.delete":
            return None
        return {"file_key": file_key_of(call.target)}

    # -- changes ---------------------------------------------------------------------------

    async def do_webhook_create(self, call: ActionCall, before: State) -> State:
        """``POST /v2/webhooks`` on the team context, then read the new hook back."""
        team = team_of(call.target)
        body = {
            "event_type": call.params["event_type"],
            "context": "team",
            "context_id": team,
            "endpoint": call.params["endpoint"],
            "passcode": self.passcode(),
            "description": DESCRIPTION,
        }
        reply = await self.http.request("POST", "/v2/webhooks", action=call.action, target=team, json=body)
        new_id = _text(_obj(reply.data).get("id"), 64)
        if new_id and _HOOK.match(new_id):
            return await self._hook(new_id, call.action)
        return await self.observe_webhook(call)

    async def do_webhook_delete(self, call: ActionCall, before: State) -> State:
        """``DELETE /v2/webhooks/{id}``; the read-back is None once it is gone."""
        hook = _hook_id(call.target)
        await self.http.request(
            "DELETE", api_path("/v2/webhooks/{webhook_id}", webhook_id=hook), action=call.action, target=hook
        )
        return await self._hook(hook, call.action)

    async def do_file_get(self, call: ActionCall, before: State) -> State:
        """A read: the file's metadata now."""
        return await self.observe_file(call)

    # -- status ----------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Token check (``/v1/me``) and the webhooks of ``SOPHIA_FIGMA_TEAM_IDS`` as inventory."""
        try:
            teams = self.team_ids()
            me = await self.http.request("GET", "/v1/me", action="figma.status")
            hooks: list[dict[str, Any]] = []
            for team in teams:
                for raw in await self._team_hooks(team, "figma.status"):
                    state = _hook_state(raw)
                    if state["id"]:
                        hooks.append({"name": state["id"], **state, "team_id": state["team_id"] or team})
        except SophiaError as exc:
            return self.failed_status(exc)
        handle = _text(_obj(me.data).get("handle"), 100) or "?"
        listed = f"{len(hooks)} webhook(s) on {len(teams)} team(s)" if teams else (
            "set SOPHIA_FIGMA_TEAM_IDS to list webhooks"
        )
        return PlatformStatus(
            self.name,
            healthy=True,
            message=f"signed in as {handle}; {listed}",
            inventory={"webhook": hooks},
            details={"circuit": self.breaker.snapshot(), "teams": teams},
        )

    # -- inbound ---------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, request: WebhookRequest) -> VerifiedWebhook:
        """The edge's check (:func:`orchestrator.inbox.verify_delivery`): the echoed passcode."""
        return verify_figma(request, webhook_secret("figma"))

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify the passcode and report the event; no Figma event changes managed state."""
        try:
            secret = webhook_secret("figma")
        except ConfigError as exc:
            raise WebhookRejectedError(
                "figma webhooks can't be verified: no passcode configured", hint=exc.hint
            ) from None
        hook = verify_figma(request, secret, accept_stored=True)
        payload = hook.payload
        file_key = _text(payload.get("file_key"), 128)
        if hook.event_type == "PING" or not file_key:
            summary = f"{hook.event_type} from webhook {_text(payload.get('webhook_id'), 64) or '?'}"
        else:
            summary = f"{hook.event_type} on file {file_key}"
        return WebhookResult("figma", hook.delivery_id, hook.event_type, [], summary)

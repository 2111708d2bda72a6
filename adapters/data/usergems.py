"""UserGems adapter: start or stop tracking a contact for job changes (REST API v1).

Configuration: an API key in ``SOPHIA_USERGEMS_TOKEN`` (or ``…_TOKEN_FILE``, or the secret
manager's ``usergems/token``; UserGems support issues it), sent as ``X-Api-Key``.
``SOPHIA_USERGEMS_BASE_URL`` overrides ``https://api.usergems.com/v1`` (tests: a contract
server's host root).

UserGems' API ONLY ACCEPTS WRITES (add or delete a contact or an account): nothing can be read
back, so this adapter declares ``read_back = False`` and nothing it records is verified:

* a target is the contact's email, validated (one address, lower-cased) before anything is
  sent; anything else is refused as untrusted input;
* ``observe`` asks nothing: the state is ``{"email", "tracked": None}``, None meaning "not
  known" (UserGems can't be asked);
* ``contact.track`` → ``POST /contact`` with ``{"email"}``; ``contact.untrack`` → ``DELETE
  /contact?email=…``. Each is the other's inverse. ``execute`` returns UserGems' answer, not a
  state (``{"email", "acknowledged": <its message>}``): UserGems confirms only that the request
  was queued. The ledger records such a change ``applied`` with ``verified`` False
  ("unverified" in ``history``); a lost answer stays ``needs_reconcile`` (no reconciler can
  settle it); an undo never marks anything ``rolled_back`` (see :mod:`orchestrator.settle`);
* ``get_status`` makes no request: its inventory is WHAT SOPHIA ITSELF RECORDED (the newest
  accepted track/untrack per email in the ledger, and those whose outcome is not known), and its
  message says so. It is healthy when the key is configured; the key itself is not checked (the
  only way would be a write).

Errors (``{"message"}``): 401/403 → :class:`~adapters.http.PlatformAuthError` naming
``SOPHIA_USERGEMS_TOKEN``; 400 carries UserGems' message; 429 is retried by the shared client (no
``Retry-After`` is documented: jittered backoff); 5xx and timeouts are retried for the DELETE
only (the POST takes no idempotency key, so it is never repeated by itself).

The contract this is tested against is WRITTEN BY HAND (``tests/contract/fixtures/usergems``,
citing UserGems' API reference, of which no machine-readable form is published by UserGems).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.http import HttpAdapter
from adapters.specs import _fields
from adapters.specs.usergems import ACTIONS
from orchestrator.errors import SophiaError, ValidationFailedError

__all__ = ["DEFAULT_BASE_URL", "TRACK", "UNTRACK", "UserGemsAdapter", "contact_email", "recorded_contacts"]

DEFAULT_BASE_URL = "https://api.usergems.com/v1"
TRACK, UNTRACK = "usergems.contact.track", "usergems.contact.untrack"
#: Most ledger rows read for the status inventory (newest first).
LEDGER_LIMIT = 10_000


def contact_email(target: str | None, action: str = "usergems") -> str:
    """The target as one validated, lower-cased email address, or a refusal sent nowhere.

    Raises:
        ValidationFailedError: not an email address (``outcome`` unsent).
    """
    try:
        return _fields.email(target if isinstance(target, str) else "")
    except ValueError:
        shown = str(target)[:60]
        raise ValidationFailedError(
            f"{action}: {shown!r} is not an email address",
            hint="name the contact by one email address, e.g. jane.doe@acme.com",
            details={"field": "target", "outcome": "unsent"},
        ) from None


def _message(data: object) -> str:
    """UserGems' confirmation text (untrusted: a short plain string, or empty)."""
    text = data.get("message") if isinstance(data, dict) else None
    return " ".join(str(text).split())[:120] if isinstance(text, str) else ""


def recorded_contacts(url: str, limit: int = LEDGER_LIMIT) -> list[dict[str, Any]]:
    """Contacts sophia recorded as tracked (or whose outcome is unknown), from the ledger at ``url``.

    Per email, the newest track/untrack change that was not ``failed`` decides: an ``applied``
    track lists it (``tracked`` True), an ``applied`` untrack does not, a ``pending`` or
    ``needs_reconcile`` one lists it with ``tracked`` None (not known). Nothing is verified.
    """
    from state.reader import sqlite_path
    from state.store import Store

    path = sqlite_path(url)
    if path is not None and not path.exists():
        return []  # no ledger yet: nothing recorded (and nothing created just to say so)
    store = Store(url)
    try:
        changes = store.ledger.list(platform="usergems", limit=limit)
    finally:
        store.dispose()
    seen: dict[str, dict[str, Any]] = {}
    for change in changes:  # newest first
        if change.action not in (TRACK, UNTRACK) or change.status == "failed":
            continue
        try:
            email = contact_email(change.target)
        except ValidationFailedError:
            continue
        if email in seen:
            continue
        known = change.status == "applied"
        seen[email] = {
            "name": email,
            "email": email,
            "tracked": (change.action == TRACK) if known else None,
            "verified": False,
            "status": change.status,
            "change_id": change.id,
            "recorded_at": change.created_at.isoformat(),
        }
    return [item for item in seen.values() if item["tracked"] is not False]


class UserGemsAdapter(HttpAdapter):
    """UserGems contacts (track, untrack). No read-back: see the module doc."""

    name: ClassVar[str] = "usergems"
    display_name: ClassVar[str] = "UserGems"
    stack: ClassVar[Stack] = Stack.DATA
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("contact",)
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True
    read_back: ClassVar[bool] = False

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    async def observe_contact(self, call: ActionCall) -> State:
        """``{"email", "tracked": None}``: the address, validated; whether it is tracked is not known."""
        return {"email": contact_email(call.target, call.action), "tracked": None}

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse a target that is not an email address (nothing else can be checked)."""
        contact_email(call.target, call.action)

    def predict(self, call: ActionCall, before: State) -> State:
        """The contact tracked (track) or not (untrack); never read back."""
        return {"email": contact_email(call.target, call.action), "tracked": call.action == TRACK}

    async def do_contact_track(self, call: ActionCall, before: State) -> State:
        """``POST /contact`` with the email; returns UserGems' acknowledgement (not a state)."""
        email = contact_email(call.target, call.action)
        reply = await self.http.request(
            "POST", "/contact", action=call.action, target=email, json={"email": email}
        )
        return {"email": email, "acknowledged": _message(reply.data)}

    async def do_contact_untrack(self, call: ActionCall, before: State) -> State:
        """``DELETE /contact?email=…``; returns UserGems' acknowledgement (not a state)."""
        email = contact_email(call.target, call.action)
        reply = await self.http.request(
            "DELETE", "/contact", action=call.action, target=email, params={"email": email}
        )
        return {"email": email, "acknowledged": _message(reply.data)}

    async def get_status(self) -> PlatformStatus:
        """What sophia recorded (no request is made: UserGems can't be read); healthy if configured."""
        try:
            self.auth_headers()  # the key is configured (it can't be checked without a write)
        except SophiaError as exc:
            return self.failed_status(exc)
        try:
            contacts = await asyncio.to_thread(recorded_contacts, self.settings.state_url)
        except Exception as exc:  # noqa: BLE001 - the ledger, not UserGems, could not be read
            return PlatformStatus(
                "usergems",
                healthy=False,
                message=f"sophia's ledger could not be read: {exc}",
                details={"source": "sophia's ledger", "verified": False},
            )
        unknown = sum(1 for c in contacts if c["tracked"] is None)
        message = (
            f"{len(contacts) - unknown} contact(s) tracked as sophia itself recorded it"
            + (f", {unknown} more with an outcome not known" if unknown else "")
            + ". UserGems has no read API: this is sophia's own ledger, not UserGems' list, and none of it"
            " is verified"
        )
        return PlatformStatus(
            "usergems",
            healthy=True,
            message=message,
            inventory={"contact": contacts},
            details={
                "source": "sophia's ledger",
                "verified": False,
                "credential_checked": False,
                "base_url": self.http.base_url,
                "circuit": self.http.breaker.snapshot(),
            },
        )

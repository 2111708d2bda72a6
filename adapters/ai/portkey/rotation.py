"""``portkey.api_key.rotate`` as a verified transaction.

1. clone the key (same type, workspace, scopes, limits, defaults; description tagged
   ``[rotated from <old id>]``) with ``POST /api-keys/{type}/{sub-type}``;
2. verify the new value against the gateway: ``GET /models?limit=1`` authenticated with it
   (retried once after a pause, in case the key takes a moment to propagate);
3. hand the value to the :class:`~adapters.ai.keydrop.SecretDrop`;
4. disable the old key.

Any failure before 4 completes disables the new key instead, keeps the old one, and raises
:class:`KeyRotationError` with the story (ids, which key is active, why) in its message and
``details["rotation"]``; on success the after-state carries the same story under
``rotation``. If disabling the old key fails, its state is read again: already disabled (a
lost answer) counts as done; still active rolls back; unreadable is reported as incomplete,
both keys possibly active, and the new value is kept so nothing is lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from adapters.base import State
from adapters.catalog import ActionCall
from adapters.credentials import SCRUBBER
from adapters.http import api_path
from orchestrator.errors import AdapterError, NotFoundError, SophiaError

from .state import ROTATED, iso, key_state, now, when

if TYPE_CHECKING:
    from .adapter import PortkeyAdapter

__all__ = ["DEFAULT_SCOPES", "VERIFY_ATTEMPTS", "VERIFY_PAUSE_SECONDS", "KeyRotationError", "rotate"]

DEFAULT_SCOPES = ("completions.write",)
VERIFY_ATTEMPTS = 2
VERIFY_PAUSE_SECONDS = 2.0
_KEY_TYPES = {
    "organisation-service": ("organisation", "service"),
    "workspace-service": ("workspace", "service"),
    "workspace-user": ("workspace", "user"),
}
#: ApiKeyObject fields a rotated key inherits (create accepts them back as they are read).
_CLONED = ("scopes", "workspace_id", "rate_limits", "usage_limits", "defaults", "alert_emails")


class KeyRotationError(AdapterError):
    """A rotation was rolled back (or could only partly be): ``details`` say which key is active."""

    code = "key_rotation_failed"


async def rotate(adapter: PortkeyAdapter, call: ActionCall, before: dict[str, Any]) -> State:
    """Create → verify → hand over → disable the old key; roll back to the old key on any failure."""
    old = await adapter.key_record(before["id"], call.action)
    if old is None:
        raise NotFoundError(
            f"portkey: API key {call.target!r} not found ({call.action})",
            hint="check the name; `sophia-iac status portkey` lists the keys",
        )
    old_id = str(old["id"])
    scope, sub = _KEY_TYPES.get(str(old.get("type")), ("organisation", "service"))
    description = ROTATED.sub("", str(old.get("description") or "")).strip()
    body: dict[str, Any] = {
        "name": old.get("name") or call.target,
        "description": f"{description} [rotated from {old_id}]".strip(),
    }
    body.update({k: old[k] for k in _CLONED if old.get(k) not in (None, [], {})})
    body.setdefault("scopes", list(DEFAULT_SCOPES))
    if sub == "user" and old.get("user_id"):
        body["user_id"] = old["user_id"]
    expires = when(old.get("expires_at"))
    if expires is not None and expires > now():
        body["expires_at"] = iso(expires)
    reply = await adapter.http.request(
        "POST",
        api_path("/api-keys/{type}/{sub_type}", type=scope, sub_type=sub),
        action=call.action,
        target=call.target,
        json=body,
    )
    new_id, value = adapter.minted(reply, call)
    story: dict[str, Any] = {"old_key_id": old_id, "new_key_id": new_id, "verified": False}

    refused = await _verify(adapter, value, call)
    if refused is not None:
        await _roll_back(adapter, call, story, f"the new key failed verification: {refused}", None)
    story["verified"] = True
    try:
        ref = adapter.drop.put("portkey", str(body["name"]), new_id, value)
    except OSError as exc:
        await _roll_back(
            adapter, call, story, f"the new key's value could not be stored ({exc.strerror or exc})", None
        )
    finally:
        del value
    not_disabled = await _disable_quietly(adapter, old_id, call)
    if not_disabled is not None:
        await _settle_old_key(adapter, call, story, not_disabled, ref)
    story.update(outcome="rotated", active_key_id=new_id, old_key_status="disabled", secret_ref=ref)
    after = await adapter.observe_api_key(call)
    return {**(after or {"name": call.target, "status": None}), "rotation": story}


async def _verify(adapter: PortkeyAdapter, value: str, call: ActionCall) -> str | None:
    """None if the gateway accepts ``value``; otherwise why not (no key material in it)."""
    reason = "not attempted"
    for attempt in range(1, VERIFY_ATTEMPTS + 1):
        try:
            await adapter.http.request(
                "GET",
                "/models",
                action=f"{call.action} (verify the new key)",
                target=call.target,
                params={"limit": 1},
                headers={"x-portkey-api-key": value},
            )
            return None
        except SophiaError as exc:
            status = exc.details.get("status")
            reason = f"the gateway refused it (HTTP {status})" if status else SCRUBBER.scrub(exc.message)
        if attempt < VERIFY_ATTEMPTS:
            await adapter.pause(VERIFY_PAUSE_SECONDS * attempt)
    return reason


async def _disable_quietly(adapter: PortkeyAdapter, key_id: str, call: ActionCall) -> str | None:
    """Disable ``key_id``; None on success, else the reason (for the rollback story)."""
    try:
        await adapter.set_expiry(key_id, iso(now()), call)
    except SophiaError as exc:
        return SCRUBBER.scrub(exc.message)
    return None


async def _settle_old_key(
    adapter: PortkeyAdapter, call: ActionCall, story: dict[str, Any], problem: str, ref: str | None
) -> None:
    """Disabling the old key failed: done anyway (a lost answer), roll back, or report both active."""
    try:
        old = await adapter.key_record(story["old_key_id"], call.action)
    except SophiaError:
        old = None
    if old is not None and key_state(old)["status"] == "disabled":
        return  # the change went through; only its answer was lost
    if old is not None:
        await _roll_back(adapter, call, story, f"the old key could not be disabled: {problem}", ref)
    story.update(
        outcome="incomplete", active_key_id=None, new_key_status="active", secret_ref=ref, reason=problem
    )
    raise KeyRotationError(
        f"portkey: rotation of key {call.target!r} is incomplete: the new key {story['new_key_id']} works,"
        f" but disabling the old key {story['old_key_id']} failed ({problem}) and its state can't be"
        " read; both may be active",
        hint=f"check key {story['old_key_id']} in Portkey and disable it; the new key's value is at {ref}",
        details={"platform": "portkey", "action": call.action, "target": call.target, "rotation": story},
    )


async def _roll_back(
    adapter: PortkeyAdapter, call: ActionCall, story: dict[str, Any], problem: str, ref: str | None
) -> NoReturn:
    """Disable the new key, keep the old one, and raise the story."""
    new_id, old_id = story["new_key_id"], story["old_key_id"]
    failed = await _disable_quietly(adapter, new_id, call)
    if failed is None:
        adapter.drop.discard(ref)
        ref = None
    story.update(
        outcome="rolled_back",
        active_key_id=old_id,
        reason=problem,
        secret_ref=ref,
        new_key_status="disabled" if failed is None else "active",
    )
    if failed is None:
        message = (
            f"portkey: rotation of key {call.target!r} rolled back: {problem}; the new key {new_id} was"
            f" disabled and key {old_id} is still the active key"
        )
        hint = "nothing changed for clients of the old key; fix the cause and rotate again"
    else:
        message = (
            f"portkey: rotation of key {call.target!r} failed: {problem}; disabling the new key {new_id}"
            f" also failed ({failed}), so keys {old_id} and {new_id} are both active"
        )
        hint = f"disable key {new_id} in Portkey (`disable the portkey key {new_id}`)"
    raise KeyRotationError(
        message,
        hint=hint,
        details={"platform": "portkey", "action": call.action, "target": call.target, "rotation": story},
    )

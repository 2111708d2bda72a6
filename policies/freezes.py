"""Change freezes: start and lift them, kept in the store and recorded in the ledger.

A freeze is stored in the ``freezes`` table (which the policy engine reads) and recorded as a
change record on the control platform ``sophia`` (``sophia.freeze.start`` /
``sophia.freeze.lift``, target = the environment), so it is in the hash-chained ledger and in
``history`` like any other change. Anyone but a viewer may freeze; lifting takes an approver
or an admin.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.errors import NotFoundError, PolicyDeniedError, ValidationFailedError
from policies.identity import IdentityDirectory, may_freeze, may_unfreeze
from policies.timeparse import FOREVER, parse_until

if TYPE_CHECKING:
    from state.store import Store

__all__ = ["LEDGER_PLATFORM", "lift_freeze", "start_freeze"]

#: The platform name freeze records carry in the ledger (never a real adapter).
LEDGER_PLATFORM = "sophia"
_ENV = re.compile(r"^(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,62})$")


def _check_env(env: str) -> str:
    env = (env or "").strip()
    if not _ENV.match(env):
        raise ValidationFailedError(f"{env!r} is not an environment name", hint="e.g. prod, staging, dev, or * for all")
    return env


def _record(store: Store, *, run_id: str, action: str, env: str, params: dict[str, Any], after: dict[str, Any],
            actor: str) -> dict[str, Any]:
    from state.models import ChangeRecord, ChangeStatus
    from state.store import new_id

    change = store.ledger.open(ChangeRecord(
        id=new_id("chg"), run_id=run_id, seq=1, platform=LEDGER_PLATFORM, action=action, target=env,
        environment=env, params=params, before=None, expected=after, reversible=False, risk="change", actor=actor,
    ))
    done = store.ledger.transition(change.id, ChangeStatus.APPLIED, after=after)
    return done.model_dump(mode="json", exclude={"prev_hash", "hash"})


def start_freeze(store: Store, identities: IdentityDirectory, *, env: str, until: str | None, reason: str | None,
                 actor: str, run_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Freeze ``env`` until ``until`` (text: ``18:00``, ``friday``, ``2h``…; none: until lifted).

    Returns:
        The ledger's change record for the freeze (JSON form).

    Raises:
        PolicyDeniedError: a viewer tried to freeze.
        ValidationFailedError: a bad environment name or time.
    """
    env = _check_env(env)
    who = identities.resolve(actor)
    if not may_freeze(r.value for r in who.roles):
        raise PolicyDeniedError(f"{who.id} may not freeze environments (roles: {', '.join(who.roles)})",
                                hint="ask an operator, approver or admin")
    try:
        end = parse_until(until, now)
    except ValueError as exc:
        raise ValidationFailedError(str(exc), hint="e.g. --until 18:00, --until friday, --until 2h") from exc
    text = (reason or "").strip()[:500]
    store.add_freeze(env, end, text, actor)
    shown = None if end == FOREVER else end.isoformat()
    return _record(store, run_id=run_id, action=f"{LEDGER_PLATFORM}.freeze.start", env=env,
                   params={"until": shown, "reason": text}, after={"frozen": True, "until": shown, "reason": text},
                   actor=actor)


def lift_freeze(store: Store, identities: IdentityDirectory, *, env: str, actor: str, run_id: str) -> dict[str, Any]:
    """Lift every active freeze on ``env``.

    Raises:
        PolicyDeniedError: the actor is neither an approver nor an admin.
        NotFoundError: nothing is frozen there.
    """
    env = _check_env(env)
    who = identities.resolve(actor)
    if not may_unfreeze(r.value for r in who.roles):
        raise PolicyDeniedError(f"{who.id} may not lift a freeze (roles: {', '.join(who.roles)})",
                                hint="ask an approver or an admin")
    lifted = store.lift_freezes(env, actor)
    if not lifted:
        active = sorted({f.environment for f in store.active_freezes()})
        raise NotFoundError(f"{env} is not frozen",
                            hint=f"frozen now: {', '.join(active)}" if active else "nothing is frozen")
    return _record(store, run_id=run_id, action=f"{LEDGER_PLATFORM}.freeze.lift", env=env, params={},
                   after={"frozen": False, "lifted": lifted, "at": datetime.now(UTC).isoformat()}, actor=actor)

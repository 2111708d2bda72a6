"""Who may call the surfaces: hashed API keys and Slack users, each an identity with a role.

Roles are ordered; each includes the ones before it:

=========  ==========================================================================
viewer     read runs, changes, status, the catalog
operator   + submit commands, undo changes, revert drift
approver   + approve, reject or request changes on runs awaiting approval
admin      + everything (reserved for key and user administration)
=========  ==========================================================================

An API key is shown once, when it is created; only its SHA-256 is stored (keys are 256-bit
random tokens, so an unsalted hash is enough and makes lookup one indexed read).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import col, select

from orchestrator.errors import NotFoundError, ValidationFailedError
from state.models import ApiKey, SlackUser, utcnow
from state.store import Store, new_id

__all__ = [
    "ANY_TEAM",
    "API_ACTOR",
    "KEY_PREFIX",
    "ROLES",
    "SLACK_ACTOR",
    "ApiKeys",
    "Identity",
    "SlackUsers",
    "check_role",
    "hash_key",
    "registered",
    "registered_actors",
    "role_allows",
]

ROLES: tuple[str, ...] = ("viewer", "operator", "approver", "admin")
KEY_PREFIX = "sophia_"
#: A Slack mapping with this team id applies in every workspace (single-workspace installs).
ANY_TEAM = "*"
#: How runs record who asked: ``api:<key name>``, ``slack:<user id>`` (beside ``cli:<user>``).
API_ACTOR = "api:"
SLACK_ACTOR = "slack:"


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: the actor name runs are recorded under, its role and how it came."""

    name: str
    role: str
    via: str = "api"
    key_id: str | None = None
    actor: str = ""

    def allows(self, needed: str) -> bool:
        """Whether this identity's role includes ``needed``."""
        return role_allows(self.role, needed)


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else a validation error naming them."""
    if role not in ROLES:
        raise ValidationFailedError(f"unknown role {role!r}", hint=f"use one of: {', '.join(ROLES)}",
                                    details={"field": "role"})
    return role


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` includes ``needed`` (roles are ordered; unknown roles allow nothing)."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


def hash_key(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise ValidationFailedError(f"invalid identity name {name!r}",
                                    hint="use 1-100 characters without spaces, e.g. alice or ci-bot",
                                    details={"field": "name"})
    return name


class ApiKeys:
    """Create, list, revoke and authenticate API keys."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, *, name: str, role: str, created_by: str = "") -> tuple[ApiKey, str]:
        """A new key for identity ``name``: returns the row and the key itself (shown only now)."""
        name, role = _check_name(name), check_role(role)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(id=new_id("key"), name=name, role=role, key_hash=hash_key(key), prefix=key[:12],
                     created_by=created_by)
        with self.store.session() as s:
            s.add(row)
        return row, key

    def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        """Keys, newest first."""
        with self.store.session() as s:
            q = select(ApiKey).order_by(col(ApiKey.created_at).desc())
            if not include_revoked:
                q = q.where(col(ApiKey.revoked_at).is_(None))
            return list(s.exec(q).all())

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by id (idempotent: revoking twice keeps the first time)."""
        with self.store.session() as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                raise NotFoundError(f"no API key {key_id}", hint="list keys with `sophia-iac keys list`")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                s.add(row)
            return row

    def authenticate(self, key: str) -> Identity | None:
        """The identity for a presented key, or None if it is unknown or revoked."""
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        with self.store.session() as s:
            row = s.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
            if row is None or row.revoked_at is not None:
                return None
            now = utcnow()
            # Touch at most once a minute: a busy key must not write on every request.
            if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
                row.last_used_at = now
                s.add(row)
            return Identity(name=row.name, role=row.role, via="api", key_id=row.id, actor=API_ACTOR + row.name)


class SlackUsers:
    """Slack user ids (per workspace) mapped to identities; unmapped users may do nothing."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def link(self, *, team_id: str, user_id: str, identity: str, role: str) -> SlackUser:
        """Map a Slack user to an identity with a role (replaces an existing mapping)."""
        identity, role = _check_name(identity), check_role(role)
        with self.store.session() as s:
            row = s.get(SlackUser, (team_id, user_id))
            if row is None:
                row = SlackUser(team_id=team_id, user_id=user_id, identity=identity, role=role)
            row.identity, row.role = identity, role
            s.add(row)
        return row

    def unlink(self, *, team_id: str, user_id: str) -> bool:
        """Remove a mapping; False if there was none."""
        with self.store.session() as s:
            row = s.get(SlackUser, (team_id, user_id))
            if row is None:
                return False
            s.delete(row)
            return True

    def list(self) -> list[SlackUser]:
        """Every mapping."""
        with self.store.session() as s:
            return list(s.exec(select(SlackUser).order_by(col(SlackUser.identity))).all())

    def lookup(self, team_id: str, user_id: str) -> Identity | None:
        """The identity of a Slack user, or None when unmapped."""
        with self.store.session() as s:
            row = s.get(SlackUser, (team_id, user_id)) or s.get(SlackUser, (ANY_TEAM, user_id))
        if row is None:
            return None
        return Identity(name=row.identity, role=row.role, via="slack", actor=SLACK_ACTOR + user_id)


def registered(store: Store, actor: str) -> Identity | None:
    """The identity an ``api:<name>`` or ``slack:<user>`` actor was registered with, if any.

    An API actor is its key name (the role of its most privileged active key); a Slack actor
    is the identity its user id is linked to (in any workspace).
    """
    if actor.startswith(API_ACTOR):
        name = actor[len(API_ACTOR):]
        with store.session() as s:
            rows = s.exec(select(ApiKey).where(ApiKey.name == name, col(ApiKey.revoked_at).is_(None))).all()
        if not rows:
            return None
        role = max((r.role for r in rows), key=lambda r: ROLES.index(r) if r in ROLES else -1)
        return Identity(name=name, role=role, via="api", actor=actor)
    if actor.startswith(SLACK_ACTOR):
        user = actor[len(SLACK_ACTOR):]
        with store.session() as s:
            row = s.exec(select(SlackUser).where(SlackUser.user_id == user)).first()
        return Identity(name=row.identity, role=row.role, via="slack", actor=actor) if row else None
    return None


def registered_actors(store: Store, name: str) -> list[str]:
    """Every ``api:`` / ``slack:`` actor registered as identity ``name``."""
    with store.session() as s:
        keys = s.exec(select(ApiKey.name).where(ApiKey.name == name)).all()
        users = s.exec(select(SlackUser.user_id).where(SlackUser.identity == name)).all()
    return [API_ACTOR + k for k in set(keys)] + [SLACK_ACTOR + u for u in users]

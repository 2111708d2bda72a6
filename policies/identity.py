"""Identities: every actor (CLI user, API key, Slack user) maps to one identity with roles and groups.

Roles: ``viewer`` (read only), ``operator`` (may request changes), ``approver`` (may approve
requests addressed to one of their groups), ``admin`` (all of it, any group). Identities come
from a YAML file (``SOPHIA_IDENTITIES``)::

    identities:
      - id: alice
        roles: [operator, approver]
        groups: [platform]
        actors: ["cli:alice", "slack:U024BE7LH"]
      - id: ci
        roles: [operator]
        actors: ["cli:runner"]
        act_as: ["cli:deploy-bot"]   # may name these actors with --as / SOPHIA_ACTOR (globs)
    patterns:                # actors not listed, by glob (first match); each is its own identity
      - {actors: "cli:*", roles: [operator], groups: [platform]}
    unknown: viewer          # everyone else (viewer unless set)

Listed actors match exactly: ``slack:U1`` is not ``slack:U1[bot]``. Without a file, the local
CLI user (``SOPHIA_ACTOR`` / ``cli:<OS user>``) is an admin, other ``cli:*`` actors (people with a
shell on this machine, who can reach the store anyway) are operators and approvers in group
``approvers``, and everyone else — Slack users, API keys — is a viewer until listed.

**Acting as someone else** (the CLI's ``--as``, see :mod:`orchestrator.principal`) takes this
file: an identity may name the actors matching its ``act_as`` globs, and an admin anyone. The
real principal is recorded beside the named actor, and four-eyes compares real principals, so
a named actor never approves its own principal's request.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from orchestrator.errors import ConfigError
from policies.context import ActorInfo

__all__ = [
    "Identity",
    "IdentityDirectory",
    "IdentityPattern",
    "Role",
    "load_identities",
    "may_approve",
    "may_freeze",
    "may_mutate",
    "may_unfreeze",
]


class Role(StrEnum):
    """What an identity may do."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    APPROVER = "approver"
    ADMIN = "admin"


def may_mutate(roles: Iterable[str]) -> bool:
    """Operators and admins may request changes; viewers and pure approvers may not."""
    return bool({Role.OPERATOR.value, Role.ADMIN.value} & set(roles))


def may_approve(roles: Iterable[str], groups: Iterable[str], approver_groups: Iterable[str]) -> bool:
    """Admins approve anything; approvers only requests addressed to one of their groups.

    An empty ``approver_groups`` means any approver may decide.
    """
    roles = set(roles)
    if Role.ADMIN.value in roles:
        return True
    if Role.APPROVER.value not in roles:
        return False
    wanted = set(approver_groups)
    return not wanted or bool(wanted & set(groups))


def may_freeze(roles: Iterable[str]) -> bool:
    """Anyone but a pure viewer may freeze (stopping changes is always safe)."""
    return bool(set(roles) - {Role.VIEWER.value})


def may_unfreeze(roles: Iterable[str]) -> bool:
    """Lifting a freeze takes an approver or an admin."""
    return bool({Role.APPROVER.value, Role.ADMIN.value} & set(roles))


class Identity(BaseModel):
    """One person or service, however they reach sophia-iac."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    roles: tuple[Role, ...] = (Role.VIEWER,)
    groups: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    #: Actors (globs) this identity may name with ``--as``; admins may name anyone.
    act_as: tuple[str, ...] = ()

    def may_act_as(self, actor: str) -> bool:
        """Whether this identity may act as ``actor`` (its own actor, an admin, or an ``act_as`` grant)."""
        if actor in self.actors or actor == self.id or Role.ADMIN in self.roles:
            return True
        return any(fnmatch.fnmatchcase(actor, pattern) for pattern in self.act_as)

    def actor_info(self, source: str = "") -> ActorInfo:
        """The ``actor`` the policy engine sees."""
        return ActorInfo(id=self.id, roles=tuple(r.value for r in self.roles), groups=self.groups, source=source)

    @property
    def can_mutate(self) -> bool:
        """See :func:`may_mutate`."""
        return may_mutate(r.value for r in self.roles)

    def can_approve(self, approver_groups: Iterable[str]) -> bool:
        """See :func:`may_approve`."""
        return may_approve((r.value for r in self.roles), self.groups, approver_groups)


class IdentityPattern(BaseModel):
    """Roles and groups for unlisted actors matching a glob (``cli:*``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actors: str = Field(min_length=1)
    roles: tuple[Role, ...] = (Role.VIEWER,)
    groups: tuple[str, ...] = ()

    def matches(self, actor: str) -> bool:
        """Case-sensitive glob match on the whole actor string."""
        return fnmatch.fnmatchcase(actor, self.actors)


#: What applies without an identities file (besides the local admin).
DEFAULT_PATTERNS = (IdentityPattern(actors="cli:*", roles=(Role.OPERATOR, Role.APPROVER), groups=("approvers",)),)


class _IdentityFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identities: list[Identity] = Field(default_factory=list)
    patterns: list[IdentityPattern] = Field(default_factory=list)
    unknown: Role = Role.VIEWER

    @model_validator(mode="after")
    def _unique(self) -> _IdentityFile:
        seen: dict[str, str] = {}
        ids: set[str] = set()
        for ident in self.identities:
            if ident.id in ids:
                raise ValueError(f"identity {ident.id!r} is listed twice")
            ids.add(ident.id)
            for actor in ident.actors:
                if actor in seen:
                    raise ValueError(f"actor {actor!r} maps to both {seen[actor]!r} and {ident.id!r}")
                seen[actor] = ident.id
        return self


class IdentityDirectory:
    """Resolves actors to identities."""

    def __init__(
        self,
        identities: Iterable[Identity] = (),
        unknown: Role = Role.VIEWER,
        patterns: Iterable[IdentityPattern] = (),
    ) -> None:
        self.identities = {i.id: i for i in identities}
        self.unknown = unknown
        self.patterns = tuple(patterns)
        self._by_actor = {actor: i for i in self.identities.values() for actor in i.actors}

    def resolve(self, actor: str) -> Identity:
        """The identity for ``actor`` (an actor string or an identity id).

        Unlisted actors get an identity of their own (id = the actor string) with the roles of
        the first matching pattern, else the ``unknown`` role (viewer).
        """
        found = self._by_actor.get(actor) or self.identities.get(actor)
        if found is not None:
            return found
        for pattern in self.patterns:
            if pattern.matches(actor):
                return Identity(id=actor, roles=pattern.roles, groups=pattern.groups, actors=(actor,))
        return Identity(id=actor, roles=(self.unknown,), actors=(actor,))

    def actors_of(self, identity_id: str) -> tuple[str, ...]:
        """Every actor string that resolves to ``identity_id`` (for counting their changes)."""
        listed = self.identities.get(identity_id)
        return tuple(sorted({identity_id, *(listed.actors if listed else ())}))

    def actor_info(self, actor: str) -> ActorInfo:
        """Resolve ``actor`` and return what the policy engine sees."""
        return self.resolve(actor).actor_info(source=actor)


def load_identities(path: str | Path | None = None, *, default_actor: str | None = None) -> IdentityDirectory:
    """Load identities from ``path`` (or ``SOPHIA_IDENTITIES``), else the defaults.

    Defaults: ``default_actor`` (the local CLI user) is an admin in groups ``admins`` and
    ``approvers``; other ``cli:*`` actors are operators and approvers; everyone else a viewer.

    Raises:
        ConfigError: the file is missing, not YAML, or doesn't match the format.
    """
    path = path or os.environ.get("SOPHIA_IDENTITIES") or None
    if path is None:
        admins = [
            Identity(id=default_actor, roles=(Role.ADMIN,), groups=("admins", "approvers"), actors=(default_actor,))
        ] if default_actor else []
        return IdentityDirectory(admins, patterns=DEFAULT_PATTERNS)
    file = Path(path)
    hint = "see the format in policies/identity.py; `sophia-iac policy check` validates it"
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        parsed = _IdentityFile.model_validate(raw)
    except OSError as exc:
        raise ConfigError(f"can't read identities file {file}: {exc.strerror}", hint=hint) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"identities file {file} is not valid YAML: {exc}", hint=hint) from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"identities file {file}: {problems}", hint=hint) from exc
    return IdentityDirectory(parsed.identities, parsed.unknown, parsed.patterns)

"""Who the CLI acts for: the real principal at the keyboard, and the actor a command names.

* The **principal** is the OS account running the process, ``cli:<login>``, the login taken
  from the process's uid (not ``$USER``, which the caller sets). Without an identities file,
  ``SOPHIA_ACTOR`` — this machine's configured identity — is the principal instead.
* ``--as ACTOR`` names someone else. That takes an identities file (``SOPHIA_IDENTITIES``)
  in which the principal's identity may act as ``ACTOR``: ``act_as`` globs, or the admin role
  (:meth:`policies.identity.Identity.may_act_as`). Otherwise the command is refused. With an
  identities file, a ``SOPHIA_ACTOR`` naming someone else is held to the same grant.
* Runs and approvals record the principal beside the named actor, and four-eyes compares
  principals (:func:`policies.approvals.authorize`): one person naming two actors is still one
  pair of eyes.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.errors import PolicyDeniedError

if TYPE_CHECKING:
    from orchestrator.config import Settings

__all__ = ["CliActor", "os_actor", "os_login", "resolve_cli_actor"]


@dataclass(frozen=True)
class CliActor:
    """The actor a CLI command is recorded under, and the principal who really ran it."""

    actor: str
    principal: str


def os_login() -> str:
    """The login name of the process's effective uid (falls back to getpass, then ``uid<N>``)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        pass
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def os_actor() -> str:
    """``cli:<os login>``."""
    return f"cli:{os_login()}"


def _identities_file() -> str | None:
    return os.environ.get("SOPHIA_IDENTITIES") or None


def resolve_cli_actor(as_actor: str | None, settings: Settings | None = None) -> CliActor:
    """The actor and principal for a CLI command given ``--as`` (or None).

    Raises:
        PolicyDeniedError: ``--as`` (or, with an identities file, ``SOPHIA_ACTOR``) names someone
            the principal may not act as; the hint says how to grant it.
        ConfigError: the identities file can't be read.
    """
    from orchestrator.config import get_settings

    settings = settings or get_settings()
    configured = settings.actor or None
    path = _identities_file()
    if path is None:
        principal = configured or os_actor()
        if as_actor and as_actor != principal:
            raise PolicyDeniedError(
                f"you are {principal}; acting as {as_actor} takes an identities file that grants it",
                hint=f"set SOPHIA_IDENTITIES to a file where {principal}'s identity has act_as: [\"{as_actor}\"] "
                     "(or the admin role) — and note that an actor named with --as never approves a request of "
                     "yours; without --as you act as yourself",
                details={"actor": as_actor, "principal": principal})
        return CliActor(actor=as_actor or principal, principal=principal)
    from policies.identity import load_identities

    principal = os_actor()
    directory = load_identities(path)
    me = directory.resolve(principal)
    named, via = (as_actor, "--as") if as_actor else (configured, "SOPHIA_ACTOR")
    if not named or named == principal:
        return CliActor(actor=principal, principal=principal)
    if not me.may_act_as(named) and directory.resolve(named).id != me.id:
        raise PolicyDeniedError(
            f"you are {principal} (identity {me.id}), who may not act as {named} (named by {via})",
            hint=f"ask an admin to add act_as: [\"{named}\"] to identity {me.id} in {path}, or drop {via} to act "
                 "as yourself",
            details={"actor": named, "principal": principal})
    return CliActor(actor=named, principal=principal)

"""Params and inverses of GitHub's Actions secrets, repository visibility and default branch.

The :class:`~adapters.catalog.ActionSpec` entries are in :mod:`adapters.specs.github` (the
catalog's one list of GitHub actions); the models and inverse derivations live here so that file
stays readable. States the adapter records:

* secret (``secret.set`` / ``secret.delete``): ``{"name", "exists", "updated_at"}``. A secret's
  value can never be read back from GitHub, only its existence and ``updated_at``, so the value
  a ``set`` replaces or a ``delete`` removes is gone unless the caller names a reference that
  holds it (``previous="secret://NAME"``): then undo sets it back from that reference. Without
  one, overwriting or deleting an existing secret is irreversible, the inverse is None and the
  prediction says so in ``previous_value``. Setting a secret that did not exist is always
  undoable (the inverse deletes it).
* repo (``set_visibility`` / ``set_default_branch``): the repo state, which carries
  ``visibility`` and ``default_branch``; the inverse sets the before value back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, field_validator, model_serializer

from adapters.catalog import ActionCall, Params

__all__ = [
    "BRANCH",
    "SECRET_REF",
    "DefaultBranchParams",
    "SecretDeleteParams",
    "SecretSetParams",
    "VisibilityParams",
    "branch_name",
    "restore_default_branch",
    "restore_visibility",
    "secret_name",
    "undo_secret_delete",
    "undo_secret_set",
]

#: A git branch name as GitHub takes it in a path (``/`` allowed, never ``..`` or ``//``).
BRANCH = re.compile(r"^(?!/)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]{1,255}(?<!/)(?<!\.lock)$")
#: ``secret://NAME``: the only way a secret value reaches this adapter (see
#: :mod:`orchestrator.secret_params`); NAME resolves as ``SOPHIA_GITHUB_ENV_<NAME>``.
SECRET_REF = re.compile(r"^secret://([A-Z][A-Z0-9_]{0,100})$")
#: GitHub's rule for Actions secret names: letters, digits and ``_``, not starting with a digit
#: or ``GITHUB_``; GitHub stores them upper-case.
_SECRET_NAME = re.compile(r"^(?!GITHUB_)[A-Z_][A-Z0-9_]{0,199}$")


def secret_name(value: object) -> str:
    """``deploy_token`` / ```DEPLOY_TOKEN``` → ``DEPLOY_TOKEN``; anything GitHub would refuse raises."""
    text = str(value).strip().strip("`'\"").upper()
    if not _SECRET_NAME.match(text):
        raise ValueError(
            "not an Actions secret name (letters, digits and _, not starting with a digit or GITHUB_)"
        )
    return text


def branch_name(value: object) -> str:
    """A branch name as typed (quotes stripped); ``..``, ``//``, spaces and the like raise."""
    text = str(value).strip().strip("`'\"")
    if not BRANCH.match(text):
        raise ValueError(f"not a branch name: {value!r}")
    return text


def _reference(value: object) -> str:
    # Never echo the value: it may be the secret itself, typed by mistake.
    text = value.strip() if isinstance(value, str) else ""
    if not SECRET_REF.match(text):
        raise ValueError(
            "must be a reference, secret://NAME (A-Z, 0-9, _), resolved from SOPHIA_GITHUB_ENV_NAME;"
            " a secret value is never accepted in a command"
        )
    return text


class _OmitUnset(Params):
    """Leaves ``previous`` out of the JSON form when unset (plans and policies read ``has()``)."""

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("previous") is None:
            data.pop("previous", None)
        return data


class SecretSetParams(_OmitUnset):
    """``github.secret.set`` params: ``value`` and ``previous`` are references, never values."""

    name: str = Field(description="the Actions secret's name, e.g. DEPLOY_TOKEN")
    value: str = Field(description="secret://NAME: where the value is kept (never the value itself)")
    previous: str | None = Field(
        default=None,
        description="secret://NAME holding the value being replaced, so undo can put it back",
    )

    _n = field_validator("name", mode="before")(classmethod(lambda cls, v: secret_name(v)))
    _v = field_validator("value", mode="before")(classmethod(lambda cls, v: _reference(v)))

    @field_validator("previous", mode="before")
    @classmethod
    def _previous(cls, value: object) -> str | None:
        return None if value is None else _reference(value)


class SecretDeleteParams(_OmitUnset):
    """``github.secret.delete`` params."""

    name: str = Field(description="the Actions secret's name")
    previous: str | None = Field(
        default=None, description="secret://NAME holding the value being deleted, so undo can set it again"
    )

    _n = field_validator("name", mode="before")(classmethod(lambda cls, v: secret_name(v)))

    @field_validator("previous", mode="before")
    @classmethod
    def _previous(cls, value: object) -> str | None:
        return None if value is None else _reference(value)


class VisibilityParams(Params):
    """``github.repo.set_visibility`` params (``internal``: GitHub Enterprise organisations only)."""

    visibility: Literal["public", "private", "internal"] = Field(description="public, private or internal")

    @field_validator("visibility", mode="before")
    @classmethod
    def _visibility(cls, value: object) -> object:
        return str(value).strip().lower() if isinstance(value, str) else value


class DefaultBranchParams(Params):
    """``github.repo.set_default_branch`` params."""

    branch: str = Field(description="an existing branch")

    _b = field_validator("branch", mode="before")(classmethod(lambda cls, v: branch_name(v)))


Before = Mapping[str, Any] | None


def undo_secret_set(call: ActionCall, before: Before, after: Before) -> ActionCall | None:
    """Delete a secret that was new; set the old value back only from a reference to it."""
    name = call.params["name"]
    if before is not None and not before.get("exists"):
        return ActionCall(action="github.secret.delete", target=call.target, params={"name": name})
    previous = call.params.get("previous")
    if before is None or not previous:
        return None  # the replaced value was never readable: nothing can put it back
    return ActionCall(
        action="github.secret.set",
        target=call.target,
        params={"name": name, "value": previous, "previous": call.params["value"]},
    )


def undo_secret_delete(call: ActionCall, before: Before, after: Before) -> ActionCall | None:
    """Set the secret again, only from the reference the caller said holds its value."""
    previous = call.params.get("previous")
    if not before or not before.get("exists") or not previous:
        return None
    return ActionCall(
        action="github.secret.set",
        target=call.target,
        params={"name": call.params["name"], "value": previous},
    )


def restore_visibility(call: ActionCall, before: Before, after: Before) -> ActionCall | None:
    """Set the before visibility back."""
    if not before or before.get("visibility") not in ("public", "private", "internal"):
        return None
    return ActionCall(
        action="github.repo.set_visibility", target=call.target, params={"visibility": before["visibility"]}
    )


def restore_default_branch(call: ActionCall, before: Before, after: Before) -> ActionCall | None:
    """Set the before default branch back."""
    if not before or not before.get("default_branch"):
        return None
    return ActionCall(
        action="github.repo.set_default_branch",
        target=call.target,
        params={"branch": before["default_branch"]},
    )

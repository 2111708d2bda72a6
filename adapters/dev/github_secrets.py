"""GitHub Actions secrets on a repository: set (sealed for the repo) and delete.

GitHub's "Create or update a repository secret" takes the value encrypted with the
repository's public key (``GET /repos/{o}/{r}/actions/secrets/public-key``) as a libsodium
*sealed box* (X25519 + XSalsa20-Poly1305, an ephemeral key per message), base64-encoded, with
the ``key_id`` it was sealed for: :func:`seal`. The plain value exists only between
:func:`~adapters.credentials.resolve_secret` and :func:`seal` inside :meth:`do_secret_set`; it
is registered with the scrubber before anything is sent, and is never in a state, a log line,
an error or the ledger (the params carry only ``secret://NAME``).

**Read-back.** A secret's value can never be read back: the state is the secret's existence and
its ``updated_at`` (``GET …/actions/secrets``, the list; the single-secret GET declares no 404 in
GitHub's document, so a missing secret could not be told from the contract). A ``set`` of an existing secret is reached only when
``updated_at`` has moved past the before value, so an unseen PUT that never landed reads back
as not reached.

**Undo.** See :mod:`adapters.specs.github_settings`: a new secret is undone by deleting it; the
value an overwrite or a delete removes can be put back only from a reference the caller gave
(``previous``), and the prediction says so (``previous_value``) when there is none.
"""

from __future__ import annotations

import base64
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PublicKey, SealedBox

from adapters.base import State
from adapters.catalog import ActionCall
from adapters.credentials import SCRUBBER, param_secret_ref, require_configured, resolve_secret
from adapters.dev.github_base import GitHubBase, repo_path
from adapters.http import api_path
from adapters.specs.github import owner_repo
from adapters.specs.github_settings import SECRET_REF
from orchestrator.errors import AdapterError, NotFoundError, ValidationFailedError

__all__ = ["NOTE_KEYS", "NOT_RESTORABLE", "GitHubSecrets", "seal"]

#: Keys of a prediction that describe the change rather than the state (never read back).
NOTE_KEYS = frozenset({"previous_value", "replaces_updated_at"})
NOT_RESTORABLE = (
    "not restorable: GitHub never returns a secret's value, so undo can't put the old one back"
    " (name where it is kept with previous=secret://NAME to make this undoable)"
)


def seal(public_key_b64: str, value: str) -> str:
    """``value`` sealed for the repository key ``public_key_b64`` (base64 in, base64 out)."""
    try:
        key = PublicKey(base64.b64decode(public_key_b64, validate=True))
    except (ValueError, CryptoError, TypeError) as exc:
        raise AdapterError(
            "github: the repository's Actions public key is not a 32-byte base64 key",
            hint="retry; if it persists, GitHub answered with something unexpected",
        ) from exc
    return base64.b64encode(SealedBox(key).encrypt(value.encode("utf-8"))).decode("ascii")


def _secret_path(name: str, secret: object) -> str:
    owner, _, repo = name.partition("/")
    return api_path(
        "/repos/{owner}/{repo}/actions/secrets/{secret_name}", owner=owner, repo=repo, secret_name=secret
    )


def _ref_name(reference: str) -> str:
    match = SECRET_REF.match(reference)
    if match is None:  # the params model already refused it; never echo the text
        raise ValidationFailedError("github: a secret value must be given as secret://NAME")
    return match.group(1)


class GitHubSecrets(GitHubBase):
    """Actions secrets: observe, set, delete (mixed into :class:`~adapters.dev.github.GitHubAdapter`)."""

    async def observe_secret(self, call: ActionCall) -> State:
        """``{"name", "exists", "updated_at"}``; None when the repository does not exist.

        One request: the list of the repository's secrets (GitHub answers 404 for a repository
        that does not exist, as on every ``/repos/{o}/{r}/…`` path; the document declares only
        200 here, so that answer can't be forced from the contract).
        """
        name = owner_repo(call.target)
        wanted = call.params["name"]
        secrets = await self._paged(repo_path(name, "/actions/secrets"), call.action, name, key="secrets")
        if secrets is None:
            return None
        for item in secrets:
            if isinstance(item, dict) and str(item.get("name") or "").upper() == wanted:
                return {"name": wanted, "exists": True, "updated_at": item.get("updated_at")}
        return {"name": wanted, "exists": False, "updated_at": None}

    def precheck_secret(self, call: ActionCall, before: State) -> None:
        """Plan-time checks: the references resolve; a delete has something to delete."""
        if call.action == "github.secret.set":
            require_configured(param_secret_ref("github", _ref_name(call.params["value"])))
        previous = call.params.get("previous")
        if previous:
            require_configured(param_secret_ref("github", _ref_name(previous)))

    def predict_secret(self, call: ActionCall, before: State) -> State:
        """The secret's state after ``call``, with notes on what undo can't do."""
        name = call.params["name"]
        if before is None:
            raise NotFoundError(
                f"github: repo {call.target} not found ({call.action})",
                hint="check owner/repo; `sophia-iac status github` lists what exists",
            )
        existed = bool(before.get("exists"))
        if call.action == "github.secret.delete":
            if not existed:
                raise ValidationFailedError(
                    f"github: {call.target} has no Actions secret {name}", hint="nothing to delete"
                )
            after: dict[str, Any] = {"name": name, "exists": False, "updated_at": None}
        else:
            after = {"name": name, "exists": True}
            if existed:
                after["replaces_updated_at"] = before.get("updated_at")
        if existed and not call.params.get("previous"):
            after["previous_value"] = NOT_RESTORABLE
        return after

    def secret_reached(self, expected: dict[str, Any], observed: dict[str, Any]) -> bool:
        """Every predicted field but the notes; an overwrite also needs ``updated_at`` to move."""
        if (
            "replaces_updated_at" in expected
            and observed.get("updated_at") == expected["replaces_updated_at"]
        ):
            return False
        return all(observed.get(k) == v for k, v in expected.items() if k not in NOTE_KEYS)

    async def do_secret_set(self, call: ActionCall, before: State) -> State:
        """Resolve the reference, seal it with the repository's key, ``PUT`` it; read back."""
        name = owner_repo(call.target)
        put_path = _secret_path(name, call.params["name"])  # a bad name is refused before any request
        ref = param_secret_ref("github", _ref_name(call.params["value"]))
        key = await self.http.request(
            "GET", repo_path(name, "/actions/secrets/public-key"), action=call.action, target=name
        )
        data = key.data if isinstance(key.data, dict) else {}
        if not isinstance(data.get("key"), str) or not data.get("key_id"):
            raise AdapterError(f"github: {name} answered no Actions public key", hint="retry later")
        plain = resolve_secret(ref).reveal()
        SCRUBBER.register(plain)
        body = {"encrypted_value": seal(data["key"], plain), "key_id": str(data["key_id"])}
        del plain
        await self.http.request("PUT", put_path, action=call.action, target=name, json=body)
        return await self.observe_secret(call)

    async def do_secret_delete(self, call: ActionCall, before: State) -> State:
        """``DELETE`` the secret; read back."""
        name = owner_repo(call.target)
        await self.http.request(
            "DELETE", _secret_path(name, call.params["name"]), action=call.action, target=name
        )
        return await self.observe_secret(call)

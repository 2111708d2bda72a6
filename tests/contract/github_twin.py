"""The GitHub twin with repository settings, branches, Actions secrets and rulesets.

Extends :class:`~tests.contract.twins.GitHubTwin` (a state model steering Prism, which serves
GitHub's own REST description; a stand-in for the live platform, as the tests that use it say):

* each repository has a ``visibility`` and a ``default_branch`` (``PATCH /repos/{o}/{r}``
  changes them) and a set of branches (``GET …/branches/{branch}``: 404 for a missing one);
* Actions secrets: the repository's public key is a real X25519 key pair made per twin, so a
  ``PUT …/actions/secrets/{name}`` is *decrypted* with the private key (as GitHub does) and
  the plain value kept in :attr:`secret_values` for the test to compare; a body that doesn't
  open with the key is recorded in :attr:`undecryptable` (GitHub's document declares no error
  answer for it) and stores nothing. ``updated_at`` moves on every PUT;
* rulesets: a list per repository.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from .twins import GitHubTwin as _BaseTwin
from .twins import _template

__all__ = ["GitHubTwin"]


class GitHubTwin(_BaseTwin):
    """Repositories (with settings), protection, teams, hooks, Actions secrets and rulesets."""

    def __init__(self) -> None:
        super().__init__()
        self.private_key = PrivateKey.generate()
        self.key_id = "568250167242549743"
        self.default_branch: dict[str, str] = {"acme/web": "main"}
        self.branches: dict[str, set[str]] = {"acme/web": {"main", "develop", "release/2.0"}}
        #: repo → secret name → updated_at
        self.secrets: dict[str, dict[str, str]] = {"acme/web": {"NPM_TOKEN": "2026-01-01T00:00:00Z"}}
        #: (repo, name) → the plain value the last PUT decrypted to
        self.secret_values: dict[tuple[str, str], str] = {}
        self.undecryptable: list[tuple[str, str]] = []
        self.rulesets: dict[str, list[dict[str, Any]]] = {
            "acme/web": [
                {"id": 42, "name": "protect-main", "target": "branch", "enforcement": "active"},
                {"id": 43, "name": "tag-rules", "target": "tag", "enforcement": "evaluate"},
            ]
        }
        self._clock = 0

    def visibility(self, name: str) -> str:
        """A repo's visibility (derived from ``private`` until set)."""
        return str(
            self.repos[name].get("visibility") or ("private" if self.repos[name]["private"] else "public")
        )

    def _tick(self) -> str:
        self._clock += 1
        return f"2026-02-01T00:{self._clock // 60:02d}:{self._clock % 60:02d}Z"

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/secrets/public-key", path):
            return ("404", None) if m.group(1).lower() not in self.repos else (None, ("public-key",))
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/secrets", path):
            return None, ("secrets", m.group(1).lower())
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/secrets/([^/]+)", path):
            return self._secret(method, m.group(1).lower(), m.group(2), body)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/rulesets", path):
            name = m.group(1).lower()
            return ("404", None) if name not in self.repos else (None, ("rulesets", name))
        if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/branches/(.+)", path)) and not path.endswith(
            "/protection"
        ):
            name, branch = m.group(1).lower(), m.group(2)
            return (None, ("branch", branch)) if branch in self.branches.get(name, set()) else ("404", None)
        if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)", path)) and method == "PATCH":
            name = m.group(1).lower()
            if name in self.repos and "visibility" in body:
                self.repos[name]["visibility"] = body["visibility"]
                self.repos[name]["private"] = body["visibility"] != "public"
            if name in self.repos and "default_branch" in body:
                if body["default_branch"] not in self.branches.get(name, set()):
                    return "422", None
                self.default_branch[name] = body["default_branch"]
        return super().route(method, path, body, request)

    def _secret(self, method: str, name: str, secret: str, body: Any) -> tuple[str | None, Any]:
        if method == "PUT":
            try:
                sealed = base64.b64decode(body["encrypted_value"])
                plain = SealedBox(self.private_key).decrypt(sealed).decode()
            except (CryptoError, ValueError):
                self.undecryptable.append((name, secret))
                return None, None
            created = secret.upper() not in self.secrets.setdefault(name, {})
            self.secrets[name][secret.upper()] = self._tick()
            self.secret_values[(name, secret.upper())] = plain
            return (None if created else "204"), None
        if method == "DELETE":
            self.secrets.get(name, {}).pop(secret.upper(), None)
            self.secret_values.pop((name, secret.upper()), None)
        return None, None

    def fill(self, note: Any, body: Any) -> Any:
        kind = note[0]
        if kind == "public-key":
            public = base64.b64encode(bytes(self.private_key.public_key)).decode()
            return {**body, "key_id": self.key_id, "key": public}
        if kind == "secrets":
            found = self.secrets.get(note[1], {})
            listed = [{"name": n, "created_at": at, "updated_at": at} for n, at in sorted(found.items())]
            return {**body, "total_count": len(listed), "secrets": listed}
        if kind == "rulesets":
            template = _template(body)
            return [{**template, **r, "source": note[1]} for r in self.rulesets.get(note[1], [])]
        if kind == "branch":
            return {**body, "name": note[1]}
        filled = super().fill(note, body)
        if kind == "repo":
            name = note[1]
            return {
                **filled,
                "visibility": self.visibility(name),
                "default_branch": self.default_branch.get(name, "main"),
            }
        if kind == "repos":
            return [
                {
                    **r,
                    "visibility": self.visibility(r["full_name"]),
                    "default_branch": self.default_branch.get(r["full_name"], "main"),
                }
                for r in filled
            ]
        return filled

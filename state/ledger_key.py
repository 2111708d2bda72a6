"""The ledger key: the HMAC key the change ledger's hash chain is computed with.

The key is a secret resolved by reference, never a value in the database. In order:

1. ``SOPHIA_LEDGER_KEY`` (the value), ``SOPHIA_LEDGER_KEY_FILE`` (a file holding it), or the
   secret manager's ``ledger/key`` — the same resolution as every credential
   (:func:`adapters.credentials.resolve_secret`);
2. ``$SOPHIA_HOME/ledger.key``. When nothing is configured and that file doesn't exist, the
   first append generates it (32 random bytes, hex, mode 0600) and says so on stderr, so the
   zero-credential quick start keeps working. Back it up: verifying the ledger needs it.

The ledger records which key signed it by its *key id* (an HMAC of a fixed label, so the key
itself can't be derived from it): a process with another key refuses to append, and
``ledger verify`` says the key is wrong instead of calling every entry edited.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import ConfigError

__all__ = ["KEY_FILE", "KEY_REF", "LedgerKey", "key_file", "resolve_ledger_key"]

log = logging.getLogger("sophia.ledger")

#: The name under ``$SOPHIA_HOME`` of the generated key.
KEY_FILE = "ledger.key"
#: ``SOPHIA_LEDGER_KEY`` / ``SOPHIA_LEDGER_KEY_FILE`` / secret manager ``ledger/key``.
KEY_REF = ("ledger", "KEY")
MIN_KEY_LENGTH = 16
_KEY_ID_LABEL = b"sophia-iac ledger key id v1"


@dataclass(frozen=True, repr=False)
class LedgerKey:
    """A resolved ledger key: the bytes (hidden), where they came from, and the public key id."""

    secret: bytes = field(repr=False)
    source: str

    @property
    def key_id(self) -> str:
        """A public fingerprint (16 hex digits) naming this key in the ledger head and anchors."""
        return hmac.new(self.secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def mac(self, message: bytes) -> str:
        """HMAC-SHA256 of ``message`` under this key, hex."""
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"LedgerKey(source={self.source!r}, key_id={self.key_id!r})"


def key_file(home: Path | None = None) -> Path:
    """``$SOPHIA_HOME/ledger.key``."""
    if home is None:
        from orchestrator.config import get_settings

        home = get_settings().home
    return Path(home) / KEY_FILE


def _checked(value: str, source: str) -> LedgerKey:
    if len(value) < MIN_KEY_LENGTH:
        raise ConfigError(f"the ledger key from {source} is too short ({len(value)} characters)",
                          hint=f"use at least {MIN_KEY_LENGTH} random characters, e.g. `openssl rand -hex 32`",
                          details={"variable": "SOPHIA_LEDGER_KEY"})
    from adapters.credentials import SCRUBBER

    SCRUBBER.register(value)
    return LedgerKey(value.encode(), source)


def _configured(env: Mapping[str, str]) -> LedgerKey | None:
    from adapters.credentials import SecretRef, _secret_manager, resolve_secret

    ref = SecretRef(*KEY_REF)
    if not (env.get(ref.env_var, "").strip() or env.get(ref.file_var, "").strip() or _secret_manager is not None):
        return None
    try:
        secret = resolve_secret(ref, environ=env)
    except ConfigError:
        # Only a secret manager without a ``ledger/key`` falls through to the key file;
        # a set but unreadable variable or file is an error worth stopping for.
        if env.get(ref.env_var, "").strip() or env.get(ref.file_var, "").strip():
            raise
        return None
    return _checked(secret.reveal(), secret.source)


def _read(path: Path) -> LedgerKey:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"can't read the ledger key {path} ({exc.strerror or exc})",
                          hint="fix its permissions, or set SOPHIA_LEDGER_KEY / SOPHIA_LEDGER_KEY_FILE") from None
    return _checked(value, f"file:{path}")


def _generate(path: Path) -> LedgerKey:
    """Write a new random key to ``path`` (0600), unless another process just did; return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ledger.key.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # atomic and exclusive: a concurrent first use keeps one key
        except FileExistsError:
            return _read(path)
    finally:
        os.unlink(tmp)
    log.warning("sophia-iac: generated a ledger key at %s (mode 0600); the ledger's hash chain is keyed with it. "
                "Back it up: `ledger verify` needs it. To use your own, set SOPHIA_LEDGER_KEY or "
                "SOPHIA_LEDGER_KEY_FILE.", path)
    return _read(path)


def resolve_ledger_key(*, create: bool, home: Path | None = None,
                       environ: Mapping[str, str] | None = None) -> LedgerKey | None:
    """The ledger key (see the module docstring), or None when there is none and ``create`` is False.

    Raises:
        ConfigError: a configured key can't be read or is too short.
    """
    env = os.environ if environ is None else environ
    found = _configured(env)
    if found is not None:
        return found
    path = key_file(home)
    if path.exists():
        return _read(path)
    return _generate(path) if create else None

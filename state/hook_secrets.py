"""Per-hook webhook secrets a platform hands us in a handshake (Asana's ``X-Hook-Secret``).

Asana does not let us choose a signing secret: right after our ``POST /webhooks`` it POSTs the
target with a fresh ``X-Hook-Secret`` and expects it echoed, and every later delivery is signed
with it (``X-Hook-Signature``). Anyone can POST our public webhook URL, so a handshake is
accepted only when WE asked for one:

1. :meth:`HookSecrets.expect`, called by our own webhook create BEFORE it calls the platform,
   records a ``pending`` row with a random token and a short expiry (5 minutes), and gives back
   the target URL with the token in its query (``?sophia_hook=…``), which is what the create
   sends the platform as the target;
2. :meth:`HookSecrets.confirm` (the door, on a handshake to that URL) consumes the row in one
   conditional UPDATE — the token must match, the row must still be pending and unexpired — and
   stores the secret encrypted. A second handshake with the same token, a guessed token, another
   platform's door or a late one changes nothing and is refused;
3. :meth:`HookSecrets.bind` records the hook's gid when the create has read it back — or,
   when the create's answer was lost, when reading the platform back shows the hook (its target
   carries the token) — and only then is the secret ``active``.

A create that raised leaves the row live only if the platform shows the hook:
:meth:`HookSecrets.abandon` marks it ``failed`` (a late handshake is then refused, so the
platform cannot keep the hook either). When the platform could not be read to tell, the
ciphertext is kept on the ``failed`` row — never used to verify anything — so a later read-back
that finds the hook can :meth:`bind` it back to ``active``.

Encryption at rest: AES-256-GCM (``cryptography``), a 12-byte random nonce per secret, the
platform and token as associated data (a ciphertext copied to another row does not decrypt).
The key is derived with HKDF-SHA256 from a secret resolved by reference, never stored:
``SOPHIA_<PLATFORM>_WEBHOOK_KEY`` (or ``…_FILE``, or the secret manager's
``<platform>/webhook_key``) when set — :func:`adapters.credentials.webhook_secret_ref`, the one
setting the door and the worker both read — else the ledger key (:mod:`state.ledger_key`,
generated in ``$SOPHIA_HOME`` on first use). Each row records the derived key's id, so a
secret written under another key is reported, not silently mis-verified.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import update
from sqlmodel import select

from orchestrator.errors import ConfigError
from state.models import WebhookSecret, utcnow

if TYPE_CHECKING:
    from state.store import Store

__all__ = ["EXPECT_SECONDS", "TOKEN_PARAM", "Expectation", "HookSecrets", "store_for", "with_token"]

log = logging.getLogger(__name__)

#: How long a handshake is awaited after our create call records its expectation.
EXPECT_SECONDS = 300
#: The query parameter of the target URL that names the expectation.
TOKEN_PARAM = "sophia_hook"
#: Secrets longer than this are refused (Asana's are 64 hex digits).
MAX_SECRET_LENGTH = 512
_HKDF_INFO = b"sophia-iac webhook secrets v1:"
_KEY_ID_LABEL = b"sophia-iac webhook secrets key id v1"
_NONCE_BYTES = 12
_LIVE = ("confirmed", "active")


@dataclass(frozen=True)
class Expectation:
    """A pending handshake: its token and the target URL (with the token) to give the platform."""

    platform: str
    token: str
    target: str
    expires_at: datetime


def with_token(target: str, token: str) -> str:
    """``target`` with ``sophia_hook=<token>`` added to its query (any previous one replaced)."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != TOKEN_PARAM]
    query.append((TOKEN_PARAM, token))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _key_material(platform: str, environ: Mapping[str, str] | None) -> tuple[bytes, str]:
    """The secret the encryption key is derived from, and where it came from."""
    from adapters import credentials
    from adapters.credentials import resolve_secret, webhook_secret_ref

    env = os.environ if environ is None else environ
    ref = webhook_secret_ref(platform)
    configured = bool(env.get(ref.env_var, "").strip() or env.get(ref.file_var, "").strip())
    if configured or credentials._secret_manager is not None:
        try:
            secret = resolve_secret(ref, environ=env)
        except ConfigError:
            if configured:  # set but unreadable: worth stopping for
                raise
        else:
            value = secret.reveal()
            if len(value) < 16:
                raise ConfigError(f"{ref.env_var} is too short ({len(value)} characters)",
                                  hint="use at least 16 random characters, e.g. `openssl rand -hex 32`",
                                  details={"variable": ref.env_var})
            return value.encode(), secret.source
    from state.ledger_key import resolve_ledger_key

    ledger = resolve_ledger_key(create=True, environ=env)
    assert ledger is not None  # create=True always gives one
    return ledger.secret, f"ledger key ({ledger.source})"


class _Cipher:
    def __init__(self, platform: str, environ: Mapping[str, str] | None) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        material, self.source = _key_material(platform, environ)
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=_HKDF_INFO + platform.encode()).derive(material)
        self.key_id = hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]
        self._aead = AESGCM(key)

    def seal(self, aad: bytes, plaintext: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), aad)

    def open(self, aad: bytes, blob: bytes) -> str:
        return self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad).decode()


def _aad(platform: str, token: str) -> bytes:
    return f"{platform}\0{token}".encode()


class HookSecrets:
    """Expectations, handshakes and encrypted per-hook secrets over one :class:`Store`."""

    def __init__(self, store: Store, *, environ: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.environ = environ

    def expect(self, platform: str, *, target: str, resource: str | None = None,
               ttl: float = EXPECT_SECONDS) -> Expectation:
        """Record that our own create is about to make ``platform`` handshake ``target``."""
        _Cipher(platform, self.environ)  # fail now, not mid-handshake, if no key can be had
        token = secrets.token_urlsafe(24)
        expires = utcnow() + timedelta(seconds=ttl)
        url = with_token(target, token)
        with self.store.session() as s:
            s.add(WebhookSecret(platform=platform, token=token, resource=resource, target=url, expires_at=expires))
        return Expectation(platform, token, url, expires)

    def confirm(self, platform: str, token: str, secret: str, *, now: datetime | None = None) -> bool:
        """Consume the pending, unexpired expectation ``token`` and store ``secret`` encrypted.

        Returns False — storing nothing — when there is no such expectation (never asked for,
        already consumed, expired, another platform's) or the secret is empty or oversized.
        """
        if not token or not secret or len(secret) > MAX_SECRET_LENGTH:
            return False
        cipher = _Cipher(platform, self.environ)
        now = now or utcnow()
        table = WebhookSecret.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c.token == token, table.c.platform == platform, table.c.status == "pending",
                   table.c.expires_at > now)
            .values(status="confirmed", secret=cipher.seal(_aad(platform, token), secret),
                    key_id=cipher.key_id, confirmed_at=now)
        )
        with self.store.session() as s:
            return bool(s.connection().execute(statement).rowcount == 1)

    def bind(self, platform: str, token: str, hook_id: str) -> None:
        """Record the platform's id for the hook whose handshake used ``token`` (which it shows).

        A row whose handshake stored a secret becomes ``active``: ``confirmed`` (the create read
        it back), or ``failed`` with its ciphertext kept (the create's answer was lost and the
        platform could not be read then; a read-back has now found the hook).
        """
        with self.store.session() as s:
            row = s.exec(select(WebhookSecret).where(WebhookSecret.platform == platform,
                                                     WebhookSecret.token == token)).first()
            if row is not None:
                row.hook_id = hook_id
                if row.status == "confirmed" or (row.status == "failed" and row.secret is not None):
                    row.status = "active"
                s.add(row)

    def status(self, platform: str, token: str) -> str | None:
        """The status of expectation ``token`` (``pending``, ``confirmed``, …), or None."""
        with self.store.session() as s:
            row = s.exec(select(WebhookSecret).where(WebhookSecret.platform == platform,
                                                     WebhookSecret.token == token)).first()
            return row.status if row is not None else None

    def tokens(self, platform: str, resource: str) -> dict[str, tuple[int, str, str | None]]:
        """``token → (row id, status, hook id)`` of every expectation our creates made on ``resource``."""
        with self.store.session() as s:
            rows = s.exec(select(WebhookSecret).where(WebhookSecret.platform == platform,
                                                      WebhookSecret.resource == resource)).all()
            return {r.token: (int(r.id or 0), r.status, r.hook_id) for r in rows}

    def abandon(self, platform: str, token: str, *, keep_secret: bool = False) -> None:
        """Our create failed: its expectation (and any secret a handshake left) is no longer live.

        ``keep_secret``: the platform could not be read to tell whether it kept the hook; the
        ciphertext stays on the ``failed`` row (unused) so :meth:`bind` can revive it.
        """
        with self.store.session() as s:
            row = s.exec(select(WebhookSecret).where(WebhookSecret.platform == platform,
                                                     WebhookSecret.token == token)).first()
            if row is not None and row.status in ("pending", "confirmed"):
                row.status = "failed"
                if not keep_secret:
                    row.secret = None
                s.add(row)

    def delete(self, platform: str, hook_id: str) -> bool:
        """Forget the secret of hook ``hook_id`` (deleted at the platform); True if one was live."""
        found = False
        with self.store.session() as s:
            for row in s.exec(select(WebhookSecret).where(WebhookSecret.platform == platform,
                                                          WebhookSecret.hook_id == hook_id)).all():
                found = found or row.status in _LIVE
                row.status, row.secret = "deleted", None
                s.add(row)
        return found

    def hook(self, platform: str, hook_id: str) -> WebhookSecret | None:
        """The newest row for hook ``hook_id`` (without its secret), or None."""
        with self.store.session() as s:
            row = s.exec(select(WebhookSecret).where(WebhookSecret.platform == platform,
                                                     WebhookSecret.hook_id == hook_id)
                         .order_by(WebhookSecret.id.desc())).first()  # type: ignore[union-attr]
        if row is not None:
            row.secret = None
        return row

    def secrets(self, platform: str) -> list[tuple[str, str]]:
        """``(hook id or token, secret)`` for every live hook of ``platform`` whose secret decrypts."""
        with self.store.session() as s:
            rows = s.exec(select(WebhookSecret).where(WebhookSecret.platform == platform,
                                                      WebhookSecret.status.in_(_LIVE))  # type: ignore[attr-defined]
                          .order_by(WebhookSecret.id)).all()
        if not rows:
            return []
        cipher = _Cipher(platform, self.environ)
        found: list[tuple[str, str]] = []
        for row in rows:
            if row.secret is None:
                continue
            if row.key_id != cipher.key_id:
                log.warning("%s webhook secret for hook %s was stored under another key (%s, not %s from %s)",
                            platform, row.hook_id or row.id, row.key_id, cipher.key_id, cipher.source)
                continue
            try:
                found.append((row.hook_id or row.token, cipher.open(_aad(platform, row.token), row.secret)))
            except Exception:  # noqa: BLE001 - InvalidTag: a tampered or moved ciphertext
                log.warning("%s webhook secret for hook %s does not decrypt (tampered?)", platform,
                            row.hook_id or row.id)
        return found


_stores: dict[str, Store] = {}


def store_for(url: str) -> Store:
    """One :class:`Store` per state URL in this process (for adapters, which get only settings)."""
    from state.store import Store

    if url not in _stores:
        _stores[url] = Store(url)
    return _stores[url]

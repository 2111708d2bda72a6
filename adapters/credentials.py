"""Credentials by reference, and the one scrubber that keeps them out of everything else.

This is the only module that reads secrets. A secret is named by a :class:`SecretRef`
(platform + name) and resolved, in order, from

1. the environment variable ``SOPHIA_<PLATFORM>_<NAME>`` (``SOPHIA_GITHUB_TOKEN``);
2. a file named by ``SOPHIA_<PLATFORM>_<NAME>_FILE`` (a mounted secret; surrounding
   whitespace is stripped);
3. the secret-manager hook, if one is installed with :func:`set_secret_manager`
   (called with the key ``"<platform>/<name>"``, lower case).

A missing secret raises :class:`~orchestrator.errors.ConfigError` naming the variable to set.
Every value resolved is registered with :data:`SCRUBBER`, which errors, logs
(:class:`ScrubbingFilter`) and cassettes (:func:`scrub_cassette_request`,
:func:`scrub_cassette_response`) all go through, so a token that reached memory can't reach
text. Credentials are typed per platform (:data:`CREDENTIAL_TYPES`) and turn themselves into
auth headers; their ``repr`` never shows the value.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import SecretStr

from orchestrator.errors import ConfigError

__all__ = [
    "CREDENTIAL_TYPES",
    "SCRUBBER",
    "ApiKeyHeader",
    "BearerToken",
    "Credential",
    "Scrubber",
    "ScrubbingFilter",
    "Secret",
    "SecretManager",
    "SecretRef",
    "SnowflakeToken",
    "credential_for",
    "param_secret_ref",
    "require_configured",
    "resolve_secret",
    "scrub",
    "scrub_cassette_request",
    "scrub_cassette_response",
    "scrubber_knowing_only",
    "set_secret_manager",
    "webhook_secret",
    "webhook_secret_ref",
]

REDACTED = "[REDACTED]"

#: A secret-manager hook: ``"github/token"`` → the value, or None when it has none.
SecretManager = Callable[[str], str | None]

_secret_manager: SecretManager | None = None


def set_secret_manager(hook: SecretManager | None) -> None:
    """Install (or remove, with None) the secret-manager hook consulted after env and file."""
    global _secret_manager
    _secret_manager = hook


# -- the scrubber ------------------------------------------------------------------------

#: Shapes of well-known tokens, redacted even when they were never resolved here.
TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{8,}"),
    re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"),
    re.compile(r"\bsk-(?:or-v1-|proj-|ant-)?[A-Za-z0-9_-]{20,}"),
    re.compile(r"\blin_(?:api|oauth)_[A-Za-z0-9]{20,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}"),
)

#: Header names whose values are always secret.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "token",
        "x-api-key",
        "api-key",
        "x-figma-token",
        "x-portkey-api-key",
        "cookie",
        "set-cookie",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-vercel-signature",
        "linear-signature",
        "x-slack-signature",
    }
)


class Scrubber:
    """Replaces every registered secret value, and well-known token shapes, with ``[REDACTED]``."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def register(self, value: str) -> None:
        """Remember a secret value (and its URL-encoded form) so it is always redacted."""
        if len(value) < 4:
            return
        new = {value, quote(value, safe="")} - self._values
        if new:
            self._values |= new
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def scrub(self, text: str) -> str:
        """``text`` with every known secret replaced."""
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        for pattern in TOKEN_PATTERNS:
            text = pattern.sub(REDACTED, text)
        return text

    def scrub_obj(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string scrubbed."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, bytes):
            return self.scrub(value.decode("utf-8", "replace")).encode()
        if isinstance(value, Mapping):
            return {k: self.scrub_obj(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.scrub_obj(v) for v in value)
        return value

    def scrub_headers(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        """Headers with secret-bearing ones redacted outright and the rest scrubbed."""
        return {k: REDACTED if k.lower() in SECRET_HEADERS else self.scrub_obj(v) for k, v in headers.items()}

    def clear(self) -> None:
        """Forget registered values (tests)."""
        self._values.clear()
        self._pattern = None


SCRUBBER = Scrubber()


@contextmanager
def scrubber_knowing_only(*values: str) -> Iterator[None]:
    """Within: the process-wide scrubber knows only ``values`` (and the token shapes); after: as before.

    For replaying recorded requests, whose bodies were scrubbed by the recording process: a
    secret some other code registered here must not rewrite the request being matched.
    """
    saved = (SCRUBBER._values, SCRUBBER._pattern)
    SCRUBBER._values, SCRUBBER._pattern = set(), None
    try:
        for value in values:
            SCRUBBER.register(value)
        yield
    finally:
        SCRUBBER._values, SCRUBBER._pattern = saved


def scrub(text: str) -> str:
    """Redact secrets from ``text`` with the process-wide :data:`SCRUBBER`."""
    return SCRUBBER.scrub(text)


class ScrubbingFilter(logging.Filter):
    """A logging filter that renders each record's message and redacts secrets from it.

    Install it on every handler: ``handler.addFilter(ScrubbingFilter())``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = SCRUBBER.scrub(record.getMessage())
        record.args = None
        if record.exc_text:
            record.exc_text = SCRUBBER.scrub(record.exc_text)
        return True


def scrub_cassette_request(request: Any) -> Any:
    """vcrpy ``before_record_request`` hook: redact headers, URL and body."""
    for name in list(request.headers):
        if name.lower() in SECRET_HEADERS:
            request.headers[name] = REDACTED
        else:
            request.headers[name] = SCRUBBER.scrub(str(request.headers[name]))
    request.uri = SCRUBBER.scrub(request.uri)
    if request.body:
        request.body = SCRUBBER.scrub_obj(request.body)
    return request


def scrub_cassette_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response`` hook: redact headers and body."""
    headers = response.get("headers") or {}
    response["headers"] = {
        k: [REDACTED] if k.lower() in SECRET_HEADERS else SCRUBBER.scrub_obj(v) for k, v in headers.items()
    }
    body = response.get("body") or {}
    if body.get("string"):
        body["string"] = SCRUBBER.scrub_obj(body["string"])
    return response


# -- references and resolution -----------------------------------------------------------


@dataclass(frozen=True)
class SecretRef:
    """The name of a secret: ``SecretRef("github")`` is ``SOPHIA_GITHUB_TOKEN``."""

    platform: str
    name: str = "TOKEN"

    @property
    def env_var(self) -> str:
        """``SOPHIA_<PLATFORM>_<NAME>``."""
        return f"SOPHIA_{self.platform.upper()}_{self.name.upper()}"

    @property
    def file_var(self) -> str:
        """``SOPHIA_<PLATFORM>_<NAME>_FILE``: a path to a file holding the value."""
        return f"{self.env_var}_FILE"

    @property
    def key(self) -> str:
        """The secret manager's key: ``"github/token"``."""
        return f"{self.platform.lower()}/{self.name.lower()}"


@dataclass(frozen=True, repr=False)
class Secret:
    """A resolved secret: the value (hidden) and where it came from (safe to show)."""

    value: SecretStr
    source: str
    env_var: str

    def reveal(self) -> str:
        """The plain value: only for building the request that needs it."""
        return self.value.get_secret_value()

    def __repr__(self) -> str:
        return f"Secret(source={self.source!r})"


def resolve_secret(ref: SecretRef, *, environ: Mapping[str, str] | None = None) -> Secret:
    """Resolve ``ref`` from env, then file, then the secret manager.

    Raises:
        ConfigError: naming the variable to set (or the unreadable file's variable).
    """
    env = os.environ if environ is None else environ
    value = env.get(ref.env_var, "").strip()
    source = f"env:{ref.env_var}"
    if not value and env.get(ref.file_var, "").strip():
        path = Path(env[ref.file_var].strip()).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{ref.file_var} points at {path}, which can't be read ({exc.strerror or exc})",
                hint=f"fix {ref.file_var} or set {ref.env_var}",
            ) from None
        if not value:
            raise ConfigError(
                f"{ref.file_var} points at an empty file ({path})", hint=f"put the secret in {path}"
            )
        source = f"file:{ref.file_var}"
    if not value and _secret_manager is not None:
        value = (_secret_manager(ref.key) or "").strip()
        source = f"secret-manager:{ref.key}"
    if not value:
        raise ConfigError(
            f"no {ref.name.lower().replace('_', ' ')} configured for {ref.platform}",
            hint=f"set {ref.env_var} (or {ref.file_var} to a file holding it)",
            details={"variable": ref.env_var},
        )
    SCRUBBER.register(value)
    return Secret(SecretStr(value), source, ref.env_var)


def param_secret_ref(platform: str, name: str) -> SecretRef:
    """Where a secret *param* given as ``secret://NAME`` is resolved.

    ``SOPHIA_<PLATFORM>_ENV_<NAME>`` (or ``…_FILE``, or the secret manager's
    ``<platform>/env_<name>``). The ``ENV_`` namespace is deliberate: a reference in a command
    can't name an arbitrary credential (``secret://TOKEN`` is ``SOPHIA_VERCEL_ENV_TOKEN``, never
    ``SOPHIA_VERCEL_TOKEN``), so a parsed command can't copy a platform token anywhere.
    """
    return SecretRef(platform, f"ENV_{name}")


def require_configured(ref: SecretRef, *, environ: Mapping[str, str] | None = None) -> None:
    """Fail early, without reading the value, when ``ref`` can't possibly resolve.

    Checks that the variable or its ``_FILE`` is set, or that a secret-manager hook is installed
    (a manager can't be asked without fetching the value, so it is trusted here and asked at the
    call). Used at plan time so a run doesn't wait for approval only to fail at apply.

    Raises:
        ConfigError: naming the variable to set (the same error :func:`resolve_secret` raises).
    """
    env = os.environ if environ is None else environ
    if env.get(ref.env_var, "").strip() or env.get(ref.file_var, "").strip() or _secret_manager is not None:
        return
    raise ConfigError(
        f"no {ref.name.lower().replace('_', ' ')} configured for {ref.platform}",
        hint=f"set {ref.env_var} (or {ref.file_var} to a file holding it) where sophia-iac runs",
        details={"variable": ref.env_var},
    )


#: Platforms whose webhook secret has the vendor's own name; every other one uses ``WEBHOOK_SECRET``.
_WEBHOOK_SECRET_NAMES: dict[str, str] = {"slack": "SIGNING_SECRET"}


def webhook_secret_ref(platform: str) -> SecretRef:
    """The one setting holding ``platform``'s webhook secret, read by the door and the worker alike.

    ``SOPHIA_<PLATFORM>_WEBHOOK_SECRET`` (GitHub, Vercel, Linear, HubSpot's client secret,
    Figma's passcode), except Slack: ``SOPHIA_SLACK_SIGNING_SECRET``, the app's one signing
    secret, which signs its slash commands, interactivity and workspace events alike.
    """
    return SecretRef(platform, _WEBHOOK_SECRET_NAMES.get(platform.lower(), "WEBHOOK_SECRET"))


def webhook_secret(platform: str, *, environ: Mapping[str, str] | None = None) -> Secret:
    """Resolve ``platform``'s webhook secret from its one setting (:func:`webhook_secret_ref`).

    Raises:
        ConfigError: naming that setting.
    """
    return resolve_secret(webhook_secret_ref(platform), environ=environ)


# -- typed credentials -------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Credential:
    """A platform credential; turns itself into auth headers and never shows its value."""

    platform: str
    secret: Secret

    @property
    def env_var(self) -> str:
        """The variable that names this credential (for hints in auth errors)."""
        return self.secret.env_var

    def auth_headers(self) -> dict[str, str]:
        """The headers that authenticate a request."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(platform={self.platform!r}, source={self.secret.source!r})"


@dataclass(frozen=True, repr=False)
class BearerToken(Credential):
    """``Authorization: Bearer <token>`` (GitHub, Vercel, Slack, OpenRouter …)."""

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret.reveal()}"}


@dataclass(frozen=True, repr=False)
class ApiKeyHeader(Credential):
    """A key in a vendor header (``x-portkey-api-key``, ``X-Figma-Token``), optionally prefixed."""

    header: str = "X-API-Key"
    prefix: str = ""

    def auth_headers(self) -> dict[str, str]:
        return {self.header: f"{self.prefix}{self.secret.reveal()}"}


SNOWFLAKE_TOKEN_TYPES = ("OAUTH", "KEYPAIR_JWT", "PROGRAMMATIC_ACCESS_TOKEN")


@dataclass(frozen=True, repr=False)
class SnowflakeToken(Credential):
    """A bearer token plus ``X-Snowflake-Authorization-Token-Type``.

    The type comes from ``SOPHIA_SNOWFLAKE_TOKEN_TYPE`` (not secret): ``OAUTH`` (Snowflake's
    own default), ``KEYPAIR_JWT`` or ``PROGRAMMATIC_ACCESS_TOKEN``.
    """

    token_type: str = "OAUTH"
    type_var: ClassVar[str] = "SOPHIA_SNOWFLAKE_TOKEN_TYPE"

    def auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.secret.reveal()}",
            "X-Snowflake-Authorization-Token-Type": self.token_type,
        }


def _snowflake(secret: Secret, environ: Mapping[str, str]) -> Credential:
    token_type = environ.get(SnowflakeToken.type_var, "OAUTH").strip().upper() or "OAUTH"
    if token_type not in SNOWFLAKE_TOKEN_TYPES:
        raise ConfigError(
            f"{SnowflakeToken.type_var}={token_type!r} is not a Snowflake token type",
            hint=f"use one of {', '.join(SNOWFLAKE_TOKEN_TYPES)}",
        )
    return SnowflakeToken("snowflake", secret, token_type)


CredentialFactory = Callable[[Secret, Mapping[str, str]], Credential]


def _bearer(platform: str) -> CredentialFactory:
    return lambda secret, environ: BearerToken(platform, secret)


def _header(platform: str, header: str, prefix: str = "") -> CredentialFactory:
    return lambda secret, environ: ApiKeyHeader(platform, secret, header, prefix)


#: How each platform's ``SOPHIA_<PLATFORM>_TOKEN`` becomes auth headers (default: Bearer).
CREDENTIAL_TYPES: dict[str, CredentialFactory] = {
    "snowflake": _snowflake,
    "github": _bearer("github"),
    "vercel": _bearer("vercel"),
    "slack": _bearer("slack"),
    "openrouter": _bearer("openrouter"),
    # Linear personal API keys go in Authorization without "Bearer" (OAuth tokens use it).
    "linear": _header("linear", "Authorization"),
    "portkey": _header("portkey", "x-portkey-api-key"),
    "figma": _header("figma", "X-Figma-Token"),
    "pinecone": _header("pinecone", "Api-Key"),
    "apollo": _header("apollo", "x-api-key"),
    "usergems": _header("usergems", "X-Api-Key"),
}


def credential_for(platform: str, *, environ: Mapping[str, str] | None = None) -> Credential:
    """The typed credential for ``platform`` from ``SOPHIA_<PLATFORM>_TOKEN`` (env/file/manager).

    Raises:
        ConfigError: naming ``SOPHIA_<PLATFORM>_TOKEN`` when it is not configured.
    """
    env = os.environ if environ is None else environ
    secret = resolve_secret(SecretRef(platform), environ=env)
    factory = CREDENTIAL_TYPES.get(platform, _bearer(platform))
    return factory(secret, env)

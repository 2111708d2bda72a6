"""The one shared HTTP client every REST adapter uses.

:func:`make_client` builds a :class:`PlatformClient` for a platform: an ``httpx.AsyncClient``
with the platform's base URL (``SOPHIA_<PLATFORM>_BASE_URL`` overrides it, down to the host
root, so tests can point it at a local contract server), timeouts, a per-platform concurrency
limit, retries with jittered backoff that honour ``Retry-After``, idempotency keys where the
vendor supports them, and a per-platform :class:`CircuitBreaker` whose state
:func:`breaker_states` reports for ``sophia-iac status``.

Retry rules (:class:`HttpPolicy` holds the numbers):

* connection failures (nothing was sent) are retried for every method;
* timeouts, dropped connections, 5xx and unreadable bodies are retried only when the request
  is safe to repeat: an idempotent method, or an idempotency key;
* 408, 425 and 429 are retried for every method (the server did not act on the request);
* 409 is retried only when the request is safe to repeat: then it is a transient conflict
  (a concurrent change, an idempotency key still in flight). A 409 on a plain create is
  final ("already exists") and is reported at once;
* every other 4xx is final;
* a ``Retry-After`` header (seconds or an HTTP date) is honoured exactly; with
  ``secondary_limits`` (GitHub) a 403/429 that is a rate limit but carries no header waits
  until ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, otherwise at least
  ``secondary_wait`` (60 s); a wait longer than ``max_retry_wait`` is not slept but raised as
  :class:`RateLimitedError` saying when to try again.

Paths: adapters build every path with :func:`api_path` (re-exported from :mod:`adapters.paths`:
each value percent-quoted as exactly one segment, dot segments, separators, control characters
and look-alikes refused), and :meth:`PlatformClient.request` refuses, before anything is sent,
any path that is not a clean absolute path or whose URL would leave the client's base URL.

Failures become :mod:`orchestrator.errors` types whose messages name the platform and action
(and target where there is one) and never contain a credential: 401/403 →
:class:`PlatformAuthError` naming the credential variable; 404 → ``NotFoundError`` naming the
target; garbage, truncated bodies, timeouts and 5xx storms → ``AdapterError``.

:class:`HttpAdapter` is the base of every adapter whose platform speaks HTTP through this
client: it holds one :class:`PlatformClient` per event loop, built from a few class
attributes, and the ``transport``/``sleep`` injection points the tests use.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import os
import random
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Self

import httpx

from adapters.base import PlatformAdapter, PlatformStatus
from adapters.credentials import SecretRef, credential_for, scrub
from adapters.http_policy import (
    POLICIES,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    HttpPolicy,
    breaker_for,
    breaker_states,
    reset_breakers,
)
from adapters.paths import api_path, check_path, segment
from orchestrator.errors import AdapterError, ConfigError, NotFoundError, SophiaError, ValidationFailedError
from orchestrator.tracing_http import answered, http_span

__all__ = [
    "USER_AGENT",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "HttpAdapter",
    "HttpPolicy",
    "PlatformAuthError",
    "PlatformClient",
    "RateLimitedError",
    "Reply",
    "Sleep",
    "api_path",
    "base_url_for",
    "breaker_for",
    "breaker_states",
    "check_path",
    "make_client",
    "parse_retry_after",
    "reset_breakers",
    "segment",
]

USER_AGENT = "sophia-iac/0.1"

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Retried for every method.
RETRYABLE_4XX = frozenset({408, 425, 429})
#: Retried only when the request is safe to repeat (idempotent method or idempotency key).
RETRYABLE_4XX_IF_SAFE = frozenset({409})
Sleep = Callable[[float], Awaitable[None]]


class PlatformAuthError(ConfigError):
    """The platform rejected the credential (401) or its permissions (403)."""

    code = "auth_failed"


class RateLimitedError(AdapterError):
    """The platform kept answering "slow down" past the retry budget."""

    code = "rate_limited"
    http_status = 429


# -- concurrency limits ------------------------------------------------------------------

_LIMITS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _semaphore(platform: str, limit: int) -> asyncio.Semaphore:
    # One semaphore per platform per event loop: asyncio primitives can't cross loops.
    per_loop = _LIMITS.setdefault(asyncio.get_running_loop(), {})
    sem = per_loop.get(platform)
    if sem is None:
        sem = per_loop[platform] = asyncio.Semaphore(limit)
    return sem


# -- helpers -----------------------------------------------------------------------------


def base_url_for(platform: str, default: str | None, *, default_hint: str = "") -> str:
    """``SOPHIA_<PLATFORM>_BASE_URL`` if set, else ``default``; no trailing slash.

    Raises:
        ConfigError: when neither is available, naming the variable(s) to set.
    """
    var = f"SOPHIA_{platform.upper()}_BASE_URL"
    value = os.environ.get(var, "").strip() or default
    if not value:
        also = f" (or {default_hint})" if default_hint else ""
        raise ConfigError(f"no API address for {platform}", hint=f"set {var}{also}")
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{var} must be an http(s) URL, got {value!r}", hint=f"fix {var}")
    return value.rstrip("/")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date); None if absent/bad."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_bodies(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON objects that may hold the vendor's error fields, outermost first.

    The body itself (GitHub, Snowflake: ``{"code", "message"}``), then a nested ``error`` object
    (OpenAI, OpenRouter, Pinecone, Vercel: ``{"error": {"code", "message"}}``) or the first of
    an ``error`` list (Weaviate: ``{"error": [{"message"}]}``) or of an ``errors`` list (Asana:
    ``{"errors": [{"message"}]}``).
    """
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(body, dict):
        return []
    found = [body]
    for key in ("error", "errors"):
        nested = body.get(key)
        if isinstance(nested, list) and nested:
            nested = nested[0]
        if isinstance(nested, dict):
            found.append(nested)
    return found


def _vendor_code(response: httpx.Response) -> str | None:
    """The vendor's own error code, scrubbed (Snowflake ``code``, Pinecone ``error.code``, …)."""
    for body in _error_bodies(response):
        code = body.get("code")
        if isinstance(code, (str, int)) and not isinstance(code, bool) and str(code):
            return scrub(str(code))[:40]
    return None


def _vendor_message(response: httpx.Response) -> str:
    """A short, scrubbed vendor error message from a JSON body (untrusted text)."""
    for body in _error_bodies(response):
        for key in ("message", "error_description", "error", "err", "detail", "title"):  # err: Figma
            value = body.get(key)
            if isinstance(value, str) and value:
                return scrub(value)[:200]
    return ""


@dataclass
class Reply:
    """A successful answer: status, headers and the parsed JSON body (None when empty)."""

    status: int
    data: Any = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)


@dataclass
class _Ctx:
    platform: str
    action: str
    target: str | None
    credential_var: str

    @property
    def what(self) -> str:
        return f"{self.action} on {self.target}" if self.target else self.action


# -- the client --------------------------------------------------------------------------


class PlatformClient:
    """One platform's HTTP client: retries, breaker, concurrency limit, error mapping.

    Build it with :func:`make_client`. Every call names its catalog ``action`` (or a
    read such as ``github.status``) so that errors and logs say what was being done.
    """

    def __init__(
        self,
        platform: str,
        *,
        base_url: str,
        auth: Callable[[], Mapping[str, str]] | None = None,
        credential_var: str = "",
        headers: Mapping[str, str] | None = None,
        policy: HttpPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Sleep | None = None,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.platform = platform
        self.policy = policy or POLICIES.get(platform, HttpPolicy())
        self.base_url = base_url
        self.credential_var = credential_var or f"SOPHIA_{platform.upper()}_TOKEN"
        self.breaker = breaker or breaker_for(platform, self.policy)
        self._auth = auth
        self._auth_headers: Mapping[str, str] | None = None
        self._sleep: Sleep = sleep or asyncio.sleep
        self._rng = rng
        self._clock = clock
        self.waits: deque[float] = deque(maxlen=100)
        self._headers = {"User-Agent": USER_AGENT, **dict(headers or {})}
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _pool(self) -> httpx.AsyncClient:
        # Connections belong to the event loop that opened them: a caller that runs each call
        # in a fresh loop (asyncio.run per call) gets a fresh pool instead of a dead one.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self._headers,
                timeout=httpx.Timeout(self.policy.timeout, connect=self.policy.connect_timeout),
                transport=self._transport,
                follow_redirects=False,
            )
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        async with _semaphore(self.platform, self.policy.max_concurrency):
            yield

    def _credentials(self) -> Mapping[str, str]:
        if self._auth is None:
            return {}
        if self._auth_headers is None:
            self._auth_headers = dict(self._auth())
        return self._auth_headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        target: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        not_found_ok: bool = False,
    ) -> Reply:
        """Send one logical request (retrying as the policy allows) and return its reply.

        Args:
            action: the catalog action (or read) this request serves; named in errors.
            target: the resource it concerns; named in "not found" errors.
            idempotency_key: makes a non-idempotent request safe to retry (where the
                policy says how the vendor takes it).
            not_found_ok: return ``Reply(404)`` instead of raising on 404 (observe paths).

        Raises:
            PlatformAuthError, NotFoundError, RateLimitedError, CircuitOpenError, AdapterError.
        """
        ctx = _Ctx(self.platform, action, target, self.credential_var)
        self._check_url(path, ctx)
        method = method.upper()
        safe = method in IDEMPOTENT_METHODS or idempotency_key is not None
        query = dict(params or {})
        extra = dict(headers or {})
        if idempotency_key is not None:
            if self.policy.idempotency_param:
                query[self.policy.idempotency_param] = idempotency_key
            if self.policy.idempotency_header:
                extra[self.policy.idempotency_header] = idempotency_key
        auth = self._credentials()
        # Whether an earlier attempt may have reached the platform and been applied: then a
        # later 404 (a retried DELETE) or 409 (a retried create) may be our own first attempt's
        # effect, and any final error leaves the outcome unknown, to be settled by read-back.
        delivered = False
        async with self._slot():
            attempt = 0
            while True:
                attempt += 1
                last = attempt >= self.policy.max_attempts
                if attempt > 1 and idempotency_key is not None and self.policy.retry_flag_param:
                    query[self.policy.retry_flag_param] = "true"
                try:
                    self.breaker.allow(action)
                except SophiaError as exc:
                    raise _with_outcome(exc, delivered, "unsent") from None
                try:
                    with http_span(method, self.base_url, attempt, ctx.platform, action) as sent:
                        response = await self._pool().request(
                            method,
                            path,
                            params=query or None,
                            json=json,
                            data=data,
                            headers={**auth, **extra},
                        )
                        answered(sent, response.status_code)
                except httpx.TransportError as exc:
                    self.breaker.record_failure()
                    unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
                    delivered = delivered or not unsent
                    if (unsent or safe) and not last:
                        await self._wait(self._backoff(attempt))
                        continue
                    raise _with_outcome(self._transport_error(ctx, exc, attempt, delivered), delivered,
                                        "unsent") from None
                # A 5xx or an unreadable success may follow an applied change.
                ambiguous = response.status_code >= 500 or response.status_code < 400
                try:
                    outcome = await self._classify(ctx, response, attempt, safe, last, not_found_ok)
                except SophiaError as exc:
                    raise _with_outcome(exc, delivered or ambiguous, "refused") from None
                if isinstance(outcome, Reply):
                    return outcome
                delivered = delivered or ambiguous
                await self._wait(outcome)

    def _check_url(self, path: str, ctx: _Ctx) -> None:
        """Refuse a path that is unclean or would leave the base URL (nothing is sent)."""
        check_path(path)
        base = httpx.URL(self.base_url)
        url = self._pool().build_request("GET", path).url
        expected = base.raw_path.rstrip(b"/") + path.encode("ascii")
        if (url.scheme, url.host, url.port) != (
            base.scheme,
            base.host,
            base.port,
        ) or url.raw_path != expected:
            raise ValidationFailedError(
                f"{ctx.platform}: the request path for {ctx.what} would leave {self.base_url}",
                hint="name the resource exactly as the platform shows it; nothing was sent",
                details={"platform": ctx.platform, "action": ctx.action},
            )

    async def _classify(
        self, ctx: _Ctx, response: httpx.Response, attempt: int, safe: bool, last: bool, not_found_ok: bool
    ) -> Reply | float:
        """A reply to return, or seconds to wait before the next attempt; raises when final."""
        status = response.status_code
        if status < 400:
            try:
                reply = Reply(status, self._parse(response, ctx), response.headers)
            except AdapterError:
                self.breaker.record_failure()
                if safe and not last:
                    return self._backoff(attempt)
                raise
            self.breaker.record_success()
            return reply
        if status == 404 and not_found_ok:
            self.breaker.record_success()
            return Reply(404, None, response.headers)
        if status == 429 or (status == 403 and self._is_rate_limit(response)):
            self.breaker.record_ignored()
            wait = self._rate_limit_wait(response, attempt)
            if last or wait > self.policy.max_retry_wait:
                raise RateLimitedError(
                    f"{ctx.platform} is rate-limiting {ctx.what} (HTTP {status}, {attempt} attempts)",
                    hint=f"retry in {wait:.0f} s",
                    details={"platform": ctx.platform, "action": ctx.action, "retry_after": wait},
                )
            return wait
        if status in RETRYABLE_4XX or (safe and status in RETRYABLE_4XX_IF_SAFE):
            self.breaker.record_success()
            if not last:
                retry_after = parse_retry_after(response.headers.get("retry-after"), now=self._clock())
                return retry_after if retry_after is not None else self._backoff(attempt)
            raise self._status_error(ctx, response, attempt)
        if status < 500:
            self.breaker.record_success()
            raise self._status_error(ctx, response, attempt)
        self.breaker.record_failure()
        if safe and not last:
            retry_after = parse_retry_after(response.headers.get("retry-after"), now=self._clock())
            return retry_after if retry_after is not None else self._backoff(attempt)
        raise self._status_error(ctx, response, attempt)

    def _parse(self, response: httpx.Response, ctx: _Ctx) -> Any:
        body = response.content
        if not body.strip():
            return None
        ctype = response.headers.get("content-type", "")
        kind = ctype.split(";", 1)[0].strip() or "no content type"
        if "json" not in kind:
            raise AdapterError(
                f"{self.platform} returned an unreadable response ({kind}, {len(body)} bytes,"
                f" HTTP {response.status_code}) where JSON was expected, during {ctx.what}",
                hint=f"{self.platform} or a proxy in front of it is misbehaving; check its status page",
                details={"platform": self.platform, "action": ctx.action, "status": response.status_code,
                         "content_type": kind},
            )
        try:
            return jsonlib.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise AdapterError(
                f"{self.platform} returned malformed or truncated JSON ({len(body)} bytes,"
                f" HTTP {response.status_code}) during {ctx.what}",
                hint=f"{self.platform} or a proxy in front of it is misbehaving; retry later",
                details={"platform": self.platform, "action": ctx.action, "status": response.status_code},
            ) from None

    def _is_rate_limit(self, response: httpx.Response) -> bool:
        headers = response.headers
        if "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0":
            return True
        return "rate limit" in _vendor_message(response).lower()

    def _rate_limit_wait(self, response: httpx.Response, attempt: int) -> float:
        headers = response.headers
        retry_after = parse_retry_after(headers.get("retry-after"), now=self._clock())
        if retry_after is not None:
            return retry_after
        if self.policy.secondary_limits:
            reset = headers.get("x-ratelimit-reset")
            if headers.get("x-ratelimit-remaining") == "0" and reset and reset.isdigit():
                return max(1.0, float(reset) - self._clock())
            return max(self.policy.secondary_wait, self._backoff(attempt))
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base·2^(attempt-1))]."""
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * 2.0 ** (attempt - 1))
        return self._rng() * ceiling

    async def _wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self._sleep(seconds)

    def _status_error(self, ctx: _Ctx, response: httpx.Response, attempt: int) -> Exception:
        status = response.status_code
        vendor = _vendor_message(response)
        said = f": {vendor}" if vendor else ""
        details: dict[str, Any] = {
            "platform": ctx.platform,
            "action": ctx.action,
            "status": status,
            "attempts": attempt,
        }
        if ctx.target:
            details["target"] = ctx.target
        vendor_code = _vendor_code(response)
        if vendor_code:
            details["vendor_code"] = vendor_code
        if status == 401:
            return PlatformAuthError(
                f"{ctx.platform} rejected the credential for {ctx.what} (HTTP 401){said}",
                hint=f"check {ctx.credential_var}: it is missing, expired or revoked",
                details=details,
            )
        if status == 403:
            return PlatformAuthError(
                f"{ctx.platform} refused {ctx.what} (HTTP 403){said}",
                hint=f"the credential in {ctx.credential_var} lacks the permission this needs",
                details=details,
            )
        if status == 404:
            thing = ctx.target or "the requested resource"
            return NotFoundError(
                f"{ctx.platform}: {thing} not found ({ctx.action}){said}",
                hint=f"check the name; `sophia-iac status {ctx.platform}` lists what exists",
                details=details,
            )
        if status < 500:
            return AdapterError(
                f"{ctx.platform} rejected {ctx.what} (HTTP {status}){said}",
                hint="the platform refused the request as sent; see the message for why",
                details=details,
            )
        return AdapterError(
            f"{ctx.platform} failed {ctx.what}: HTTP {status} after {attempt} attempt(s){said}",
            hint=f"{ctx.platform} is having trouble; retry later or check its status page",
            details=details,
        )

    def _transport_error(
        self, ctx: _Ctx, exc: httpx.TransportError, attempt: int, delivered: bool = False
    ) -> AdapterError:
        if isinstance(exc, httpx.TimeoutException):
            what = f"timed out ({type(exc).__name__})"
        elif isinstance(exc, httpx.RemoteProtocolError):
            what = "sent a truncated or malformed response"
        elif isinstance(exc, httpx.ConnectError):
            what = f"could not be reached at {self.base_url}"
        else:
            what = f"connection failed ({type(exc).__name__})"
        return AdapterError(
            f"{ctx.platform} {what} during {ctx.what} after {attempt} attempt(s)",
            hint=(f"the request may have reached {ctx.platform}: the change is settled by reading it back"
                  if delivered else f"check the network and {ctx.platform}'s status; nothing was sent"),
            details={
                "platform": ctx.platform,
                "action": ctx.action,
                "attempts": attempt,
                "error": scrub(str(exc))[:200],
            },
        )


def _with_outcome(exc: SophiaError, delivered: bool, otherwise: str) -> SophiaError:
    """Say on ``exc`` whether the failed request may have been applied (``details["outcome"]``)."""
    exc.details["outcome"] = "unknown" if delivered else otherwise
    return exc


def make_client(
    platform: str,
    *,
    default_base_url: str | None,
    auth: Callable[[], Mapping[str, str]] | None = None,
    credential_var: str = "",
    headers: Mapping[str, str] | None = None,
    policy: HttpPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    breaker: CircuitBreaker | None = None,
    sleep: Sleep | None = None,
    base_url_hint: str = "",
) -> PlatformClient:
    """The factory every adapter uses for its platform's client.

    Args:
        default_base_url: the live API root; ``SOPHIA_<PLATFORM>_BASE_URL`` overrides it.
        auth: returns the auth headers; called lazily on the first request, so a missing
            credential fails the first call (naming the variable), not construction.
        credential_var: the variable named in 401/403 hints.
        transport: an httpx transport (tests route to contract servers through it).
        breaker: defaults to the process-wide breaker of ``platform``.
        sleep: replaces ``asyncio.sleep`` for retry waits (tests record instead of waiting).
    """
    return PlatformClient(
        platform,
        base_url=base_url_for(platform, default_base_url, default_hint=base_url_hint),
        auth=auth,
        credential_var=credential_var,
        headers=headers,
        policy=policy,
        transport=transport,
        breaker=breaker,
        sleep=sleep,
    )


# -- the adapter base --------------------------------------------------------------------


class HttpAdapter(PlatformAdapter):
    """A platform adapter whose platform speaks HTTP through the shared :class:`PlatformClient`.

    :attr:`http` is this event loop's client (connection pools can't cross loops, so a caller
    that runs each call in a fresh loop gets a fresh client), built on first use by
    :func:`make_client` from :attr:`api_base_url`, :attr:`api_headers` and the platform's
    credential. A missing base URL or credential therefore fails the first call, naming the
    variable to set, not construction. Subclasses with other needs override
    :meth:`default_base_url`, :meth:`auth_headers` or :meth:`client_transport`.

    Args:
        transport: an httpx transport for every request (tests route to contract servers).
        sleep: replaces ``asyncio.sleep`` for retry waits and polling pauses (tests record).
    """

    #: The live API root; ``SOPHIA_<PLATFORM>_BASE_URL`` overrides it. None: it must be set.
    api_base_url: ClassVar[str | None] = None
    #: What else can give the address, named when there is none.
    api_base_url_hint: ClassVar[str] = ""
    #: Headers sent with every request besides ``User-Agent`` and the credential.
    api_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        settings: Any = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        super().__init__(settings)
        self.transport = transport
        self.sleep = sleep
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PlatformClient] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def credential_var(self) -> str:
        """The variable named in 401/403 hints: ``SOPHIA_<PLATFORM>_TOKEN``."""
        return SecretRef(self.name).env_var

    def default_base_url(self) -> str | None:
        """The API root when ``SOPHIA_<PLATFORM>_BASE_URL`` is not set."""
        return self.api_base_url

    def auth_headers(self) -> Mapping[str, str]:
        """The credential's headers (read on a client's first request)."""
        return credential_for(self.name).auth_headers()

    def client_transport(self) -> httpx.AsyncBaseTransport | None:
        """The transport a new client sends through (the injected one by default)."""
        return self.transport

    @property
    def http(self) -> PlatformClient:
        """The platform client for the running event loop (built on first use there)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = make_client(
                self.name,
                default_base_url=self.default_base_url(),
                base_url_hint=self.api_base_url_hint,
                auth=self.auth_headers,
                credential_var=self.credential_var,
                headers=self.api_headers,
                transport=self.client_transport(),
                sleep=self.sleep,
            )
        return client

    @property
    def breaker(self) -> CircuitBreaker:
        """The process-wide circuit breaker for this platform's calls."""
        return breaker_for(self.name)

    def failed_status(self, exc: SophiaError) -> PlatformStatus:
        """The status when reading it failed with ``exc``: unhealthy, with the breaker's state.

        ``configured`` is False only for a configuration error; the circuit is None when this
        loop has no client (building it failed).
        """
        client = self._clients.get(asyncio.get_running_loop())
        return PlatformStatus(
            self.name,
            healthy=False,
            configured=exc.code != "config_error",
            message=str(exc),
            details={"circuit": client.breaker.snapshot() if client is not None else None, "error": exc.code},
        )

    async def pause(self, seconds: float) -> None:
        """Wait between polls, through the injected ``sleep`` when there is one."""
        await (self.sleep or asyncio.sleep)(seconds)

    async def aclose(self) -> None:
        """Close this loop's connection pool."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

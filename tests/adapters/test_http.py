"""adapters.http against a real local HTTP server that plays scripted answers.

The server (:mod:`tests.adapters.scripted`, the ``server`` fixture) answers each request with
the next scripted response: a status, headers and body, or a misbehaviour (a truncated body,
a stall past the client's timeout). Retry waits go through an injected ``sleep`` that records the
wait and returns at once, so a 60 s GitHub secondary-limit wait is asserted, not slept.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest

from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.credentials import SCRUBBER
from adapters.http import (
    USER_AGENT,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    HttpAdapter,
    HttpPolicy,
    PlatformAuthError,
    PlatformClient,
    RateLimitedError,
    base_url_for,
    breaker_for,
    breaker_states,
    make_client,
    parse_retry_after,
    reset_breakers,
)
from orchestrator.errors import AdapterError, ConfigError, NotFoundError, SophiaError
from tests.adapters.scripted import Answer, Script

pytestmark = pytest.mark.anyio

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Sleeps:
    """Records retry waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    reset_breakers()
    yield
    reset_breakers()


def client(
    base: str,
    platform: str = "acme",
    *,
    sleep: Sleeps | None = None,
    policy: HttpPolicy | None = None,
    breaker: CircuitBreaker | None = None,
) -> PlatformClient:
    return PlatformClient(
        platform,
        base_url=base,
        auth=lambda: {"Authorization": f"Bearer {TOKEN}"},
        credential_var=f"SOPHIA_{platform.upper()}_TOKEN",
        policy=policy,
        sleep=sleep or Sleeps(),
        breaker=breaker or CircuitBreaker(platform),
    )


# -- success, headers -------------------------------------------------------------------


async def test_success_returns_parsed_json_and_sends_auth_and_user_agent(server: tuple[str, Script]) -> None:
    base, script = server
    script.play(Answer(200, {"name": "ETL_WH", "size": "XSMALL"}))
    async with client(base) as c:
        reply = await c.request("GET", "/things/ETL_WH", action="acme.thing.get", target="ETL_WH")
    assert reply.status == 200
    assert reply.data == {"name": "ETL_WH", "size": "XSMALL"}
    assert script.seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert script.seen[0].headers["user-agent"].startswith("sophia-iac/")


async def test_empty_body_gives_none(server: tuple[str, Script]) -> None:
    base, script = server
    script.play(Answer(204, b""))
    async with client(base) as c:
        reply = await c.request("DELETE", "/things/x", action="acme.thing.delete", target="x")
    assert reply.status == 204 and reply.data is None


# -- retries -----------------------------------------------------------------------------


async def test_get_retries_5xx_with_jittered_backoff(server: tuple[str, Script]) -> None:
    base, script = server
    script.play(Answer(503, {"message": "busy"}), Answer(502, b""), Answer(200, {"ok": 1}))
    sleeps = Sleeps()
    async with client(base, sleep=sleeps, policy=HttpPolicy(backoff_base=1.0, backoff_cap=8.0)) as c:
        reply = await c.request("GET", "/x", action="acme.thing.get")
    assert reply.data == {"ok": 1}
    assert len(script.seen) == 3
    assert len(sleeps.waits) == 2
    assert 0 <= sleeps.waits[0] <= 1.0 and 0 <= sleeps.waits[1] <= 2.0


async def test_retry_after_seconds_is_honoured_exactly(server: tuple[str, Script]) -> None:
    base, script = server
    script.play(Answer(429, {"message": "slow down"}, {"Retry-After": "7"}), Answer(200, {"ok": 1}))
    sleeps = Sleeps()
    async with client(base, sleep=sleeps) as c:
        reply = await c.request("POST", "/x", action="acme.thing.create", json={"a": 1})
    assert reply.data == {"ok": 1}
    assert sleeps.waits == [7.0]
    assert len(script.seen) == 2


async def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 30) == pytest.approx(30.0)
    assert parse_retry_after("not a date") is None
    assert parse_retry_after("-5") == 0.0


async def test_retry_after_beyond_budget_raises_without_sleeping(server: tuple[str, Script]) -> None:
    base, script = server
    script.play(Answer(429, b"", {"Retry-After": "3600"}))
    sleeps = Sleeps()
    async with client(base, sleep=sleeps) as c:
        with pytest.raises(RateLimitedError) as err:
            await c.request("GET", "/x", action="acme.thing.get")
    assert sleeps.waits == []
    assert "3600" in err.value.hint and "acme" in err.value.message


async def test_rate_limit_exhausts_attempts(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(429, b"", {"Retry-After": "1"})
    sleeps = Sleeps()
    async with client(base, sleep=sleeps, policy=HttpPolicy(max_attempts=3)) as c:
        with pytest.raises(RateLimitedError):
            await c.request("GET", "/x", action="acme.thing.get")
    assert len(script.seen) == 3 and sleeps.waits == [1.0, 1.0]


@pytest.mark.parametrize("status", [408, 425])
async def test_retryable_4xx(server: tuple[str, Script], status: int) -> None:
    base, script = server
    script.play(Answer(status, {"message": "again"}), Answer(200, {"ok": 1}))
    async with client(base) as c:
        reply = await c.request("POST", "/x", action="acme.thing.create", json={})
    assert reply.data == {"ok": 1} and len(script.seen) == 2


async def test_409_on_a_post_is_final_and_tried_once(server: tuple[str, Script]) -> None:
    base, script = server
    sleeps = Sleeps()
    script.default = Answer(409, {"error": {"code": "ALREADY_EXISTS", "message": "Resource already exists"}})
    async with client(base, sleep=sleeps) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/x", action="acme.thing.create", target="t1", json={})
    assert len(script.seen) == 1 and sleeps.waits == []
    assert err.value.details["status"] == 409 and err.value.details["attempts"] == 1
    assert err.value.details["vendor_code"] == "ALREADY_EXISTS"
    assert "Resource already exists" in err.value.message


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_409_on_an_idempotent_method_is_retried(server: tuple[str, Script], method: str) -> None:
    base, script = server
    script.play(Answer(409, {"message": "concurrent update"}), Answer(200, {"ok": 1}))
    async with client(base) as c:
        reply = await c.request(
            method, "/x", action="acme.thing.update", json={} if method == "PUT" else None
        )
    assert reply.data == {"ok": 1} and [s.method for s in script.seen] == [method, method]


async def test_409_on_a_keyed_post_is_retried(server: tuple[str, Script]) -> None:
    """A keyed request whose key is still in flight gets 409: waiting and repeating is safe."""
    base, script = server
    script.play(Answer(409, {"message": "request with this key in progress"}), Answer(200, {"ok": 1}))
    policy = HttpPolicy(idempotency_header="Idempotency-Key")
    async with client(base, policy=policy) as c:
        reply = await c.request("POST", "/x", action="acme.thing.create", json={}, idempotency_key="k-9")
    assert reply.data == {"ok": 1} and len(script.seen) == 2
    assert [s.headers["idempotency-key"] for s in script.seen] == ["k-9", "k-9"]


@pytest.mark.parametrize("status", [400, 405, 410, 415, 422])
async def test_other_4xx_are_not_retried(server: tuple[str, Script], status: int) -> None:
    base, script = server
    script.default = Answer(status, {"message": "name already exists"})
    async with client(base) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("GET", "/x", action="acme.thing.create", target="t1")
    assert len(script.seen) == 1
    assert "acme" in err.value.message and "acme.thing.create" in err.value.message
    assert "name already exists" in err.value.message


async def test_post_without_idempotency_key_is_not_retried_on_5xx(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(500, {"message": "oops"})
    async with client(base) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/x", action="acme.thing.create", json={})
    assert len(script.seen) == 1
    assert "HTTP 500" in err.value.message


async def test_idempotency_key_makes_post_retryable_and_marks_retries(server: tuple[str, Script]) -> None:
    base, script = server
    script.play(Answer(503, b""), Answer(504, b""), Answer(200, {"ok": 1}))
    policy = HttpPolicy(
        idempotency_param="requestId", retry_flag_param="retry", idempotency_header="Idempotency-Key"
    )
    async with client(base, policy=policy) as c:
        await c.request("POST", "/api/v2/statements", action="acme.sql", json={}, idempotency_key="k-123")
    assert [s.query.get("requestId") for s in script.seen] == [["k-123"]] * 3
    assert [s.query.get("retry") for s in script.seen] == [None, ["true"], ["true"]]
    assert all(s.headers["idempotency-key"] == "k-123" for s in script.seen)


# -- GitHub secondary rate limits --------------------------------------------------------


async def test_github_secondary_limit_without_header_waits_at_least_60s(server: tuple[str, Script]) -> None:
    base, script = server
    script.play(
        Answer(403, {"message": "You have exceeded a secondary rate limit. Please wait."}),
        Answer(429, {"message": "slow"}),
        Answer(200, {"ok": 1}),
    )
    sleeps = Sleeps()
    async with client(base, "github", sleep=sleeps, policy=HttpPolicy(secondary_limits=True)) as c:
        reply = await c.request("POST", "/repos/o/r/hooks", action="github.webhook.create", json={})
    assert reply.data == {"ok": 1}
    assert len(sleeps.waits) == 2 and all(w >= 60.0 for w in sleeps.waits)


async def test_github_primary_limit_waits_until_reset(server: tuple[str, Script]) -> None:
    base, script = server
    reset = int(time.time()) + 90
    script.play(
        Answer(
            403,
            {"message": "API rate limit exceeded"},
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        ),
        Answer(200, {}),
    )
    sleeps = Sleeps()
    async with client(base, "github", sleep=sleeps, policy=HttpPolicy(secondary_limits=True)) as c:
        await c.request("GET", "/user", action="github.status")
    assert 80 <= sleeps.waits[0] <= 91


async def test_plain_403_is_an_auth_error_naming_the_variable(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(403, {"message": "Resource not accessible by integration"})
    async with client(base, "github", policy=HttpPolicy(secondary_limits=True)) as c:
        with pytest.raises(PlatformAuthError) as err:
            await c.request(
                "PUT",
                "/repos/o/r/branches/main/protection",
                action="github.branch_protection.set",
                target="o/r",
                json={},
            )
    assert len(script.seen) == 1
    assert "SOPHIA_GITHUB_TOKEN" in err.value.hint
    assert err.value.code == "auth_failed" and isinstance(err.value, ConfigError)


# -- error mapping -----------------------------------------------------------------------


async def test_401_names_the_credential_variable(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(401, {"message": "Bad credentials"})
    async with client(base, "snowflake") as c:
        with pytest.raises(PlatformAuthError) as err:
            await c.request("GET", "/api/v2/warehouses", action="snowflake.status")
    assert "SOPHIA_SNOWFLAKE_TOKEN" in err.value.hint
    assert "HTTP 401" in err.value.message and len(script.seen) == 1


async def test_404_names_the_target_or_is_absent_for_observe(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(404, {"message": "Not Found"})
    async with client(base) as c:
        with pytest.raises(NotFoundError) as err:
            await c.request(
                "POST", "/things/GHOST_WH:resume", action="acme.warehouse.resume", target="GHOST_WH"
            )
        reply = await c.request(
            "GET", "/things/GHOST_WH", action="acme.warehouse.get", target="GHOST_WH", not_found_ok=True
        )
    assert "GHOST_WH" in err.value.message and "not found" in err.value.message
    assert reply.status == 404 and reply.data is None


async def test_html_error_page_is_a_clear_adapter_error(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(200, "<html><body>Gateway says hi</body></html>")
    async with client(base) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/x", action="acme.thing.create", json={})
    assert "acme" in err.value.message and "text/html" in err.value.message
    assert len(script.seen) == 1


async def test_malformed_json_on_get_is_retried_then_reported(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(200, b'{"name": "ETL_WH", "si')
    async with client(base, policy=HttpPolicy(max_attempts=2)) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("GET", "/x", action="acme.thing.get")
    assert "malformed or truncated JSON" in err.value.message
    assert len(script.seen) == 2


async def test_truncated_body_is_reported(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(200, {"name": "ETL_WH"}, truncate=True)
    async with client(base, policy=HttpPolicy(max_attempts=2)) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("GET", "/x", action="acme.thing.get")
    assert "truncated" in err.value.message and "acme.thing.get" in err.value.message
    assert len(script.seen) == 2


async def test_timeout_is_reported_with_platform_and_action(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(200, {"late": True}, delay=0.6)
    policy = HttpPolicy(timeout=0.2, max_attempts=2)
    async with client(base, policy=policy) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/x", action="acme.thing.create", target="t", json={})
    assert "timed out" in err.value.message and "acme.thing.create on t" in err.value.message
    assert len(script.seen) == 1, "a POST without an idempotency key is not resent after a timeout"


async def test_connection_refused_is_retried_then_reported() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    async with client(f"http://127.0.0.1:{port}", sleep=sleeps, policy=HttpPolicy(max_attempts=3)) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/x", action="acme.thing.create", json={})
    assert "could not be reached" in err.value.message and len(sleeps.waits) == 2


async def test_errors_never_contain_the_token(server: tuple[str, Script]) -> None:
    base, script = server
    SCRUBBER.register(TOKEN)
    script.default = Answer(422, {"message": f"token {TOKEN} is not allowed here"})
    async with client(base) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("GET", "/x", action="acme.thing.get")
    assert TOKEN not in str(err.value) and TOKEN not in json.dumps(err.value.to_dict())
    assert "[REDACTED]" in err.value.message


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        pytest.param(
            {
                "error": {
                    "message": "Invalid 'model'",
                    "type": "invalid_request_error",
                    "param": "model",
                    "code": "model_not_found",
                }
            },
            "Invalid 'model'",
            "model_not_found",
            id="openai",
        ),
        pytest.param(
            {"error": {"code": "INVALID_ARGUMENT", "message": "Dimension must be positive"}, "status": 400},
            "Dimension must be positive",
            "INVALID_ARGUMENT",
            id="pinecone",
        ),
        pytest.param(
            {"error": {"code": 400, "message": "Limit must be non-negative", "metadata": {}}},
            "Limit must be non-negative",
            "400",
            id="openrouter-numeric-code",
        ),
        pytest.param(
            {"error": [{"message": "class name is invalid"}]},
            "class name is invalid",
            None,
            id="weaviate-list",
        ),
        pytest.param(
            {"errors": [{"message": "workspace: Not a recognized ID", "help": "see the docs"}]},
            "workspace: Not a recognized ID",
            None,
            id="asana-errors-list",
        ),
        pytest.param({"status": 403, "err": "Invalid token"}, "Invalid token", None, id="figma-err"),
        pytest.param(
            {"code": "002003", "message": "SQL compilation error", "error": {"code": "other"}},
            "SQL compilation error",
            "002003",
            id="top-level-first",
        ),
        pytest.param(
            {"ok": False, "error": "channel_not_found"}, "channel_not_found", None, id="slack-string"
        ),
    ],
)
async def test_vendor_message_and_code_are_read_from_nested_error_bodies(
    server: tuple[str, Script], body: dict[str, Any], message: str, code: str | None
) -> None:
    base, script = server
    script.default = Answer(400, body)
    async with client(base) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/x", action="acme.thing.create", json={})
    assert err.value.message.endswith(f"(HTTP 400): {message}")
    assert err.value.details.get("vendor_code") == code


async def test_nested_vendor_message_and_code_are_scrubbed(server: tuple[str, Script]) -> None:
    base, script = server
    SCRUBBER.register(TOKEN)
    script.default = Answer(401, {"error": {"code": TOKEN, "message": f"Invalid API key {TOKEN}"}})
    async with client(base) as c:
        with pytest.raises(PlatformAuthError) as err:
            await c.request("GET", "/x", action="acme.thing.get")
    dumped = json.dumps(err.value.to_dict())
    assert TOKEN not in str(err.value) and TOKEN not in dumped
    assert "Invalid API key [REDACTED]" in err.value.message
    assert err.value.details["vendor_code"] == "[REDACTED]"


# -- 5xx storm and the breaker -----------------------------------------------------------


async def test_5xx_storm_opens_the_breaker_and_then_fails_fast(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(500, {"message": "down"})
    breaker = CircuitBreaker("acme")
    async with client(base, breaker=breaker, policy=HttpPolicy(max_attempts=3)) as c:
        with pytest.raises(AdapterError):
            await c.request("GET", "/x", action="acme.thing.get")
        assert breaker.state is BreakerState.CLOSED and len(script.seen) == 3
        with pytest.raises(CircuitOpenError) as err:
            await c.request("GET", "/x", action="acme.thing.get")
        assert len(script.seen) == 5, "the fifth failure opens the breaker; the sixth attempt is not sent"
        with pytest.raises(CircuitOpenError):
            await c.request("GET", "/x", action="acme.thing.list")
    assert len(script.seen) == 5
    assert breaker.state is BreakerState.OPEN
    assert err.value.details["circuit"]["state"] == "open"
    assert "acme" in err.value.message


async def test_429s_do_not_open_the_breaker(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(429, b"", {"Retry-After": "0"})
    breaker = CircuitBreaker("acme")
    async with client(base, breaker=breaker, policy=HttpPolicy(max_attempts=4)) as c:
        for _ in range(3):
            with pytest.raises(RateLimitedError):
                await c.request("GET", "/x", action="acme.thing.get")
    assert len(script.seen) == 12
    assert breaker.state is BreakerState.CLOSED and breaker.counts() == (0, 0)


async def test_concurrency_limit_is_enforced(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(200, {"ok": 1}, delay=0.15)
    async with client(base, "limited", policy=HttpPolicy(max_concurrency=2)) as c:
        await asyncio.gather(*(c.request("GET", f"/x/{i}", action="limited.get") for i in range(6)))
    assert len(script.seen) == 6 and script.peak == 2


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_state_machine_with_a_fake_clock() -> None:
    # Pure state machine: no HTTP involved; the clock is fake so the 30 s pause is instant.
    clock = FakeClock()
    b = CircuitBreaker("p", window=60, min_calls=5, failure_rate=0.5, open_seconds=30, probes=2, clock=clock)
    for ok in (True, True, True, False, False):
        b.allow("a")
        b.record_success() if ok else b.record_failure()
    assert b.state is BreakerState.CLOSED, "2 of 5 failed: under 50 %"
    b.allow("a")
    b.record_failure()
    assert b.state is BreakerState.OPEN, "3 of 6 failed: 50 % over ≥ 5 calls"
    with pytest.raises(CircuitOpenError):
        b.allow("a")
    clock.now += 30
    assert b.state is BreakerState.HALF_OPEN
    b.allow("probe")
    with pytest.raises(CircuitOpenError):
        b.allow("second caller while a probe is in flight")
    b.record_failure()
    assert b.state is BreakerState.OPEN and b.times_opened == 2
    clock.now += 30
    b.allow("probe")
    b.record_success()
    assert b.state is BreakerState.HALF_OPEN
    b.allow("probe")
    b.record_success()
    assert b.state is BreakerState.CLOSED and b.counts() == (0, 0)


def test_breaker_window_forgets_old_failures() -> None:
    clock = FakeClock()
    b = CircuitBreaker("p", clock=clock)
    for _ in range(4):
        b.record_failure()
    clock.now += 61
    b.record_failure()
    assert b.state is BreakerState.CLOSED and b.counts() == (1, 1)
    for _ in range(4):
        b.record_failure()
    assert b.state is BreakerState.OPEN


def test_breaker_needs_min_calls() -> None:
    b = CircuitBreaker("p", clock=FakeClock())
    for _ in range(4):
        b.record_failure()
    assert b.state is BreakerState.CLOSED


def test_breaker_states_are_queryable_for_status() -> None:
    breaker_for("snowflake").record_failure()
    states = breaker_states()
    assert states["snowflake"]["state"] == "closed"
    assert states["snowflake"]["failures"] == 1


# -- base URL ----------------------------------------------------------------------------


def test_base_url_env_override_down_to_host_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_ACME_BASE_URL", "http://127.0.0.1:4010/")
    assert base_url_for("acme", "https://api.acme.com/v1") == "http://127.0.0.1:4010"
    monkeypatch.delenv("SOPHIA_ACME_BASE_URL")
    assert base_url_for("acme", "https://api.acme.com/v1") == "https://api.acme.com/v1"


def test_base_url_missing_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPHIA_ACME_BASE_URL", raising=False)
    with pytest.raises(ConfigError) as err:
        base_url_for("acme", None, default_hint="SOPHIA_ACME_ACCOUNT")
    assert "SOPHIA_ACME_BASE_URL" in err.value.hint and "SOPHIA_ACME_ACCOUNT" in err.value.hint


async def test_make_client_uses_env_base_url_and_lazy_auth(
    server: tuple[str, Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, script = server
    monkeypatch.setenv("SOPHIA_ACME_BASE_URL", base)
    calls: list[int] = []

    def auth() -> dict[str, str]:
        calls.append(1)
        raise ConfigError("no token configured for acme", hint="set SOPHIA_ACME_TOKEN")

    c = make_client("acme", default_base_url="https://api.acme.invalid", auth=auth)
    assert c.base_url == base and calls == []
    with pytest.raises(ConfigError) as err:
        await c.request("GET", "/x", action="acme.thing.get")
    await c.aclose()
    assert "SOPHIA_ACME_TOKEN" in err.value.hint and script.seen == []


# -- HttpAdapter: the plumbing every REST adapter shares ------------------------------------


class AcmeAdapter(HttpAdapter):
    """The smallest HttpAdapter: no default address, JSON accepted, bearer token."""

    name: ClassVar[str] = "acme"
    stack: ClassVar[Stack] = Stack.OPS
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    def predict(self, call: ActionCall, before: State) -> State:
        return before

    async def get_status(self) -> PlatformStatus:
        try:
            await self.http.request("GET", "/status", action="acme.status")
        except SophiaError as exc:
            return self.failed_status(exc)
        return PlatformStatus("acme", healthy=True)


@pytest.fixture
def acme(server: tuple[str, Script], monkeypatch: pytest.MonkeyPatch, isolated_env: Any) -> Script:
    monkeypatch.setenv("SOPHIA_ACME_BASE_URL", server[0])
    monkeypatch.setenv("SOPHIA_ACME_TOKEN", TOKEN)
    return server[1]


async def test_http_adapter_builds_its_client_from_class_attributes(acme: Script) -> None:
    sleeps = Sleeps()
    adapter = AcmeAdapter(sleep=sleeps)
    acme.answers = [Answer(503), Answer(200, {"ok": True})]
    reply = await adapter.http.request("GET", "/things", action="acme.thing.get")
    await adapter.aclose()
    assert reply.data == {"ok": True} and len(sleeps.waits) == 1  # the injected sleep took the wait
    seen = acme.seen[-1]
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["user-agent"] == USER_AGENT
    assert adapter.breaker is breaker_for("acme") is adapter.http.breaker


def test_http_adapter_keeps_one_client_per_event_loop(acme: Script) -> None:
    adapter = AcmeAdapter()

    async def use() -> tuple[PlatformClient, PlatformClient]:
        first = adapter.http
        await first.request("GET", "/x", action="acme.thing.get")
        return first, adapter.http

    one, again = asyncio.run(use())
    two, _ = asyncio.run(use())  # a fresh loop (as the CLI's asyncio.run per call) gets a fresh pool
    assert one is again and two is not one and len(acme.seen) == 2

    async def close() -> None:
        current = adapter.http
        await adapter.aclose()
        assert adapter.http is not current  # closed and forgotten: the next use builds a new one

    asyncio.run(close())


async def test_http_adapter_without_an_address_fails_the_call_not_construction(
    isolated_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = AcmeAdapter()  # nothing configured: constructing is fine
    status = await adapter.get_status()
    assert (status.healthy, status.configured) == (False, False)
    assert status.details == {"circuit": None, "error": "config_error"}
    assert "no API address for acme" in status.message


async def test_http_adapter_status_failure_reports_the_breaker(acme: Script) -> None:
    adapter = AcmeAdapter(sleep=Sleeps())
    acme.default = Answer(500)
    status = await adapter.get_status()
    await adapter.aclose()
    assert (status.healthy, status.configured) == (False, True)
    assert status.details["error"] == "platform_error"
    assert status.details["circuit"]["failures"] >= 1

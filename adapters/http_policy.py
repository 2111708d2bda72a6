"""Retry and circuit-breaker policy for the shared HTTP client (:mod:`adapters.http`).

:class:`HttpPolicy` holds one platform's timeouts, retry budget, idempotency and breaker
settings (:data:`POLICIES` has the vendor-specific ones); :class:`CircuitBreaker` is the
process-wide breaker per platform that :func:`breaker_states` reports for ``sophia-iac status``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from orchestrator.errors import AdapterError

__all__ = [
    "POLICIES",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "HttpPolicy",
    "breaker_for",
    "breaker_states",
    "reset_breakers",
]


class CircuitOpenError(AdapterError):
    """Calls to the platform are paused because too many recent calls failed."""

    code = "circuit_open"
    http_status = 503


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts, retry, rate-limit, idempotency and breaker settings for one platform."""

    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 20.0
    max_retry_wait: float = 300.0
    max_concurrency: int = 8
    secondary_limits: bool = False
    secondary_wait: float = 60.0
    idempotency_param: str | None = None
    idempotency_header: str | None = None
    retry_flag_param: str | None = None
    breaker_window: float = 60.0
    breaker_min_calls: int = 5
    breaker_failure_rate: float = 0.5
    breaker_open_seconds: float = 30.0
    breaker_probes: int = 2


#: Vendor-specific rules; every other platform gets ``HttpPolicy()``.
POLICIES: dict[str, HttpPolicy] = {
    # docs.github.com rate-limits-for-the-rest-api: secondary limits, ≤100 concurrent.
    "github": HttpPolicy(secondary_limits=True, max_concurrency=8),
    # SQL API: requestId makes a submission idempotent; resubmit with retry=true.
    "snowflake": HttpPolicy(idempotency_param="requestId", retry_flag_param="retry"),
    # Lambda Cloud API v1.10: "generally limited to one request per second" (launch: one per 12 s,
    # paced by the adapter); one at a time, and longer backoff when a 429 comes without Retry-After.
    "lambdalabs": HttpPolicy(max_concurrency=1, backoff_base=1.0, max_attempts=5),
}


# -- circuit breaker ---------------------------------------------------------------------


class BreakerState(StrEnum):
    """Closed: calls flow. Open: calls fail fast. Half-open: one probe at a time."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens when ≥ ``failure_rate`` of ≥ ``min_calls`` calls in ``window`` seconds failed.

    Rate-limit answers (429) are neither failures nor successes. After ``open_seconds``
    the breaker lets one probe through at a time; ``probes`` successes in a row close it,
    one failure opens it again.
    """

    def __init__(
        self,
        platform: str,
        *,
        window: float = 60.0,
        min_calls: int = 5,
        failure_rate: float = 0.5,
        open_seconds: float = 30.0,
        probes: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.platform = platform
        self.window = window
        self.min_calls = min_calls
        self.failure_rate = failure_rate
        self.open_seconds = open_seconds
        self.probes = probes
        self._clock = clock
        self._events: deque[tuple[float, bool]] = deque()
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probe_in_flight = False
        self._probe_successes = 0
        self.times_opened = 0

    @classmethod
    def from_policy(cls, platform: str, policy: HttpPolicy, **kwargs: Any) -> CircuitBreaker:
        """A breaker with the policy's window, thresholds and probe count."""
        return cls(
            platform,
            window=policy.breaker_window,
            min_calls=policy.breaker_min_calls,
            failure_rate=policy.breaker_failure_rate,
            open_seconds=policy.breaker_open_seconds,
            probes=policy.breaker_probes,
            **kwargs,
        )

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker turns half-open once its pause is over)."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.open_seconds:
            self._state = BreakerState.HALF_OPEN
            self._probe_in_flight = False
            self._probe_successes = 0
        return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.open_seconds - (self._clock() - self._opened_at))

    def _prune(self) -> None:
        horizon = self._clock() - self.window
        while self._events and self._events[0][0] < horizon:
            self._events.popleft()

    def counts(self) -> tuple[int, int]:
        """(calls, failures) in the current window."""
        self._prune()
        failures = sum(1 for _, ok in self._events if not ok)
        return len(self._events), failures

    def allow(self, action: str) -> None:
        """Let a call through or raise :class:`CircuitOpenError`."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return
        wait = self.retry_in()
        raise CircuitOpenError(
            f"{self.platform} calls are paused (circuit {state.value}) after repeated failures;"
            f" {action} was not sent",
            hint=(
                f"retry in {wait:.0f} s; `sophia-iac status {self.platform}` shows the breaker"
                if wait
                else f"a probe call to {self.platform} is in flight; retry in a few seconds"
            ),
            details={"platform": self.platform, "action": action, "circuit": self.snapshot()},
        )

    def record_success(self) -> None:
        """A call got an answer from a working platform (2xx–4xx other than 429)."""
        if self._state is BreakerState.HALF_OPEN:
            self._probe_in_flight = False
            self._probe_successes += 1
            if self._probe_successes >= self.probes:
                self._state = BreakerState.CLOSED
                self._events.clear()
            return
        self._events.append((self._clock(), True))

    def record_failure(self) -> None:
        """A call failed on the platform's side (5xx, timeout, transport error, garbage)."""
        if self._state is BreakerState.HALF_OPEN:
            self._open()
            return
        self._events.append((self._clock(), False))
        calls, failures = self.counts()
        if calls >= self.min_calls and failures / calls >= self.failure_rate:
            self._open()

    def record_ignored(self) -> None:
        """A rate-limit answer: frees a half-open probe slot, counts for nothing."""
        if self._state is BreakerState.HALF_OPEN:
            self._probe_in_flight = False

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._probe_in_flight = False
        self._probe_successes = 0
        self._events.clear()
        self.times_opened += 1

    def reset(self) -> None:
        """Back to closed with an empty window."""
        self._state = BreakerState.CLOSED
        self._events.clear()
        self._probe_in_flight = False
        self._probe_successes = 0

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state for ``status``: state, window counts, seconds until a probe."""
        state = self.state
        calls, failures = self.counts()
        return {
            "state": state.value,
            "calls": calls,
            "failures": failures,
            "retry_in_seconds": round(self.retry_in(), 1),
            "times_opened": self.times_opened,
        }


_BREAKERS: dict[str, CircuitBreaker] = {}


def breaker_for(platform: str, policy: HttpPolicy | None = None) -> CircuitBreaker:
    """The process-wide breaker of ``platform`` (created on first use)."""
    breaker = _BREAKERS.get(platform)
    if breaker is None:
        breaker = CircuitBreaker.from_policy(platform, policy or POLICIES.get(platform, HttpPolicy()))
        _BREAKERS[platform] = breaker
    return breaker


def breaker_states() -> dict[str, dict[str, Any]]:
    """Every platform breaker's :meth:`CircuitBreaker.snapshot`, for ``sophia-iac status``."""
    return {name: breaker.snapshot() for name, breaker in sorted(_BREAKERS.items())}


def reset_breakers() -> None:
    """Forget every breaker (tests)."""
    _BREAKERS.clear()

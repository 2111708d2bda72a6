"""The conformance suite's fault matrix: every mutating action, five transport faults, one truth.

For each fault kind the scenario is replayed through the real write-ahead executor and ledger
(a fresh SQLite store), with the fault injected at the transport into the first mutating
request of every mutating action:

* ``lost`` — the vendor applies the request and the answer is lost (the connection times out
  after the request was delivered);
* ``5xx_after`` — the vendor applies it and answers 503;
* ``timeout_before`` — the request times out before the vendor sees it;
* ``429`` — the vendor answers 429 with ``Retry-After: 1`` without acting;
* ``twice`` — the request is delivered and the connection drops before the answer
  (``RemoteProtocolError``); any retry the client makes is delivered as well, so the vendor
  can see the request twice.

After the executor records its outcome and the reconciler runs, every change record must be
settled (``applied`` or ``failed``, never ``pending`` or ``needs_reconcile``), agree with the
platform read back (``applied`` → the predicted state, ``failed`` → the before-state), and no
non-idempotent request may have been applied twice (two successful answers to the same POST
without an idempotency key). A step recorded ``failed`` is then applied again, fault-free, so
the scenario continues from the state it expects.

An adapter with no read-back (``read_back`` False) can't settle anything: there every record
must be ``applied`` only with ``verified`` False and only when an answer got through (a lost
answer is never a success), ``failed`` only when the platform (the test's view of it,
``platform_state``) is as before, or ``needs_reconcile``; whatever was not applied is then sent
again, fault-free.

HTTP adapters get the injection for free (:class:`FaultTransport` wraps ``adapter.transport``);
others override :meth:`FaultMatrixTests.install_faults`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import httpx
import pytest

from adapters.base import PlatformAdapter, State
from adapters.catalog import ActionCall

__all__ = ["FAULT_KINDS", "FaultInjector", "FaultMatrixTests", "FaultTransport", "Tally", "apply_through_ledger", "is_mutating"]

FAULT_KINDS = ("lost", "5xx_after", "timeout_before", "429", "twice")

_READ_SQL = re.compile(r"\s*(SHOW|DESC|DESCRIBE|SELECT)\b", re.IGNORECASE)


def is_mutating(request: httpx.Request, read_only_posts: Collection[str] = ()) -> bool:
    """Whether a request may change the platform (GraphQL queries and read SQL are POSTs that don't).

    ``read_only_posts``: path endings of POST operations the vendor documents as reads (Apollo's
    searches), from the adapter's ``read_only_posts``.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    if request.method == "POST" and read_only_posts and request.url.path.endswith(tuple(read_only_posts)):
        return False
    try:
        body = json.loads(request.content or b"null")
    except ValueError:
        return True
    if isinstance(body, dict):
        query = body.get("query")
        if isinstance(query, str):
            return query.lstrip().startswith("mutation")
        statement = body.get("statement")
        if isinstance(statement, str):
            return not _READ_SQL.match(statement)
    return True


def _keyed(request: httpx.Request) -> bool:
    """Whether the request carries an idempotency key (the vendor dedupes a repeat)."""
    return "requestId" in request.url.params or any(h.lower() == "idempotency-key" for h in request.headers)


@dataclass
class Tally:
    """What crossed the transport during one armed action."""

    delivered: list[tuple[str, str, bytes, int]] = field(default_factory=list)
    injected: int = 0
    #: Mutating requests that reached the transport (delivered to the vendor or not).
    seen: int = 0

    def duplicates(self) -> list[tuple[str, str]]:
        """Non-idempotent requests (POST, no idempotency key) the vendor answered 2xx more than once."""
        seen: dict[tuple[str, str, bytes], int] = {}
        for method, path, body, status in self.delivered:
            if method == "POST" and 200 <= status < 300:
                seen[(method, path, body)] = seen.get((method, path, body), 0) + 1
        return [(m, p) for (m, p, _), n in seen.items() if n > 1]


class FaultInjector(Protocol):
    """What :meth:`FaultMatrixTests.install_faults` yields."""

    def arm(self) -> Tally:
        """Inject the fault into the next mutating request; returns a fresh tally."""

    def disarm(self) -> None:
        """Pass everything through."""


class FaultTransport(httpx.AsyncBaseTransport):
    """Wraps the adapter's transport; injects ``kind`` into the first mutating request once armed."""

    def __init__(self, inner: httpx.AsyncBaseTransport, kind: str, read_only_posts: Collection[str] = ()) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}")
        self.inner, self.kind = inner, kind
        self.read_only_posts = tuple(read_only_posts)
        self.armed = False
        self.tally = Tally()
        self.schedule: list[str | None] = []

    def arm(self, schedule: list[str | None] | None = None) -> Tally:
        """Inject into the next mutating request(s); returns a fresh tally.

        Without ``schedule``, the next mutating request gets ``kind``; with one, each mutating
        request takes the next entry (a fault kind, or None to pass), until it runs out.
        """
        self.armed, self.tally = True, Tally()
        self.schedule = list(schedule) if schedule is not None else [self.kind]
        return self.tally

    def disarm(self) -> None:
        """Pass everything through."""
        self.armed, self.schedule = False, []

    async def _deliver(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if is_mutating(request, self.read_only_posts) and not _keyed(request):
            self.tally.delivered.append((request.method, request.url.path, request.content, response.status_code))
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        mutating = is_mutating(request, self.read_only_posts)
        self.tally.seen += mutating
        kind = self.schedule.pop(0) if self.armed and mutating and self.schedule else None
        if kind is None:
            return await self._deliver(request)
        self.tally.injected += 1
        if kind == "timeout_before":
            raise httpx.ReadTimeout("fault: no answer, and the request never arrived", request=request)
        if kind == "429":
            return httpx.Response(429, headers={"retry-after": "1", "content-type": "application/json"},
                                  content=b'{"message": "fault: slow down"}', request=request)
        response = await self._deliver(request)
        await response.aread()
        if kind == "lost":
            raise httpx.ReadTimeout("fault: the vendor applied it; the answer was lost", request=request)
        if kind == "twice":
            raise httpx.RemoteProtocolError("fault: server disconnected after applying", request=request)
        return httpx.Response(503, headers={"content-type": "application/json"},
                              content=b'{"message": "fault: applied, then failed"}', request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def apply_through_ledger(store: Any, adapter: PlatformAdapter, call: ActionCall,
                               *, lock_ttl: int = 60) -> dict[str, Any]:
    """One call through the real write-ahead executor; returns its change record (as a dict).

    Raises:
        ValidationFailedError, NotFoundError: refused before anything was recorded or sent.
    """
    from adapters.registry import spec_for
    from orchestrator.executor import Executor
    from orchestrator.state import Plan, Step
    from state.store import new_id

    spec = spec_for(call.action)
    call = spec.call(call.target, call.params)  # validated and normalised, as the planner does
    before = await adapter.observe(call)
    step = Step(seq=1, call=call, risk=spec.risk.value, reversible=spec.reversible, before=before,
                expected=adapter.predict(call, before))
    deps = SimpleNamespace(store=store, adapters=_OnePool(adapter),
                           settings=SimpleNamespace(lock_ttl_seconds=lock_ttl))
    outcome = await Executor(deps).apply(new_id("run"), Plan(steps=[step]), "test:faults")  # type: ignore[arg-type]
    if not outcome.changes:
        from orchestrator.errors import NotFoundError, ValidationFailedError

        error = outcome.error or {}
        kind = NotFoundError if error.get("code") == NotFoundError.code else ValidationFailedError
        raise kind(f"{call.action}: refused before anything was recorded: {error.get('message')}")
    return outcome.changes[-1]


class _OnePool:
    def __init__(self, adapter: PlatformAdapter) -> None:
        self.adapter = adapter

    def get(self, platform: str) -> PlatformAdapter:
        assert platform == self.adapter.name, f"the fault matrix drives only {self.adapter.name}"
        return self.adapter


class FaultMatrixTests:
    """Mixed into :class:`adapters.testing.AdapterConformanceTests` (see the module doc)."""

    def platform_state(self, adapter: PlatformAdapter, call: ActionCall) -> State:
        """What the platform shows for ``call``'s target: ``observe``, for an adapter that can read back.

        An adapter with ``read_back`` False can't: its test module overrides this with the
        test's own view of the platform.
        """
        from adapters.testing import run

        if not type(adapter).read_back:
            raise NotImplementedError(f"{type(adapter).__name__} can't read back: override platform_state")
        return run(adapter.observe(call))

    @pytest.fixture(params=FAULT_KINDS)
    def fault_kind(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @contextmanager
    def install_faults(self, adapter: PlatformAdapter, kind: str) -> Iterator[FaultInjector]:
        """Route the adapter's requests through a :class:`FaultTransport` (HTTP adapters)."""
        inner = getattr(adapter, "transport", None)
        assert isinstance(inner, httpx.AsyncBaseTransport), (
            f"{type(adapter).__name__} has no httpx transport: override install_faults for it")
        faults = FaultTransport(inner, kind, getattr(type(adapter), "read_only_posts", ()))
        adapter.transport = faults
        try:
            yield faults
        finally:
            adapter.transport = inner

    def test_fault_matrix(self, adapter: PlatformAdapter, scenario: list[ActionCall], fault_kind: str,
                          tmp_path: Path) -> None:
        from adapters.testing import run
        from orchestrator.reconcile import reconcile_store
        from orchestrator.settle import comparable
        from state.models import ChangeStatus
        from state.store import Store

        store = Store(f"sqlite:///{tmp_path / 'faults.db'}")
        store.setup()
        pool = _OnePool(adapter)
        injected = 0
        try:
            with self.install_faults(adapter, fault_kind) as faults:
                for call in scenario:
                    if not adapter.spec(call.action).mutating:
                        run(adapter.configure(call))
                        continue
                    call = adapter.spec(call.action).call(call.target, call.params)
                    shown = None if type(adapter).read_back else self.platform_state(adapter, call)
                    tally = faults.arm()
                    recorded = run(apply_through_ledger(store, adapter, call))
                    faults.disarm()
                    injected += tally.injected
                    run(reconcile_store(store, pool))  # type: ignore[arg-type]
                    change = store.ledger.get(recorded["id"])
                    where = f"{fault_kind} on {call.action} {call.target}"
                    if not type(adapter).read_back:
                        self._check_unverified(store, adapter, call, change, tally, shown, where)
                        continue
                    observed = run(adapter.observe(call))
                    assert change.status in (ChangeStatus.APPLIED, ChangeStatus.FAILED), (
                        f"{where}: left {change.status} after reconcile ({change.error})")
                    if change.status == ChangeStatus.APPLIED:
                        assert adapter.reached(call, change.expected, observed), (
                            f"{where}: ledger says applied, platform shows {observed}")
                    else:
                        assert comparable(observed) == comparable(change.before), (
                            f"{where}: ledger says failed, platform shows {observed}, not {change.before}")
                    assert not tally.duplicates(), f"{where}: applied twice: {tally.duplicates()}"
                    if change.status == ChangeStatus.FAILED:
                        redo = run(apply_through_ledger(store, adapter, call))
                        assert redo["status"] == ChangeStatus.APPLIED, f"{where}: the retry {redo}"
        finally:
            store.dispose()
        assert injected >= 1, "no fault was injected: the scenario sent no mutating request"

    def _check_unverified(self, store: Any, adapter: PlatformAdapter, call: ActionCall, change: Any, tally: Tally,
                          shown: Any, where: str) -> None:
        """The fault matrix for an adapter with no read-back (see the module doc)."""
        from adapters.testing import run
        from orchestrator.settle import comparable
        from state.models import ChangeStatus

        observed = self.platform_state(adapter, call)
        assert change.verified is not True, f"{where}: recorded verified without a read-back"
        assert not tally.duplicates(), f"{where}: applied twice: {tally.duplicates()}"
        assert change.status in (ChangeStatus.APPLIED, ChangeStatus.FAILED, ChangeStatus.NEEDS_RECONCILE), (
            f"{where}: left {change.status} after reconcile ({change.error})")
        if change.status == ChangeStatus.APPLIED:
            assert change.verified is False, f"{where}: applied without being marked unverified"
            assert tally.seen > tally.injected, f"{where}: recorded applied, but no answer got through"
            assert adapter.reached(call, change.expected, observed), f"{where}: applied, platform shows {observed}"
            return
        if change.status == ChangeStatus.FAILED:
            assert comparable(observed) == comparable(shown), f"{where}: failed, platform shows {observed}, not {shown}"
        redo = run(apply_through_ledger(store, adapter, call))
        assert redo["status"] == ChangeStatus.APPLIED and redo["verified"] is False, f"{where}: the retry {redo}"

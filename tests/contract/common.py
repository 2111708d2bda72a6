"""Set-up the adapters' contract and conformance tests share (the tests themselves stay per platform).

* :func:`pointed_at` points a platform's adapter at a contract server: its base URL, its token
  (or none) and any other variables, with the process-wide circuit breakers fresh before and
  after, so one test's failures never open another's breaker;
* :func:`checked` does that for a conformance suite's recording transport and, once the test
  is over, asserts Prism found no request-side violation in anything sent through it;
* :func:`closed_after` closes a conformance suite's adapter (on the suite's own loop) afterwards;
* :func:`sent` lists what was sent; :func:`assert_catalog_covered` checks that every catalog
  action has a case in each table and a handler on the adapter.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest

from adapters.base import PlatformAdapter
from adapters.catalog import ActionSpec
from adapters.http import reset_breakers
from adapters.testing import run

from .prism import Exchange, RecordingTransport, assert_no_request_violations

__all__ = ["assert_catalog_covered", "checked", "closed_after", "pointed_at", "sent"]

A = TypeVar("A", bound=PlatformAdapter)
T = TypeVar("T", bound=RecordingTransport)


@contextmanager
def pointed_at(
    monkeypatch: pytest.MonkeyPatch, platform: str, base_url: str, token: str | None, **env: str
) -> Iterator[None]:
    """``SOPHIA_<PLATFORM>_BASE_URL`` and ``_TOKEN`` (unset when ``token`` is None), plus ``env``."""
    prefix = f"SOPHIA_{platform.upper()}"
    monkeypatch.setenv(f"{prefix}_BASE_URL", base_url)
    if token is None:
        monkeypatch.delenv(f"{prefix}_TOKEN", raising=False)
    else:
        monkeypatch.setenv(f"{prefix}_TOKEN", token)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_breakers()
    yield
    reset_breakers()


@contextmanager
def checked(
    monkeypatch: pytest.MonkeyPatch, platform: str, base_url: str, token: str | None, transport: T, **env: str
) -> Iterator[T]:
    """:func:`pointed_at`, yielding ``transport``; afterwards every exchange must be violation-free."""
    with pointed_at(monkeypatch, platform, base_url, token, **env):
        yield transport
    assert_no_request_violations(transport.exchanges)


@contextmanager
def closed_after(adapter: A) -> Iterator[A]:
    """Yield ``adapter``; close its connections afterwards (synchronous suites)."""
    yield adapter
    run(adapter.aclose())


def sent(exchanges: Iterable[Exchange]) -> list[tuple[str, str]]:
    """``(method, path)`` of every exchange, in order."""
    return [(ex.request.method, ex.request.url.path) for ex in exchanges]


def assert_catalog_covered(
    adapter: type[PlatformAdapter], actions: Iterable[ActionSpec], *tables: Collection[str]
) -> None:
    """Every action of the catalog is a key of each table and has a ``do_…`` handler."""
    specs = list(actions)
    for table in tables:
        assert set(table) == {spec.id for spec in specs}
    for spec in specs:
        assert callable(getattr(adapter, adapter.handler_name(spec)))

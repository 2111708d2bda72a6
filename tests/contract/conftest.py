"""Session fixtures for contract tests: the specs folder, and a pool of Prism servers.

Each spec file gets one Prism server per test session, on a free 127.0.0.1 port, started the
first time a test asks for it. The documents are the project's own copies
(``tests/contracts/vendor``, or ``SOPHIA_SPECS_DIR``); Prism is installed on first use when npm
is there (:mod:`.provision`). Tests skip with one line saying why when either can't be had.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .prism import PrismPool
from .provision import SKIP_TAG, ensure_prism, specs_dir


@pytest.fixture
def anyio_backend() -> str:
    """Async contract tests run on asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
def specs_root() -> Path:
    """The vendor contracts folder, or skip."""
    root = specs_dir()
    if not root.is_dir():
        pytest.skip(f"{SKIP_TAG} vendor documents folder {root} does not exist (SOPHIA_SPECS_DIR)")
    return root


#: The session's pool, shared by every conftest that uses :func:`prism` (tests/interfaces
#: imports it too, which makes it a second fixture: without this, a second set of servers).
_POOLS: dict[Path, PrismPool] = {}


def _close_pools() -> None:
    for pool in _POOLS.values():
        pool.close()
    _POOLS.clear()


def wanted_specs(session: pytest.Session) -> set[tuple[str, str]]:
    """The ``(platform, file)`` specs the selected test modules name in ``PRISM_SPECS``."""
    modules = {item.module for item in session.items if getattr(item, "module", None) is not None}
    return {spec for module in modules for spec in getattr(module, "PRISM_SPECS", ())}


def session_pool(specs_root: Path, request: pytest.FixtureRequest) -> PrismPool:
    """The session's pool, made (and every wanted server launched) on first call; stopped at the end."""
    pool = _POOLS.get(specs_root)
    if pool is None:
        pool = _POOLS[specs_root] = PrismPool(specs_root, ensure_prism())
        request.config.add_cleanup(_close_pools)
        pool.prestart(wanted_specs(request.session))
    return pool


@pytest.fixture(scope="session")
def prism(specs_root: Path, request: pytest.FixtureRequest) -> PrismPool:
    """Start-once Prism servers for the whole session; all stopped when it ends.

    Test modules name the spec files they use in ``PRISM_SPECS = [(platform, file), …]``; all
    of them are launched together with the session's first test (``tests/conftest.py``), or
    else when the first contract test starts.
    """
    return session_pool(specs_root, request)

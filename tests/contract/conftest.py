"""Session fixtures for contract tests: the specs folder, and a pool of Prism servers.

Each spec file gets one Prism server per test session, on a free 127.0.0.1 port, started the
first time a test asks for it. Tests skip, saying why, when the specs folder or Prism is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .prism import INSTALL_COMMAND, PrismPool, find_prism, specs_dir


@pytest.fixture
def anyio_backend() -> str:
    """Async contract tests run on asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
def specs_root() -> Path:
    """The vendor contracts folder, or skip."""
    root = specs_dir()
    if not root.is_dir():
        pytest.skip(f"vendor specs not found at {root}: set SOPHIA_SPECS_DIR to the shared/specs folder")
    return root


@pytest.fixture(scope="session")
def prism(specs_root: Path, request: pytest.FixtureRequest) -> Iterator[PrismPool]:
    """Start-once Prism servers for the whole session; all stopped at the end.

    Test modules name the spec files they use in ``PRISM_SPECS = [(platform, file), …]``; all
    of them are launched together when the first contract test starts.
    """
    binary = find_prism()
    if binary is None:
        pytest.skip(f"Prism is not installed: run `{INSTALL_COMMAND}` from the project root")
    pool = PrismPool(specs_root, binary)
    modules = {item.module for item in request.session.items if getattr(item, "module", None) is not None}
    pool.prestart(spec for module in modules for spec in getattr(module, "PRISM_SPECS", ()))
    try:
        yield pool
    finally:
        pool.close()

"""Session fixtures for contract tests: the specs folder, and a pool of Prism servers.

Each spec file gets one Prism server per test session, on a free 127.0.0.1 port, started the
first time a test asks for it. Tests skip, saying why, when the specs folder or Prism is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .prism import INSTALL_COMMAND, PrismPool, find_prism, specs_dir


@pytest.fixture(scope="session")
def specs_root() -> Path:
    """The vendor contracts folder, or skip."""
    root = specs_dir()
    if not root.is_dir():
        pytest.skip(f"vendor specs not found at {root}: set SOPHIA_SPECS_DIR to the shared/specs folder")
    return root


@pytest.fixture(scope="session")
def prism(specs_root: Path) -> Iterator[PrismPool]:
    """Start-once Prism servers for the whole session; all stopped at the end."""
    binary = find_prism()
    if binary is None:
        pytest.skip(f"Prism is not installed: run `{INSTALL_COMMAND}` from the project root")
    pool = PrismPool(specs_root, binary)
    try:
        yield pool
    finally:
        pool.close()

"""Policy tests run with no pack path or identities file from the developer's environment."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pack path or identities file leaks in from the developer's environment."""
    monkeypatch.delenv("SOPHIA_POLICY_PATH", raising=False)
    monkeypatch.delenv("SOPHIA_IDENTITIES", raising=False)

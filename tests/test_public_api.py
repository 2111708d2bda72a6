"""Every module's ``__all__`` names what it defines (the packages' public surface, pinned)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

PACKAGES = ("adapters", "orchestrator", "policies", "state", "iac", "prompts")
SKIP_PREFIXES = ("state.migrations",)


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        mod = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(mod.__path__, prefix=f"{package}."):
            if not info.name.startswith(SKIP_PREFIXES):
                names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_all_names_exist(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional extra (pulumi, fastapi …) not installed
        pytest.skip(f"{name} needs an optional dependency: {exc}")
    for public in getattr(module, "__all__", []):
        assert hasattr(module, public), f"{name}.__all__ names {public!r}, which it does not define"

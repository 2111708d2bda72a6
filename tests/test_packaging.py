"""The wheel ships every runtime package (they are listed explicitly in pyproject.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ("orchestrator", "adapters", "policies", "state", "iac", "prompts")


def test_every_runtime_package_is_listed() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in RUNTIME for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - listed == set(), f"add to [tool.setuptools].packages: {sorted(found - listed)}"
    assert not any(p.startswith(("tests", "evals")) for p in listed), "tests and evals are never shipped"

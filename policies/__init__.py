"""Policy: rules in YAML packs, an engine that decides allow / deny / require_approval, identities.

Submodules load on first attribute access (``policies.engine``), so importing the package
doesn't pull in the CEL runtime or YAML.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = [
    "approvals", "context", "durations", "engine", "environments", "expressions", "freezes", "gate", "identity",
    "loader", "rules", "timeparse",
]


def __getattr__(name: str) -> ModuleType:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

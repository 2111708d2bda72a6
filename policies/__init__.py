"""Policy: rules in YAML packs, an engine that decides allow / deny / require_approval, identities.

Heavy parts (the CEL runtime, YAML) load with the submodules, not with this package.
"""

from __future__ import annotations

__all__ = [
    "approvals", "context", "durations", "engine", "environments", "expressions", "freezes", "gate", "identity",
    "loader", "rules", "timeparse",
]

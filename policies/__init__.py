"""Policy: rules in YAML packs, an engine that decides allow / deny / require_approval, identities.

Heavy parts (the CEL runtime, YAML) load with the submodules, not with this package.
"""

from __future__ import annotations

__all__ = ["context", "engine", "environments", "expressions", "identity", "loader", "rules"]

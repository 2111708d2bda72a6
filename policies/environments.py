"""Which environment a resource belongs to: ``prod`` unless a pack maps it elsewhere.

Packs list mappings under ``environments``; the first match wins::

    environments:
      - {match: "lambdalabs", env: dev}            # a whole platform
      - {match: "vercel:*-staging", env: staging}  # platform:target glob (case-insensitive)
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from policies.expressions import glob_match

__all__ = ["EnvironmentMap", "EnvironmentMapping"]


class EnvironmentMapping(BaseModel):
    """``match`` (``platform`` or ``platform:target``, globs allowed) → ``env``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: str = Field(min_length=1)
    env: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")

    def covers(self, platform: str, target: str | None) -> bool:
        """Whether this mapping applies to ``platform:target``."""
        platform_pattern, _, target_pattern = self.match.partition(":")
        if not glob_match(platform, platform_pattern):
            return False
        return not target_pattern or glob_match(target or "", target_pattern)


class EnvironmentMap:
    """Resolves ``(platform, target)`` to an environment name."""

    def __init__(self, mappings: Iterable[EnvironmentMapping] = (), default: str = "prod") -> None:
        self.mappings = tuple(mappings)
        self.default = default

    def resolve(self, platform: str, target: str | None = None) -> str:
        """The first mapping's env that covers the resource, else the default."""
        for mapping in self.mappings:
            if mapping.covers(platform, target):
                return mapping.env
        return self.default

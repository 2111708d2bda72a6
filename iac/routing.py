"""Which catalog resources are managed as code: the ``SOPHIA_IAC_MANAGED`` setting.

``SOPHIA_IAC_MANAGED="snowflake.warehouse,github.repo"`` sends the actions on those
resources to the IaC runner instead of the platform adapter. Light on purpose: the adapter
pool consults it for every platform, and it must not import ``pulumi``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.errors import ConfigError

if TYPE_CHECKING:
    from orchestrator.config import Settings

__all__ = ["managed_for", "managed_resources"]


def managed_resources(settings: Settings) -> frozenset[str]:
    """Every ``platform.resource`` listed in the setting (validated against the IaC programs).

    Raises:
        ConfigError: for an entry no IaC program manages, naming the ones that exist.
    """
    from iac.programs.base import PROGRAMS

    raw = settings.iac_managed or ""
    entries = frozenset(e.strip().lower() for e in raw.replace(";", ",").split(",") if e.strip())
    unknown = sorted(entries - set(PROGRAMS))
    if unknown:
        raise ConfigError(
            f"SOPHIA_IAC_MANAGED lists {', '.join(unknown)}, which no IaC program manages",
            hint=f"resources that can be managed as code: {', '.join(sorted(PROGRAMS))}",
        )
    return entries


def managed_for(settings: Settings, platform: str) -> frozenset[str]:
    """The resources of ``platform`` that are managed as code (``{"warehouse"}``)."""
    prefix = f"{platform}."
    return frozenset(e.removeprefix(prefix) for e in managed_resources(settings) if e.startswith(prefix))

"""Lazy registry: platform name → ``module:Class``, imported only when first used.

Third-party adapters register through the ``sophia_iac.adapters`` entry-point group
(``name = "package.module:AdapterClass"``); built-ins win on a name clash.
"""

from __future__ import annotations

import importlib
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from orchestrator.errors import NotFoundError

if TYPE_CHECKING:
    from adapters.base import PlatformAdapter
    from adapters.catalog import ActionSpec

__all__ = ["BUILTIN", "CATALOG", "adapter_class", "all_specs", "catalog_platforms", "known_platforms", "platform_specs", "spec_for"]

ENTRY_POINT_GROUP = "sophia_iac.adapters"

#: Built-in adapters. Add a line here (and nothing else) to register a new one.
BUILTIN: dict[str, str] = {
    "portkey": "adapters.ai.portkey:PortkeyAdapter",
    "openrouter": "adapters.ai.openrouter:OpenRouterAdapter",
    "weaviate": "adapters.ai.weaviate:WeaviateAdapter",
    "pinecone": "adapters.ai.pinecone:PineconeAdapter",
    "pgvector": "adapters.ai.pgvector:PgVectorAdapter",
    "snowflake": "adapters.data.snowflake:SnowflakeAdapter",
    "hubspot": "adapters.data.hubspot:HubSpotAdapter",
    "apollo": "adapters.data.apollo:ApolloAdapter",
    "usergems": "adapters.data.usergems:UserGemsAdapter",
    "estuary": "adapters.data.estuary:EstuaryAdapter",
    "gong": "adapters.data.gong:GongAdapter",
    "github": "adapters.dev.github:GitHubAdapter",
    "vercel": "adapters.dev.vercel:VercelAdapter",
    "figma": "adapters.dev.figma:FigmaAdapter",
    "lambdalabs": "adapters.dev.lambdalabs:LambdaLabsAdapter",
    "slack": "adapters.ops.slack:SlackAdapter",
    "linear": "adapters.ops.linear:LinearAdapter",
    "asana": "adapters.ops.asana:AsanaAdapter",
}

#: Action specs per platform (``module:ACTIONS``); a platform may be in the catalog before
#: its adapter exists, so the parser and evals know it while execution says it's missing.
CATALOG: dict[str, str] = {
    "snowflake": "adapters.specs.snowflake:ACTIONS",
    "estuary": "adapters.specs.estuary:ACTIONS",
    "hubspot": "adapters.specs.hubspot:ACTIONS",
    "gong": "adapters.specs.gong:ACTIONS",
    "usergems": "adapters.specs.usergems:ACTIONS",
    "apollo": "adapters.specs.apollo:ACTIONS",
    "vercel": "adapters.specs.vercel:ACTIONS",
    "lambdalabs": "adapters.specs.lambdalabs:ACTIONS",
    "github": "adapters.specs.github:ACTIONS",
    "figma": "adapters.specs.figma:ACTIONS",
    "portkey": "adapters.specs.portkey:ACTIONS",
    "openrouter": "adapters.specs.openrouter:ACTIONS",
    "pgvector": "adapters.specs.pgvector:ACTIONS",
    "pinecone": "adapters.specs.pinecone:ACTIONS",
    "weaviate": "adapters.specs.weaviate:ACTIONS",
    "slack": "adapters.specs.slack:ACTIONS",
    "linear": "adapters.specs.linear:ACTIONS",
    "asana": "adapters.specs.asana:ACTIONS",
}


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        table[ep.name] = ep.value
    table.update(BUILTIN)
    return table


def known_platforms() -> list[str]:
    """Every platform with an adapter, sorted."""
    return sorted(_table())


def catalog_platforms() -> list[str]:
    """Every platform in the catalog (with or without an adapter), sorted."""
    return sorted(set(CATALOG) | set(_table()))


@cache
def platform_specs(platform: str) -> tuple[ActionSpec, ...]:
    """The actions of ``platform``, loaded from its spec module (or its plug-in adapter)."""
    path = CATALOG.get(platform)
    if path is None:
        return tuple(adapter_class(platform).actions)
    module_name, _, attr = path.partition(":")
    specs: tuple[ActionSpec, ...] = getattr(importlib.import_module(module_name), attr)
    return specs


def adapter_class(platform: str) -> type[PlatformAdapter]:
    """Import and return the adapter class for ``platform``.

    Raises:
        NotFoundError: for an unknown platform, listing the known ones.
    """
    path = _table().get(platform)
    if path is None:
        if platform in CATALOG:
            raise NotFoundError(
                f"{platform} is in the catalog but has no adapter installed yet",
                hint=f"platforms you can change now: {', '.join(known_platforms())}",
            )
        raise NotFoundError(
            f"unknown platform {platform!r}",
            hint=f"known platforms: {', '.join(catalog_platforms())}",
        )
    module_name, _, class_name = path.partition(":")
    cls: type[PlatformAdapter] = getattr(importlib.import_module(module_name), class_name)
    return cls


def all_specs() -> list[ActionSpec]:
    """Every catalog action, in platform then declaration order."""
    return [spec for name in catalog_platforms() for spec in platform_specs(name)]


def spec_for(action_id: str) -> ActionSpec:
    """The spec for ``action_id``.

    Raises:
        NotFoundError: for an unknown platform or action, naming what exists.
    """
    platform = action_id.split(".", 1)[0]
    if platform not in catalog_platforms():
        raise NotFoundError(
            f"unknown action {action_id!r}", hint="run `sophia-iac actions` to list every action"
        )
    for spec in platform_specs(platform):
        if spec.id == action_id:
            return spec
    known = ", ".join(s.id for s in platform_specs(platform))
    raise NotFoundError(f"unknown action {action_id!r}", hint=f"{platform} actions: {known}")

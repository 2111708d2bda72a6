"""What graph nodes need from the outside world, passed as LangGraph run context.

Nothing here enters graph state or checkpoints: state holds plain JSON only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.base import PlatformAdapter
    from orchestrator.config import Settings
    from orchestrator.parsing import Parser
    from policies.gate import PolicyGate
    from state.store import Store

__all__ = ["AdapterPool", "Deps"]


class AdapterPool:
    """One adapter instance per platform for the life of a service."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._adapters: dict[str, PlatformAdapter] = {}

    def get(self, platform: str) -> PlatformAdapter:
        """The adapter for ``platform`` (created on first use)."""
        if platform not in self._adapters:
            from adapters.registry import adapter_class
            from iac.routing import managed_for

            managed = managed_for(self.settings, platform)
            if managed:  # resources in SOPHIA_IAC_MANAGED go to the IaC runner, the rest to the adapter
                from iac.adapter import iac_adapter

                self._adapters[platform] = iac_adapter(
                    platform, managed, self.settings, inner=lambda: adapter_class(platform)(self.settings)
                )
            else:
                self._adapters[platform] = adapter_class(platform)(self.settings)
        return self._adapters[platform]

    async def aclose(self) -> None:
        """Close every adapter's connections."""
        for adapter in self._adapters.values():
            await adapter.aclose()
        self._adapters.clear()


@dataclass
class Deps:
    """Run context for graph nodes.

    ``policy_gate`` may be left out: :attr:`policy` then loads the packs and identities on first
    use, so a command that never decides anything doesn't compile the policy rules.
    """

    settings: Settings
    store: Store
    adapters: AdapterPool
    policy_gate: PolicyGate | None = None
    parsers: dict[str, Parser] = field(default_factory=dict)
    _policy_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def policy(self) -> PolicyGate:
        """The policy gate (loaded once, on first use, when it wasn't given)."""
        with self._policy_lock:
            if self.policy_gate is None:
                from policies.gate import PolicyGate

                self.policy_gate = PolicyGate.load(self.settings, self.store)
            return self.policy_gate

    def parser(self, name: str | None) -> Parser:
        """The named (or default) parser, cached."""
        key = name or "default"
        if key not in self.parsers:
            from orchestrator.parsing import get_parser

            self.parsers[key] = get_parser(name, self.settings)
        return self.parsers[key]

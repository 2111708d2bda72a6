"""Parsers: text → :class:`~orchestrator.state.ParsedCommand`, validated against the catalog.

``get_parser(name)`` returns ``offline`` (the default with no model configured), ``llm`` or
``hybrid`` (the default when ``SOPHIA_LLM_MODEL`` is set); each is imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from orchestrator.errors import ConfigError

if TYPE_CHECKING:
    from orchestrator.config import Settings
    from orchestrator.state import ParsedCommand

__all__ = ["Parser", "get_parser"]


class Parser(Protocol):
    """Anything that turns text (plus the known inventory) into a ParsedCommand."""

    def parse(self, text: str, inventory: dict[str, list[str]] | None = None) -> ParsedCommand:
        """Parse one command; never raises on bad input (answers clarify/refuse instead)."""
        ...


def get_parser(name: str | None, settings: Settings) -> Parser:
    """The parser called ``name``, or the configured default."""
    if name is None:
        name = "hybrid" if settings.llm_model else "offline"
    if name == "offline":
        from orchestrator.parsing.offline import OfflineParser

        return OfflineParser()
    if name in ("llm", "hybrid"):
        try:
            if name == "llm":
                from orchestrator.parsing.llm import LLMParser

                return LLMParser(settings)  # type: ignore[call-arg]
            from orchestrator.parsing.hybrid import HybridParser

            return HybridParser(settings)  # type: ignore[call-arg]
        except ImportError as exc:
            raise ConfigError(f"the {name} parser is not available: {exc}", hint="use --parser offline") from exc
    raise ConfigError(f"unknown parser {name!r}", hint="use offline, llm or hybrid")

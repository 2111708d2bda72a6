"""A small LRU cache of parse results, keyed by normalised text + inventory digest.

The key also carries a salt (model, endpoint, prompt version), so a change of any of them
never serves a stale answer. Values are stored as JSON and rebuilt on read, so a caller
that mutates a result can't poison the cache.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from orchestrator.state import ParsedCommand, digest

__all__ = ["ParseCache", "cache_key", "inventory_digest", "normalise_text"]

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFKC, trimmed, runs of whitespace collapsed (case is kept: names and values are case-sensitive)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def inventory_digest(inventory: Mapping[str, Sequence[str]] | None) -> str:
    """sha256 of the inventory with keys and names sorted (order never changes the answer)."""
    return digest({key: sorted(names) for key, names in sorted((inventory or {}).items()) if names})


def cache_key(text: str, inventory: Mapping[str, Sequence[str]] | None, salt: str = "") -> str:
    """The cache key of one request."""
    return digest([salt, normalise_text(text), inventory_digest(inventory)])


class ParseCache:
    """Thread-safe LRU of ``key → ParsedCommand`` (``maxsize`` entries, 0 disables it)."""

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> ParsedCommand | None:
        """The cached result for ``key``, or None."""
        with self._lock:
            raw = self._data.get(key)
            if raw is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
        return ParsedCommand.model_validate_json(raw)

    def put(self, key: str, value: ParsedCommand) -> None:
        """Store ``value`` under ``key``, evicting the least recently used entry when full."""
        if self.maxsize <= 0:
            return
        with self._lock:
            self._data[key] = value.model_dump_json()
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

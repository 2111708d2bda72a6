"""Where newly minted key values go: a private file per key, named in the ledger by path.

Adapters that create keys (Portkey, OpenRouter) get the plaintext value exactly once, in the
create answer. It must reach whoever needs it without entering state, the ledger, logs or
prompts: :class:`SecretDrop` registers it with the scrubber and writes it to a 0600 file
under ``$SOPHIA_HOME/secrets``; the state records only the ``file:<path>`` reference, which
is the same form ``SOPHIA_<PLATFORM>_TOKEN_FILE`` takes. :class:`KeyMintingAdapter` is their
common base: an :class:`~adapters.http.HttpAdapter` with a ``drop``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx

from adapters.credentials import SCRUBBER
from adapters.http import HttpAdapter, Sleep

__all__ = ["KeyMintingAdapter", "SecretDrop"]


class SecretDrop:
    """Where a newly minted key value goes: a file only its owner can read.

    The ledger records the ``file:<path>`` reference, never the value; point a consumer's
    ``…_FILE`` variable at it, or move it into a secret manager and delete the file.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, platform: str, name: str, key_id: str, value: str) -> str:
        """Write ``value`` to a fresh 0600 file; return its ``file:`` reference."""
        SCRUBBER.register(value)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:60] or "key"
        safe_id = re.sub(r"[^A-Za-z0-9]", "", key_id)[:16] or "new"
        path = self.root / f"{platform}-{safe_name}-{safe_id}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
        return f"file:{path}"

    @staticmethod
    def discard(ref: str | None) -> None:
        """Remove a file written by :meth:`put` (the key it held was disabled)."""
        if ref and ref.startswith("file:"):
            Path(ref.removeprefix("file:")).unlink(missing_ok=True)


class KeyMintingAdapter(HttpAdapter):
    """An HTTP adapter that creates API keys: each new value goes to :attr:`drop`, never into state.

    Args:
        drop: where new values are written (default ``$SOPHIA_HOME/secrets``).
    """

    def __init__(
        self,
        settings: Any = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        drop: SecretDrop | None = None,
    ) -> None:
        super().__init__(settings, transport=transport, sleep=sleep)
        self.drop = drop or SecretDrop(self.settings.home / "secrets")

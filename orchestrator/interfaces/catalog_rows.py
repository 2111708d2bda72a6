"""The action catalog as rows for ``sophia-iac actions``, kept in a cache beside the state.

Building the rows imports every platform's spec module and pydantic to write each params
schema: half a second, for an answer that changes only when the code does. The rows are kept
in ``$SOPHIA_HOME/cache/actions.json`` under a fingerprint of what they are built from — the
spec modules and the registry (path, size, modification time), pydantic's own files, and the
folders on ``sys.path`` (installing, upgrading or removing a distribution, such as a plug-in
adapter, changes its folder) — and built anew whenever the fingerprint differs. A plug-in
installed in editable mode whose spec code changes in place is missed until the fingerprint
next changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any

__all__ = ["build_rows", "catalog_rows", "fingerprint"]

_ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"
_CACHE_VERSION = 1


def build_rows(platform: str | None = None) -> list[dict[str, Any]]:
    """Every catalog action (of ``platform``) with its target, params schema, risk and inverse."""
    from adapters.registry import all_specs, known_platforms

    installed = set(known_platforms())
    return [
        {"id": s.id, "platform": s.platform, "summary": s.summary, "target": s.target, "risk": s.risk.value,
         "reversible": s.reversible, "inverse": s.inverse_hint, "params": schema.get("properties", {}),
         "required": schema.get("required", []), "examples": list(s.examples),
         "installed": s.platform in installed}
        for s in all_specs() if platform in (None, s.platform)
        for schema in [s.json_schema()]
    ]


def fingerprint() -> str:
    """A digest of everything the rows are built from (see the module's docstring)."""
    import sys

    parts: list[str] = [str(_CACHE_VERSION), sys.version]
    files = sorted((_ADAPTERS / "specs").glob("*.py")) + [_ADAPTERS / "catalog.py", _ADAPTERS / "registry.py"]
    for name in ("pydantic", "pydantic_core"):
        spec = find_spec(name)
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
    # Installing, upgrading or removing any distribution (a plug-in adapter's entry points among
    # them) adds or renames an entry in its sys.path folder, which changes that folder's mtime.
    cwd = os.getcwd()
    files += [Path(entry) for entry in sys.path if entry and entry != cwd and os.path.isdir(entry)]
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def catalog_rows(platform: str | None = None, home: Path | None = None) -> list[dict[str, Any]]:
    """The rows of ``build_rows(platform)``, from the cache when it is current (``home``: default from the environment)."""
    if home is None:
        from orchestrator.settings_env import home_from_env

        home = home_from_env()
    if home is None:
        return build_rows(platform)
    path = home / "cache" / "actions.json"
    key = fingerprint()
    try:
        cached = json.loads(path.read_text())
        rows = cached["rows"] if cached.get("fingerprint") == key else None
    except (OSError, ValueError, KeyError, TypeError):
        rows = None
    if rows is None:
        rows = build_rows()
        _write(path, {"fingerprint": key, "rows": rows})
    return [r for r in rows if platform in (None, r["platform"])]


def _write(path: Path, data: dict[str, Any]) -> None:
    """Replace the cache file whole (a concurrent reader sees the old or the new one); never fail the command."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".actions-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        return
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)

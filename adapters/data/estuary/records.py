"""Estuary names, credentials, GraphQL documents and the shapes read from the control plane.

Pure functions and constants (no I/O), so the adapter class stays about requests and order.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from orchestrator.errors import AdapterError, ValidationFailedError

__all__ = [
    "DEFAULT_AGENT_URL",
    "DEFAULT_PG_URL",
    "DOCUMENTS",
    "FAILED_JOBS",
    "KINDS",
    "SUPABASE_KEY_VAR",
    "catalog_name",
    "draft_marker",
    "flow_id",
    "jwt_expiry",
    "obj",
    "refresh_token",
    "spec_state",
    "toggled_model",
]

#: The control-plane agent API (GraphQL at ``/api/graphql``): flowctl's ``DEFAULT_AGENT_URL``
#: (estuary/flow ``crates/flow-client/src/lib.rs``).
DEFAULT_AGENT_URL = "https://agent-api-1084703453822.us-central1.run.app"
#: The control plane's Supabase (PostgREST at ``/rest/v1``): flowctl's ``DEFAULT_PG_URL`` host.
DEFAULT_PG_URL = "https://eyrcnmuzzyriypdajwdk.supabase.co"
#: Supabase's gateway wants the project's public ``anon`` key in ``apikey`` on every PostgREST
#: call (flowctl sends ``DEFAULT_PG_PUBLIC_TOKEN``); it is public, but sophia-iac does not ship it.
SUPABASE_KEY_VAR = "SOPHIA_ESTUARY_SUPABASE_KEY"

#: Catalog types the actions change, by action resource.
KINDS = ("capture", "materialization")

#: Publication ``job_status.type`` values that end a publication without changing anything
#: (estuary/flow ``crates/agent/src/publications/status.rs``, ``JobStatus``).
FAILED_JOBS = frozenset(
    {
        "buildFailed",
        "testFailed",
        "publishFailed",
        "expectPubIdMismatch",
        "buildIdLockFailure",
        "deprecatedBackground",
    }
)

# Flow's CATALOG_NAME_RE (estuary/flow crates/models/src/references.rs): tokens of Unicode
# letters, numbers, '-', '_' and '.', joined by '/', not beginning or ending in '/'. Python's
# ``\w`` is Unicode letters, numbers and '_'.
_TOKEN = r"[\w.\-]+"
_CATALOG_NAME = re.compile(rf"{_TOKEN}(?:/{_TOKEN})*")
#: Longest name accepted (ours: Flow's grammar sets none; names travel in query strings).
MAX_NAME = 512
#: Flow ids: 8 bytes as hex, with or without ':' separators (the GraphQL ``Id`` scalar's doc).
_FLOW_ID = re.compile(r"[0-9a-fA-F]{2}(?::?[0-9a-fA-F]{2}){7}")

_SPEC_FIELDS = "catalogName userCapability liveSpec { catalogType isDisabled lastPubId }"

#: Every GraphQL document the adapter sends (the tests validate each against Estuary's schema).
DOCUMENTS: dict[str, str] = {
    "spec": f"""query SophiaLiveSpec($names: [Name!]!) {{
  liveSpecs(by: {{names: $names}}, first: 5) {{ edges {{ node {{ {_SPEC_FIELDS} }} }} }} }}""",
    "model": """query SophiaLiveSpecModel($names: [Name!]!) {
  liveSpecs(by: {names: $names}, first: 5) {
    edges { node { catalogName userCapability liveSpec { catalogType isDisabled lastPubId model } } } } }""",
    "prefixes": """query SophiaPrefixes($after: String) {
  prefixes(by: {minCapability: read}, first: 100, after: $after) {
    edges { node { prefix } } pageInfo { hasNextPage endCursor } } }""",
    "inventory": """query SophiaInventory($prefix: Prefix!, $after: String) {
  liveSpecs(by: {prefix: $prefix}, first: 100, after: $after) {
    edges { node { catalogName liveSpec { catalogType isDisabled } } }
    pageInfo { hasNextPage endCursor } } }""",
}


def obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (vendor data is untrusted)."""
    return value if isinstance(value, dict) else {}


def catalog_name(value: object, field: str = "target") -> str:
    """A Flow catalog name (``acmeCo/postgres-orders``), trimmed; anything else is refused.

    Raises:
        ValidationFailedError: naming the field, before anything is sent.
    """
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > MAX_NAME or not _CATALOG_NAME.fullmatch(name):
        shown = repr(value)[:80] if isinstance(value, str) else type(value).__name__
        raise ValidationFailedError(
            f"estuary: {shown} is not a Flow catalog name",
            hint="give the full name as Estuary shows it, e.g. acmeCo/postgres-orders: letters, numbers,"
            " '-', '_' and '.', in parts joined by '/'",
            details={"platform": "estuary", "field": field},
        )
    return name


def flow_id(value: object, what: str) -> str:
    """A Flow id from a vendor answer (16 hex digits, ':'-separated or not), or an error."""
    if isinstance(value, str) and _FLOW_ID.fullmatch(value):
        return value
    raise AdapterError(
        f"estuary returned {what} {str(value)[:40]!r}, which is not a Flow id",
        hint="Estuary or a proxy in front of it is misbehaving; nothing further was sent",
        details={"platform": "estuary", "field": what},
    )


def draft_marker(name: str) -> str:
    """The ``detail`` of the drafts sophia-iac creates for ``name`` (how in-flight ones are found)."""
    return f"sophia-iac: {name}"


def spec_state(node: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    """``{"name", "enabled"}`` of a ``LiveSpecRef`` of type ``kind``; None if absent or hidden."""
    live = obj(node.get("liveSpec"))
    if node.get("userCapability") is None or not live or live.get("catalogType") != kind:
        return None
    return {"name": node.get("catalogName"), "enabled": live.get("isDisabled") is not True}


def toggled_model(model: object, enable: bool, name: str) -> dict[str, Any]:
    """The live model with ``shards.disable`` set (disable) or removed (enable); the rest as is."""
    if not isinstance(model, dict):
        raise AdapterError(
            f"estuary returned no model for {name}",
            hint="the token may only have read access to it, or Estuary is misbehaving",
            details={"platform": "estuary", "target": name},
        )
    updated = json.loads(json.dumps(model))  # a deep copy of plain JSON
    shards = obj(updated.get("shards"))
    if enable:
        shards.pop("disable", None)
    else:
        shards["disable"] = True
    updated["shards"] = shards
    return updated


def refresh_token(value: str) -> tuple[str, str] | None:
    """``(id, secret)`` if ``value`` is an Estuary refresh token (base64 of ``{"id", "secret"}``)."""
    text = value.strip()
    try:
        decoded = json.loads(base64.b64decode(text + "=" * (-len(text) % 4), validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if (
        isinstance(decoded, dict)
        and isinstance(decoded.get("id"), str)
        and isinstance(decoded.get("secret"), str)
    ):
        return decoded["id"], decoded["secret"]
    return None


def jwt_expiry(token: str, *, default_ttl: float = 600.0) -> float:
    """When an access token (a JWT) expires, from its unverified ``exp``; else ``default_ttl`` from now."""
    parts = token.split(".")
    if len(parts) == 3:
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            if isinstance(claims, dict) and isinstance(claims.get("exp"), (int, float)):
                return float(claims["exp"])
        except (binascii.Error, ValueError, UnicodeDecodeError):
            pass
    return time.time() + default_ttl

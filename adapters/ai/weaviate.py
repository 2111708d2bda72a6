"""Weaviate adapter: collections (the catalog's "index") through the schema REST API.

Configuration: ``SOPHIA_WEAVIATE_BASE_URL`` — the API root, e.g. ``http://localhost:8080/v1``
or ``https://<cluster>.weaviate.cloud/v1`` (a local contract server at its host root in
tests); an API key in ``SOPHIA_WEAVIATE_TOKEN`` (or ``…_TOKEN_FILE``), sent as
``Authorization: Bearer``, when the instance wants one (anonymous access otherwise).

How each action is carried out:

* a collection is read with ``GET /schema/{Name}`` (404 or an empty answer: absent) and its
  object count with ``GET /nodes/{Name}?output=verbose`` (summed over its shards);
* ``create`` → ``POST /schema`` with ``vectorizer: none`` (vectors are brought by the
  caller), an HNSW index and the requested distance metric;
* ``delete`` → ``DELETE /schema/{Name}``: the collection and every object in it.

Collection names follow Weaviate's rule (``^[A-Z][_0-9A-Za-z]*$``); like Weaviate, the first
letter is upper-cased (``articles`` → ``Articles``), and anything else is refused with a
suggested name.

Where the published contract and the live API differ, or the contract can't say:

* Weaviate has no dimension setting: a collection takes the length of the first vector
  imported. The requested dimension is recorded in the collection's description
  (``[dimension=768]``) and read back from there; collections made elsewhere report None.
* The contract is served at the host root (``/schema``); the live API lives under ``/v1``.
* Older Weaviate versions answer ``GET /schema/{Name}`` for a missing collection with 200 and
  an empty body instead of 404; both read as absent.
* Prism answers every read with one canned class named ``string``, so a read-back shows that
  class, not the one just created or deleted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.credentials import SecretRef, credential_for
from adapters.http import HttpAdapter, api_path
from adapters.specs.weaviate import ACTIONS
from orchestrator.errors import NotFoundError, SophiaError, ValidationFailedError

__all__ = ["WeaviateAdapter", "collection_name", "collection_state"]

_NAME = re.compile(r"^[A-Z][_0-9A-Za-z]{0,254}$")
_DIMENSION = re.compile(r"\[dimension=(\d+)\]")


def collection_name(target: str | None) -> str:
    """Weaviate's form of a collection name (first letter upper-cased), or a clear refusal."""
    text = (target or "").strip()
    name = text[:1].upper() + text[1:]
    if not _NAME.match(name):
        suggestion = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", text) if part)
        if suggestion[:1].isdigit():
            suggestion = "C" + suggestion
        hint = f"try {suggestion!r}" if suggestion else "use letters, digits and '_', starting with a letter"
        raise ValidationFailedError(
            f"weaviate: {target!r} is not a valid collection name",
            hint=f"names are CamelCase letters, digits and '_', starting with a letter; {hint}",
            details={"field": "target"},
        )
    return name


def _distance(body: dict[str, Any]) -> str | None:
    config = body.get("vectorIndexConfig")
    if not isinstance(config, dict) or not config:
        named = body.get("vectorConfig")
        if isinstance(named, dict) and named:
            first = named.get("default") or next(iter(named.values()))
            config = first.get("vectorIndexConfig") if isinstance(first, dict) else None
    if isinstance(config, dict) and config.get("distance"):
        return str(config["distance"])
    return "cosine" if isinstance(config, dict) else None  # Weaviate's default distance


def collection_state(name: str, body: dict[str, Any], rows: int | None) -> dict[str, Any]:
    """``{"name", "dimension", "metric", "rows"}`` from a Class body and an object count."""
    tag = _DIMENSION.search(str(body.get("description") or ""))
    return {
        "name": name,
        "dimension": int(tag.group(1)) if tag else None,
        "metric": _distance(body),
        "rows": rows,
    }


def _object_counts(nodes: object) -> dict[str, int]:
    """Objects per collection, summed over every node's shards (``/nodes?output=verbose``)."""
    counts: dict[str, int] = {}
    node_list = nodes.get("nodes") if isinstance(nodes, dict) else None
    for node in node_list if isinstance(node_list, list) else []:
        shards = node.get("shards") if isinstance(node, dict) else None
        for shard in shards if isinstance(shards, list) else []:
            if isinstance(shard, dict) and isinstance(shard.get("objectCount"), int):
                cls = str(shard.get("class"))
                counts[cls] = counts.get(cls, 0) + max(0, shard["objectCount"])
    return counts


class WeaviateAdapter(HttpAdapter):
    """Weaviate collections with a vector index: create and delete."""

    name: ClassVar[str] = "weaviate"
    display_name: ClassVar[str] = "Weaviate"
    stack: ClassVar[Stack] = Stack.AI
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("index",)
    content_on_delete: ClassVar[Mapping[str, str]] = {"index": "its objects are not restored"}
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    api_base_url_hint: ClassVar[str] = "e.g. http://localhost:8080/v1 or https://<cluster>.weaviate.cloud/v1"
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    def auth_headers(self) -> Mapping[str, str]:
        """Bearer API key when one is configured; anonymous access otherwise."""
        ref = SecretRef("weaviate")
        if not (os.environ.get(ref.env_var, "").strip() or os.environ.get(ref.file_var, "").strip()):
            return {}
        return credential_for("weaviate").auth_headers()

    # -- reads ---------------------------------------------------------------------------

    async def _rows(self, name: str, action: str) -> int | None:
        reply = await self.http.request(
            "GET",
            api_path("/nodes/{className}", className=name),
            action=action,
            target=name,
            params={"output": "verbose"},
            not_found_ok=True,
        )
        return None if reply.status == 404 else _object_counts(reply.data).get(name, 0)

    async def observe_index(self, call: ActionCall) -> State:
        """``{"name", "dimension", "metric", "rows"}`` or None."""
        name = collection_name(call.target)
        reply = await self.http.request(
            "GET",
            api_path("/schema/{className}", className=name),
            action=call.action,
            target=name,
            not_found_ok=True,
        )
        if reply.status == 404 or not isinstance(reply.data, dict) or not reply.data:
            return None
        return collection_state(name, reply.data, await self._rows(name, call.action))

    # -- changes -------------------------------------------------------------------------

    async def do_index_create(self, call: ActionCall, before: State) -> State:
        """``POST /schema``: no vectorizer, HNSW, the requested distance; dimension in the description."""
        self.precheck(call, before)
        name = collection_name(call.target)
        dimension, metric = call.params["dimension"], call.params["metric"]
        body = {
            "class": name,
            "description": f"Vector index managed by sophia-iac [dimension={dimension}]",
            "vectorizer": "none",
            "vectorIndexType": "hnsw",
            "vectorIndexConfig": {"distance": metric},
        }
        await self.http.request("POST", "/schema", action=call.action, target=name, json=body)
        return await self.observe_index(call)

    async def do_index_delete(self, call: ActionCall, before: State) -> State:
        """``DELETE /schema/{Name}``: the collection and all its objects."""
        self.precheck(call, before)
        name = collection_name(call.target)
        await self.http.request(
            "DELETE",
            api_path("/schema/{className}", className=name),
            action=call.action,
            target=name,
        )
        return await self.observe_index(call)

    # -- plan-time checks and predictions -------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse creating over an existing collection and deleting a missing one."""
        name = collection_name(call.target)
        verb = call.action.rsplit(".", 1)[-1]
        if verb == "create" and before is not None:
            raise ValidationFailedError(
                f"weaviate: collection {name!r} already exists ({before.get('rows')} objects)",
                hint="choose another name, or delete the existing collection first",
            )
        if verb == "delete" and before is None:
            raise NotFoundError(
                f"weaviate: collection {name!r} not found ({call.action})",
                hint="check the name; `sophia-iac status weaviate` lists the collections",
            )

    def predict(self, call: ActionCall, before: State) -> State:
        """create → the new, empty collection; delete → absent."""
        if call.action.endswith(".create"):
            return {
                "name": collection_name(call.target),
                "dimension": call.params["dimension"],
                "metric": call.params["metric"],
            }
        return None

    # -- status --------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Readiness, version, every collection with its object count, and the breaker state."""
        try:
            ready = await self.http.request("GET", "/.well-known/ready", action="weaviate.status")
            meta = await self.http.request("GET", "/meta", action="weaviate.status")
            schema = await self.http.request("GET", "/schema", action="weaviate.status")
            nodes = await self.http.request(
                "GET", "/nodes", action="weaviate.status", params={"output": "verbose"}, not_found_ok=True
            )
        except SophiaError as exc:
            return self.failed_status(exc)
        counts = _object_counts(nodes.data) if nodes.status != 404 else {}
        listed = schema.data.get("classes") if isinstance(schema.data, dict) else None
        classes = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
        inventory = {
            "index": [
                collection_state(str(c.get("class")), c, counts.get(str(c.get("class")))) for c in classes
            ]
        }
        version = meta.data.get("version") if isinstance(meta.data, dict) else None
        return PlatformStatus(
            "weaviate",
            healthy=ready.status < 300,
            message=f"Weaviate {version or '?'}; {len(classes)} collection(s)",
            inventory=inventory,
            details={
                "circuit": self.http.breaker.snapshot(),
                "base_url": self.http.base_url,
                "version": version,
            },
        )

"""Pinecone adapter: indexes through the control-plane REST API (version 2026-04).

Configuration: an API key in ``SOPHIA_PINECONE_TOKEN`` (or ``…_TOKEN_FILE``), sent as the
``Api-Key`` header with ``X-Pinecone-Api-Version: 2026-04`` on every request;
``SOPHIA_PINECONE_BASE_URL`` overrides ``https://api.pinecone.io`` (tests: a contract server's
host root). Where new indexes go, read when a create is planned:

* serverless (the default): ``SOPHIA_PINECONE_CLOUD`` (``aws``, ``gcp`` or ``azure``; default
  ``aws``) and ``SOPHIA_PINECONE_REGION`` (default ``us-east-1``, the one region every plan has);
* pod-based, when ``SOPHIA_PINECONE_POD_ENVIRONMENT`` is set (e.g. ``us-east-1-aws``), with
  ``SOPHIA_PINECONE_POD_TYPE`` (default ``p1.x1``). Pinecone closed pods to organisations that
  signed up after August 2025; existing pod indexes are still managed.

How each action is carried out:

* an index is read with ``GET /indexes/{name}`` (404: absent); its state is ``{"name",
  "dimension", "metric", "replicas", "deployment", "deletion_protection"}``, where ``deployment``
  is ``pod``, ``serverless`` (on-demand reads), ``dedicated`` (serverless with dedicated read
  nodes) or ``byoc``, and ``replicas`` is None where Pinecone has no replica count (on-demand);
* ``create`` → ``POST /indexes`` (dense vectors, deletion protection off, a
  ``managed-by: sophia-iac`` tag), then the index is described until ``status.ready`` and
  ``state == "Ready"``: creation is asynchronous;
* ``configure`` → ``PATCH /indexes/{name}``: ``spec.pod.replicas`` for a pod-based index, or the
  dedicated read nodes' ``manual.replicas`` (keeping their node type and shard count); then
  described until the scaling settles. On-demand serverless indexes have no replicas (Pinecone
  scales them) and are refused before anything is sent. Its inverse restores the before-state's
  replica count (the catalog's ``restore_fields``);
* ``delete`` → ``DELETE /indexes/{name}``, then described until it is gone. An index with
  deletion protection on is refused at plan time, saying how to turn it off.

Every wait is bounded (:attr:`PineconeAdapter.settle_timeout` seconds, polling with backoff
through :meth:`pause`); an index still settling when it runs out is returned as it is, and the
read-back comparison decides. ``get_status`` lists every index with its readiness.

Errors: 401/403 → :class:`~adapters.http.PlatformAuthError` naming ``SOPHIA_PINECONE_TOKEN``
(a 403 on create also names the quota Pinecone may mean; a 403 on delete from deletion
protection turned on since the plan is reported as that); 404 → ``NotFoundError`` naming
the index (on create, Pinecone's 404 means an unknown cloud or region, reported as such);
409 on create → "already exists" at once (the shared client never repeats a 409 on an unkeyed
POST); 429 and 5xx are retried by the shared client (reads and deletes always, the replica
PATCH too since it sets an absolute count; a create is never repeated after a server error,
because Pinecone takes no idempotency key).

The contract this is tested against is Pinecone's own published OpenAPI document for API
version 2026-04 (``tests/contracts/vendor/pinecone``, from pinecone-io/pinecone-api), served by
Prism. It shows the requests match Pinecone's contract, not that the live API accepts them; the
document lists no 429 or 503, which Pinecone's error guide documents for every call, so the
tests inject those. Known gaps:

* API version 2026-07 moves ``dimension``/``metric`` into ``schema`` and ``spec`` into
  ``deployment``; this adapter pins 2026-04 (supported at least into 2027), so that move is a
  deliberate change, not a silent one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.http import HttpAdapter, PlatformAuthError, api_path
from adapters.specs.pinecone import ACTIONS
from orchestrator.errors import AdapterError, ConfigError, NotFoundError, SophiaError, ValidationFailedError

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "PineconeAdapter",
    "deployment_spec",
    "index_name",
    "index_state",
]

API_VERSION = "2026-04"
DEFAULT_BASE_URL = "https://api.pinecone.io"
CLOUDS = ("aws", "gcp", "azure")
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,43}[a-z0-9])?$")
_POD_TYPE = re.compile(r"^(s1|p1|p2)\.(x1|x2|x4|x8)$")
#: States an index does not come back from by waiting.
_FAILED = frozenset({"InitializationFailed", "Disabled"})


def index_name(target: str | None) -> str:
    """Pinecone's form of an index name (lower case), or a clear refusal with a suggestion.

    Names are 1–45 lower-case letters, digits and ``-``, starting and ending with a letter or
    digit; upper case is folded (Pinecone has no case-distinct names), anything else refused.
    """
    text = (target or "").strip()
    name = text.lower()
    if not _NAME.match(name):
        suggestion = re.sub(r"[^a-z0-9]+", "-", name).strip("-")[:45].strip("-")
        hint = f"try {suggestion!r}" if suggestion else "use lower-case letters, digits and '-'"
        raise ValidationFailedError(
            f"pinecone: {target!r} is not a valid index name",
            hint=f"index names are 1-45 lower-case letters, digits and '-', starting and ending with a letter or digit; {hint}",
            details={"field": "target"},
        )
    return name


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _deployment(spec: dict[str, Any]) -> tuple[str | None, int | None]:
    """(deployment kind, replica count) from an IndexModel's ``spec``."""
    if "pod" in spec:
        replicas = _dict(spec["pod"]).get("replicas", 1)
        return "pod", replicas if isinstance(replicas, int) else None
    if "serverless" in spec:
        capacity = _dict(_dict(spec["serverless"]).get("read_capacity"))
        if capacity.get("mode") == "Dedicated":
            replicas = _dict(_dict(capacity.get("dedicated")).get("manual")).get("replicas")
            return "dedicated", replicas if isinstance(replicas, int) else None
        return "serverless", None
    if "byoc" in spec:
        return "byoc", None
    return None, None


def index_state(raw: dict[str, Any]) -> dict[str, Any]:
    """``{"name", "dimension", "metric", "replicas", "deployment", "deletion_protection"}``."""
    deployment, replicas = _deployment(_dict(raw.get("spec")))
    return {
        "name": raw.get("name"),
        "dimension": raw.get("dimension"),
        "metric": raw.get("metric"),
        "replicas": replicas,
        "deployment": deployment,
        "deletion_protection": raw.get("deletion_protection", "disabled"),
    }


def _inventory_item(raw: dict[str, Any]) -> dict[str, Any]:
    """:func:`index_state` plus where it lives and whether it is ready (for ``status``)."""
    spec = _dict(raw.get("spec"))
    status = _dict(raw.get("status"))
    where = _dict(spec.get("pod") or spec.get("serverless") or spec.get("byoc"))
    item = {
        **index_state(raw),
        "ready": bool(status.get("ready")),
        "state": status.get("state"),
        "host": raw.get("host"),
    }
    for key in ("cloud", "region", "environment", "pod_type"):
        if where.get(key) is not None:
            item[key] = where[key]
    return item


def _settled(raw: dict[str, Any]) -> bool:
    """Ready, in state ``Ready``, and (dedicated read nodes) done scaling."""
    status = _dict(raw.get("status"))
    capacity = _dict(_dict(_dict(raw.get("spec")).get("serverless")).get("read_capacity"))
    capacity_state = _dict(capacity.get("status")).get("state")
    return (
        status.get("ready") is True and status.get("state") == "Ready" and capacity_state in (None, "Ready")
    )


def deployment_spec(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``spec`` a new index gets, from ``SOPHIA_PINECONE_*`` (see the module doc).

    Raises:
        ConfigError: naming the variable that holds an impossible value.
    """
    env = os.environ if environ is None else environ
    pod_env = env.get("SOPHIA_PINECONE_POD_ENVIRONMENT", "").strip()
    if pod_env:
        pod_type = env.get("SOPHIA_PINECONE_POD_TYPE", "").strip().lower() or "p1.x1"
        if not _POD_TYPE.match(pod_type):
            raise ConfigError(
                f"SOPHIA_PINECONE_POD_TYPE={pod_type!r} is not a Pinecone pod type",
                hint="use s1, p1 or p2 with .x1, .x2, .x4 or .x8 (e.g. p1.x1)",
            )
        return {"pod": {"environment": pod_env, "pod_type": pod_type, "pods": 1}}
    cloud = env.get("SOPHIA_PINECONE_CLOUD", "").strip().lower() or "aws"
    if cloud not in CLOUDS:
        raise ConfigError(
            f"SOPHIA_PINECONE_CLOUD={cloud!r} is not a cloud Pinecone serves",
            hint=f"use one of {', '.join(CLOUDS)}",
        )
    region = env.get("SOPHIA_PINECONE_REGION", "").strip().lower() or "us-east-1"
    return {"serverless": {"cloud": cloud, "region": region}}


def _where(spec: dict[str, Any]) -> str:
    if "pod" in spec:
        return f"pod environment {spec['pod']['environment']!r}"
    return f"{spec['serverless']['cloud']}/{spec['serverless']['region']}"


class PineconeAdapter(HttpAdapter):
    """Pinecone indexes: create, scale replicas, delete."""

    name: ClassVar[str] = "pinecone"
    display_name: ClassVar[str] = "Pinecone"
    stack: ClassVar[Stack] = Stack.AI
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("index",)
    content_on_delete: ClassVar[Mapping[str, str]] = {"index": "its vectors are not restored"}
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    api_headers: ClassVar[Mapping[str, str]] = {
        "Accept": "application/json",
        "X-Pinecone-Api-Version": API_VERSION,
    }

    #: Longest wait, in seconds, for an index to become ready, finish scaling or disappear.
    settle_timeout: ClassVar[float] = 300.0
    #: First pause between polls; doubles up to :attr:`poll_max_interval`.
    poll_interval: ClassVar[float] = 1.0
    poll_max_interval: ClassVar[float] = 10.0

    # -- reads ---------------------------------------------------------------------------

    async def _describe(self, name: str, action: str) -> dict[str, Any] | None:
        reply = await self.http.request(
            "GET",
            api_path("/indexes/{index_name}", index_name=name),
            action=action,
            target=name,
            not_found_ok=True,
        )
        if reply.status == 404:
            return None
        if not isinstance(reply.data, dict):
            raise AdapterError(
                f"pinecone described index {name!r} without an index model (got {type(reply.data).__name__})",
                hint="pinecone or a proxy in front of it is misbehaving; retry later",
                details={"platform": "pinecone", "action": action, "target": name},
            )
        return reply.data

    async def observe_index(self, call: ActionCall) -> State:
        """The index's state (see the module doc) or None."""
        name = index_name(call.target)
        raw = await self._describe(name, call.action)
        return index_state(raw) if raw is not None else None

    async def _settle(self, name: str, action: str, *, gone: bool = False) -> dict[str, Any] | None:
        """Describe ``name`` until it is settled (or, with ``gone``, absent), within the bound."""
        waited, interval = 0.0, self.poll_interval
        while True:
            raw = await self._describe(name, action)
            if gone and raw is None:
                return None
            if raw is not None and not gone:
                state = _dict(raw.get("status")).get("state")
                if state in _FAILED:
                    raise AdapterError(
                        f"pinecone: index {name!r} is {state} ({action})",
                        hint="see the index in the Pinecone console; delete it before trying again",
                        details={"platform": "pinecone", "action": action, "target": name, "state": state},
                    )
                if _settled(raw):
                    return raw
            if waited >= self.settle_timeout:
                return raw
            await self.pause(interval)
            waited += interval
            interval = min(interval * 2, self.poll_max_interval)

    # -- changes -------------------------------------------------------------------------

    async def do_index_create(self, call: ActionCall, before: State) -> State:
        """``POST /indexes``, then wait until the index is ready."""
        self.precheck(call, before)
        name = index_name(call.target)
        spec = deployment_spec()
        body = {
            "name": name,
            "dimension": call.params["dimension"],
            "metric": call.params["metric"],
            "vector_type": "dense",
            "deletion_protection": "disabled",
            "tags": {"managed-by": "sophia-iac"},
            "spec": spec,
        }
        try:
            await self.http.request("POST", "/indexes", action=call.action, target=name, json=body)
        except NotFoundError as exc:
            raise ConfigError(
                f"pinecone can't create index {name!r} in {_where(spec)}: {exc.message}",
                hint="set SOPHIA_PINECONE_CLOUD/SOPHIA_PINECONE_REGION (or SOPHIA_PINECONE_POD_ENVIRONMENT)"
                " to a location your Pinecone plan offers",
                details=exc.details,
            ) from None
        except PlatformAuthError as exc:
            raise self._create_refused(exc) from None
        except AdapterError as exc:
            if exc.details.get("status") == 409:
                raise ValidationFailedError(
                    f"pinecone: index {name!r} already exists",
                    hint="choose another name, or delete the existing index first",
                    details={**exc.details, "target": name},
                ) from None
            raise
        raw = await self._settle(name, call.action)
        return index_state(raw) if raw is not None else None

    async def do_index_configure(self, call: ActionCall, before: State) -> State:
        """``PATCH /indexes/{name}`` with the new replica count, then wait for the scaling."""
        self.precheck(call, before)
        name = index_name(call.target)
        replicas = call.params["replicas"]
        if (before or {}).get("replicas") == replicas:
            return await self.observe_index(call)
        raw = await self._describe(name, call.action)
        if raw is None:
            raise self._missing(name, call.action)
        body = self._replicas_body(name, raw, replicas)
        # An absolute replica count is safe to send twice; Pinecone takes no idempotency key,
        # so the key only tells the shared client that a 5xx may be retried.
        await self.http.request(
            "PATCH",
            api_path("/indexes/{index_name}", index_name=name),
            action=call.action,
            target=name,
            json=body,
            idempotency_key=f"replicas-{name}-{replicas}",
        )
        after = await self._settle(name, call.action)
        return index_state(after) if after is not None else None

    @staticmethod
    def _replicas_body(name: str, raw: dict[str, Any], replicas: int) -> dict[str, Any]:
        spec = _dict(raw.get("spec"))
        if "pod" in spec:
            return {"spec": {"pod": {"replicas": replicas}}}
        capacity = _dict(_dict(spec.get("serverless")).get("read_capacity"))
        dedicated = _dict(capacity.get("dedicated"))
        manual = _dict(dedicated.get("manual"))
        if (
            capacity.get("mode") != "Dedicated"
            or dedicated.get("scaling") != "Manual"
            or "shards" not in manual
        ):
            raise ValidationFailedError(
                f"pinecone: index {name!r} has no replica count sophia-iac can set",
                hint="replicas apply to pod-based indexes and to dedicated read nodes with manual scaling",
            )
        return {
            "spec": {
                "serverless": {
                    "read_capacity": {
                        "mode": "Dedicated",
                        "dedicated": {
                            "node_type": dedicated.get("node_type"),
                            "scaling": "Manual",
                            "manual": {"shards": manual["shards"], "replicas": replicas},
                        },
                    }
                }
            }
        }

    async def do_index_delete(self, call: ActionCall, before: State) -> State:
        """``DELETE /indexes/{name}`` (the index and its vectors), then wait until it is gone."""
        self.precheck(call, before)
        name = index_name(call.target)
        try:
            await self.http.request(
                "DELETE", api_path("/indexes/{index_name}", index_name=name), action=call.action, target=name
            )
        except PlatformAuthError as exc:
            # Pinecone answers 403 for deletion protection turned on since the plan was made.
            if exc.details.get("status") == 403:
                now = await self._describe(name, call.action)
                if now is not None and now.get("deletion_protection") == "enabled":
                    raise self._protected(name) from None
            raise
        raw = await self._settle(name, call.action, gone=True)
        return index_state(raw) if raw is not None else None

    # -- errors --------------------------------------------------------------------------

    @staticmethod
    def _missing(name: str, action: str) -> NotFoundError:
        return NotFoundError(
            f"pinecone: index {name!r} not found ({action})",
            hint="check the name; `sophia-iac status pinecone` lists the indexes",
            details={"platform": "pinecone", "action": action, "target": name},
        )

    @staticmethod
    def _protected(name: str) -> ValidationFailedError:
        return ValidationFailedError(
            f"pinecone: index {name!r} has deletion protection enabled",
            hint="turn deletion protection off for it in the Pinecone console, then run the command again",
            details={"platform": "pinecone", "target": name},
        )

    def _create_refused(self, exc: PlatformAuthError) -> PlatformAuthError:
        if exc.details.get("status") != 403:
            return exc
        # Pinecone's 403 on create also means "quota used up"; the key may be fine.
        return PlatformAuthError(
            exc.message,
            hint=f"either the key in {self.credential_var} may not create indexes, or the project's"
            " index or pod quota is used up (delete an unused index, or raise the quota in Pinecone)",
            details=exc.details,
        )

    # -- plan-time checks and predictions -------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse what can't work: a duplicate create, a missing index, protection, no replicas."""
        name = index_name(call.target)
        verb = call.action.rsplit(".", 1)[-1]
        if verb == "create":
            if before is not None:
                raise ValidationFailedError(
                    f"pinecone: index {name!r} already exists ({before.get('dimension')} dimensions,"
                    f" {before.get('metric')})",
                    hint="choose another name, or delete the existing index first",
                )
            deployment_spec()
            return
        if before is None:
            raise self._missing(name, call.action)
        if verb == "delete" and before.get("deletion_protection") == "enabled":
            raise self._protected(name)
        if verb == "configure" and before.get("replicas") is None:
            kind = before.get("deployment") or "this"
            raise ValidationFailedError(
                f"pinecone: index {name!r} is a {kind} index without replicas to set",
                hint="Pinecone scales on-demand serverless indexes itself; replicas apply to"
                " pod-based indexes and to dedicated read nodes",
            )

    def predict(self, call: ActionCall, before: State) -> State:
        """create → the new index; configure → the same index with the new replicas; delete → absent."""
        verb = call.action.rsplit(".", 1)[-1]
        if verb == "create":
            pod = "pod" in deployment_spec()
            return {
                "name": index_name(call.target),
                "dimension": call.params["dimension"],
                "metric": call.params["metric"],
                "replicas": 1 if pod else None,
                "deployment": "pod" if pod else "serverless",
            }
        if verb == "configure":
            return {**(before or {}), "replicas": call.params["replicas"]}
        return None

    # -- status --------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Every index with its deployment, replicas and readiness, and the breaker state."""
        try:
            reply = await self.http.request("GET", "/indexes", action="pinecone.status")
        except SophiaError as exc:
            return self.failed_status(exc)
        listed = _dict(reply.data).get("indexes")
        raws = [i for i in listed if isinstance(i, dict)] if isinstance(listed, list) else []
        items = [_inventory_item(raw) for raw in raws]
        waiting = [item["name"] for item in items if not item["ready"]]
        message = f"Pinecone API {API_VERSION}; {len(items)} index(es)"
        if waiting:
            message += f", not ready: {', '.join(str(n) for n in waiting)}"
        return PlatformStatus(
            "pinecone",
            healthy=True,
            message=message,
            inventory={"index": items},
            details={
                "circuit": self.http.breaker.snapshot(),
                "base_url": self.http.base_url,
                "api_version": API_VERSION,
            },
        )

"""The Estuary adapter class (the package doc says how each action is carried out)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.credentials import scrub
from adapters.specs.estuary import ACTIONS
from orchestrator.errors import AdapterError, BusyError, NotFoundError, SophiaError, ValidationFailedError

from .client import REST, EstuaryClient
from .records import (
    FAILED_JOBS,
    KINDS,
    catalog_name,
    draft_marker,
    flow_id,
    obj,
    spec_state,
    toggled_model,
)

__all__ = ["EstuaryAdapter"]


class EstuaryAdapter(EstuaryClient):
    """Estuary Flow captures and materializations: enable and disable, by publication."""

    name: ClassVar[str] = "estuary"
    display_name: ClassVar[str] = "Estuary Flow"
    stack: ClassVar[Stack] = Stack.DATA
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("capture", "materialization", "collection")
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    #: POSTs that change nothing: the token exchange (the fault matrix does not count it as a change).
    read_only_posts: ClassVar[tuple[str, ...]] = (f"{REST}/rpc/generate_access_token",)

    #: How long to wait for a publication to leave ``queued`` before leaving it to the reconciler.
    settle_timeout: ClassVar[float] = 300.0
    #: Pause between publication status polls (flowctl polls every second).
    poll_interval: ClassVar[float] = 1.0

    # -- reads -----------------------------------------------------------------------------

    @staticmethod
    def _kind(call: ActionCall) -> str:
        return call.action.split(".")[1]

    async def _node(self, name: str, action: str, document: str = "spec") -> dict[str, Any] | None:
        data = await self._graphql(document, {"names": [name]}, action=action, target=name)
        for edge in obj(data.get("liveSpecs")).get("edges") or []:
            node = obj(obj(edge).get("node"))
            if node.get("catalogName") == name:
                return node
        return None

    async def _drafts(self, name: str, action: str) -> list[str]:
        """Ids of the drafts sophia-iac made for ``name`` that still exist (a success deletes its draft)."""
        drafts = await self._rest(
            "GET",
            "drafts",
            action=action,
            target=name,
            read=True,
            params={"select": "id", "detail": f"eq.{draft_marker(name)}"},
        )
        return [flow_id(d.get("id"), "a draft id") for d in drafts if isinstance(d, dict)]

    async def _check_idle(self, name: str, action: str, drafts: list[str]) -> None:
        """Raise :class:`BusyError` while a publication of one of ``drafts`` is still ``queued``."""
        if not drafts:
            return
        pubs = await self._rest(
            "GET",
            "publications",
            action=action,
            target=name,
            read=True,
            params={"select": "id,job_status", "draft_id": "in.(" + ",".join(f'"{i}"' for i in drafts) + ")"},
        )
        queued = [
            str(p.get("id"))
            for p in pubs
            if isinstance(p, dict) and obj(p.get("job_status")).get("type") == "queued"
        ]
        if queued:
            raise BusyError(
                f"estuary: publication {queued[0]} of {name} is still running",
                hint="wait for it to finish (`sophia-iac reconcile` settles the change that queued it)",
                details={"platform": "estuary", "target": name, "publications": queued[:5]},
            )

    async def observe_capture(self, call: ActionCall) -> State:
        """``{"name", "enabled"}`` of the capture, or None.

        Raises:
            BusyError: a publication sophia-iac queued for it has not finished: its state is
                not settled yet, so nothing may be planned on it or concluded from it.
        """
        return await self._observe(call)

    async def observe_materialization(self, call: ActionCall) -> State:
        """``{"name", "enabled"}`` of the materialization, or None (busy as for a capture)."""
        return await self._observe(call)

    async def _observe(self, call: ActionCall) -> State:
        name = catalog_name(call.target)
        node = await self._node(name, call.action)
        state = spec_state(node, self._kind(call)) if node is not None else None
        if state is not None:
            await self._check_idle(name, call.action, await self._drafts(name, call.action))
        return state

    # -- changes ---------------------------------------------------------------------------

    async def do_capture_enable(self, call: ActionCall, before: State) -> State:
        """Publish the capture with ``shards.disable`` removed; read it back."""
        return await self._publish(call, before, enable=True)

    async def do_capture_disable(self, call: ActionCall, before: State) -> State:
        """Publish the capture with ``shards.disable: true``; read it back."""
        return await self._publish(call, before, enable=False)

    async def do_materialization_enable(self, call: ActionCall, before: State) -> State:
        """Publish the materialization with ``shards.disable`` removed; read it back."""
        return await self._publish(call, before, enable=True)

    async def do_materialization_disable(self, call: ActionCall, before: State) -> State:
        """Publish the materialization with ``shards.disable: true``; read it back."""
        return await self._publish(call, before, enable=False)

    async def _publish(self, call: ActionCall, before: State, *, enable: bool) -> State:
        self.precheck(call, before)
        name, kind, action = catalog_name(call.target), self._kind(call), call.action
        node = await self._node(name, action, "model")
        live = obj((node or {}).get("liveSpec"))
        if node is None or spec_state(node, kind) is None:
            raise NotFoundError(
                f"estuary: no {kind} named {name!r} ({action})",
                hint="check the name; `sophia-iac status estuary` lists captures and materializations",
                details={"platform": "estuary", "action": action, "target": name, "outcome": "unsent"},
            )
        model = toggled_model(live.get("model"), enable, name)
        last_pub = flow_id(live.get("lastPubId"), "a lastPubId")
        marker = draft_marker(name)
        leftovers = await self._drafts(name, action)
        await self._check_idle(name, action, leftovers)
        if leftovers:
            await self._tidy(name, action, {"detail": f"eq.{marker}"})
        rows = await self._rest(
            "POST", "drafts", action=action, target=name, params={"select": "id"}, json={"detail": marker}
        )
        draft = flow_id(obj(rows[0] if isinstance(rows, list) and rows else rows).get("id"), "a draft id")
        await self._rest(
            "POST",
            "draft_specs",
            action=action,
            target=name,
            params={"select": "catalog_name"},
            json={
                "draft_id": draft,
                "catalog_name": name,
                "spec_type": kind,
                "spec": model,
                "expect_pub_id": last_pub,
            },
        )
        rows = await self._rest(
            "POST",
            "publications",
            action=action,
            target=name,
            params={"select": "id"},
            json={"draft_id": draft, "dry_run": False, "detail": marker},
        )
        publication = flow_id(
            obj(rows[0] if isinstance(rows, list) and rows else rows).get("id"), "a publication id"
        )
        try:
            outcome = await self._wait(publication, name, action)
        except SophiaError as exc:
            exc.details["outcome"] = "unknown"  # the publication is queued: it may yet land
            raise
        if outcome in FAILED_JOBS:
            said = await self._draft_errors(draft, name, action)
            await self._tidy(name, action, {"id": f"eq.{draft}"})
            raise AdapterError(
                f"estuary: publication {publication} of {name} ended {outcome}"
                + (f": {said}" if said else ""),
                hint="Estuary refused the change and published nothing; fix what it says, then retry",
                details={
                    "platform": "estuary",
                    "action": action,
                    "target": name,
                    "vendor_code": outcome,
                    "outcome": "refused",
                },
            )
        # Read back. No publication of ours can be queued now (checked above; this one ended).
        node = await self._node(name, action)
        return spec_state(node, kind) if node is not None else None

    async def _wait(self, publication: str, name: str, action: str) -> str:
        """Poll the publication until it leaves ``queued``; its ``job_status.type``.

        Raises:
            AdapterError: still queued after :attr:`settle_timeout` (outcome unknown: the
                reconciler settles it once the publication ends).
        """
        started = time.monotonic()
        waited = 0.0
        while True:
            rows = await self._rest(
                "GET",
                "publications",
                action=action,
                target=name,
                read=True,
                params={"select": "id,job_status", "id": f"eq.{publication}"},
            )
            status = str(obj(obj(rows[0] if rows else {}).get("job_status")).get("type") or "")
            if status and status != "queued":
                return status
            if waited >= self.settle_timeout or time.monotonic() - started >= self.settle_timeout:
                raise AdapterError(
                    f"estuary: publication {publication} of {name} is still {status or 'unseen'}"
                    f" after {self.settle_timeout:.0f} s",
                    hint="it may yet succeed: `sophia-iac reconcile` settles the change by reading it back",
                    details={
                        "platform": "estuary",
                        "action": action,
                        "target": name,
                        "outcome": "unknown",
                        "publication": publication,
                    },
                )
            await self.pause(self.poll_interval)
            waited += self.poll_interval

    async def _draft_errors(self, draft: str, name: str, action: str) -> str:
        try:
            rows = await self._rest(
                "GET",
                "draft_errors",
                action=action,
                target=name,
                read=True,
                params={"select": "scope,detail", "draft_id": f"eq.{draft}"},
            )
        except SophiaError:
            return ""
        return "; ".join(scrub(str(obj(r).get("detail")))[:200] for r in rows[:3])

    async def _tidy(self, name: str, action: str, where: Mapping[str, str]) -> None:
        """Delete sophia-iac's own leftover drafts (best effort: a leftover draft changes nothing)."""
        try:
            await self._rest("DELETE", "drafts", action=action, target=name, params=dict(where))
        except (AdapterError, NotFoundError):
            pass

    # -- planning --------------------------------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse a missing target and a change that would change nothing."""
        name, kind = catalog_name(call.target), self._kind(call)
        if before is None:
            raise NotFoundError(
                f"estuary: no {kind} named {name!r} ({call.action})",
                hint="check the name; `sophia-iac status estuary` lists captures and materializations",
                details={"platform": "estuary", "action": call.action, "target": name, "outcome": "unsent"},
            )
        enable = call.action.endswith(".enable")
        if bool(before.get("enabled")) == enable:
            raise ValidationFailedError(
                f"estuary: {kind} {name!r} is already {'enabled' if enable else 'disabled'}",
                hint="nothing to do",
                details={"platform": "estuary", "target": name},
            )

    def predict(self, call: ActionCall, before: State) -> State:
        """The target with its new ``enabled`` flag."""
        return {"name": catalog_name(call.target), "enabled": call.action.endswith(".enable")}

    # -- status ----------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Captures, materializations and collections under every prefix the token can read."""
        try:
            prefixes = await self._pages("prefixes", {}, "prefixes", "estuary.status")
            seen: dict[str, dict[str, Any]] = {}
            for node in prefixes:
                prefix = node.get("prefix")
                if isinstance(prefix, str) and prefix:
                    for spec in await self._pages(
                        "inventory", {"prefix": prefix}, "liveSpecs", "estuary.status"
                    ):
                        live = obj(spec.get("liveSpec"))
                        if (
                            isinstance(spec.get("catalogName"), str)
                            and live.get("catalogType") in self.resource_types
                        ):
                            seen[spec["catalogName"]] = {
                                "kind": live["catalogType"],
                                "name": spec["catalogName"],
                                "enabled": live.get("isDisabled") is not True,
                            }
        except SophiaError as exc:
            return self.failed_status(exc)
        inventory: dict[str, list[dict[str, Any]]] = {kind: [] for kind in self.resource_types}
        for name in sorted(seen):
            entry = seen[name]
            inventory[entry.pop("kind")].append(entry)
        tasks = [s for kind in KINDS for s in inventory[kind]]
        return PlatformStatus(
            self.name,
            healthy=True,
            message=f"{len(inventory['capture'])} capture(s), {len(inventory['materialization'])}"
            f" materialization(s) ({sum(1 for s in tasks if not s['enabled'])} disabled),"
            f" {len(inventory['collection'])} collection(s)",
            inventory=inventory,
            details={
                "circuit": self.breaker.snapshot(),
                "base_url": self.http.base_url,
                "pg_url": self.pg.base_url,
            },
        )

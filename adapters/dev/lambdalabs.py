"""Lambda Labs adapter: GPU instances and SSH keys through the Lambda Cloud API (v1.10).

Configuration: an API key in ``SOPHIA_LAMBDALABS_TOKEN`` (or ``…_TOKEN_FILE``), sent as
``Authorization: Bearer`` (Lambda's recommended form); ``SOPHIA_LAMBDALABS_BASE_URL`` overrides
``https://cloud.lambda.ai`` (tests: a contract server's host root). Lambda requires exactly one SSH
key on every launch: ``SOPHIA_LAMBDALABS_SSH_KEY`` names it (a key already in the account).

State, read with ``GET /api/v1/instances`` (live instances only: ``terminating``, ``terminated``
and ``preempted`` ones are gone and never come back):

* an instance target is a NAME (Lambda does not make names unique) or an instance id. Its state
  is the group of live instances so named: ``{"name", "instance_type", "region", "count",
  "ids"}``. Status (``booting`` → ``active``), IPs and the price are left out on purpose: they
  change by themselves, and a state field that does would make an untouched instance look
  "changed since" to the executor and to undo;
* an SSH key is ``{"name", "public_key"}`` from ``GET /api/v1/ssh-keys`` (its id is looked up
  when it is removed, so a re-added key reads back as the same state).

How each action is carried out:

* ``instance.launch`` → reads the price list (``GET /api/v1/instance-types``) when it is
  planned: the prediction carries ``usd_per_hour`` = the type's ``price_cents_per_hour`` × count
  / 100, which policy sees as ``expected.usd_per_hour`` (``spend_cap``'s ``usd_per_hour`` cap, or
  any CEL rule). An unknown type, or a region without capacity, is refused at plan time. Then
  one ``POST /api/v1/instance-operations/launch`` per instance (v1.10's request has no quantity;
  Lambda allows one launch per 12 s, so launches are :attr:`launch_interval` apart), named by
  the target, tagged ``managed-by: sophia-iac``; then the listing is read until every returned
  id is there and none is ``booting``, within :attr:`settle_timeout`. A launch is not
  idempotent at Lambda and takes no idempotency key, so it is never repeated: a lost answer is
  settled by reading the name back, and a name that already has live instances is refused
  (which also stops a retried command from launching twice). Its inverse is terminate;
* ``instance.terminate`` → ``POST /api/v1/instance-operations/terminate`` with the group's ids,
  then read back (the instances are gone once ``terminating``). It CAN'T BE UNDONE: the
  instances and their local disks are gone (destructive: four-eyes approval by policy);
* ``ssh_key.add`` → ``POST /api/v1/ssh-keys`` with the name and public key (never a generated
  pair: Lambda would return a private key); ``ssh_key.remove`` → ``DELETE
  /api/v1/ssh-keys/{id}``; each read back from the listing. Their inverses re-add / remove.

Errors (``{"error": {"code", "message", "suggestion"}}``): 401/403 →
:class:`~adapters.http.PlatformAuthError` naming ``SOPHIA_LAMBDALABS_TOKEN``; a launch's 400
(no capacity, quota, filesystem region) and 404 (unknown SSH key, type or region) carry
Lambda's message; 429 and 5xx are retried by the shared client for reads and the DELETE only.

Tested against a contract WRITTEN BY HAND (``tests/contract/fixtures/lambdalabs``) from Lambda's
Cloud API document v1.10 and docs.lambda.ai/api/cloud, checked against the vendor's document
where a copy is at hand (its licence is unclear: not carried). That shows the requests match the
documentation, not that the live API accepts them. Known gaps: the document declares no 429 or
5xx though it states rate limits; its prose example sends ``quantity``, which its schema no
longer declares (not sent here); whether the listing shows a launch at once is not documented.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.http import HttpAdapter, api_path
from adapters.specs.lambdalabs import ACTIONS
from orchestrator.errors import AdapterError, ConfigError, NotFoundError, SophiaError, ValidationFailedError

__all__ = ["DEFAULT_BASE_URL", "GONE", "SSH_KEY_VAR", "LambdaLabsAdapter", "group_state", "instance_name"]

DEFAULT_BASE_URL = "https://cloud.lambda.ai"
SSH_KEY_VAR = "SOPHIA_LAMBDALABS_SSH_KEY"
#: Statuses of instances that are gone (or going) for good.
GONE = frozenset({"terminating", "terminated", "preempted"})
_ID = re.compile(r"^[0-9a-f]{32}$")
_TAG = {"key": "managed-by", "value": "sophia-iac"}
#: Prediction keys the platform never shows back (the quote): not part of read-back.
QUOTE_KEYS = frozenset({"usd_per_hour", "unit_usd_per_hour"})


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object, limit: int = 255) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def instance_name(target: str | None, what: str = "instance") -> str:
    """The target as Lambda spells names (whitespace collapsed), or a refusal: 1-64 characters."""
    name = " ".join((target or "").split())
    if not name or len(name) > 64:
        raise ValidationFailedError(
            f"lambdalabs: {target!r} is not a valid {what} name",
            hint=f"{what} names are 1-64 characters",
            details={"field": "target"},
        )
    return name


def _list(reply_data: object, what: str, action: str) -> list[dict[str, Any]]:
    data = _obj(reply_data).get("data")
    if not isinstance(data, list):
        raise AdapterError(
            f"lambdalabs answered the {what} listing without a list (during {action})",
            hint="Lambda or a proxy in front of it is misbehaving; retry later",
            details={"platform": "lambdalabs", "action": action},
        )
    return [item for item in data if isinstance(item, dict)]


def group_state(name: str, instances: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"name", "instance_type", "region", "count", "ids"}`` of the live instances so named."""
    types = sorted({str(_obj(i.get("instance_type")).get("name")) for i in instances})
    regions = sorted({str(_obj(i.get("region")).get("name")) for i in instances})
    return {
        "name": name,
        "instance_type": ",".join(types),
        "region": ",".join(regions),
        "count": len(instances),
        "ids": sorted(str(i.get("id")) for i in instances),
    }


def _live(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in raw if i.get("status") not in GONE and isinstance(i.get("id"), str)]


def _select(instances: list[dict[str, Any]], target: str) -> tuple[str, list[dict[str, Any]]]:
    """(name, instances) the target names: an id first, then the exact name, then any case."""
    if _ID.match(target):
        by_id = [i for i in instances if i["id"] == target]
        if by_id:
            return str(by_id[0].get("name") or target), by_id
    exact = [i for i in instances if " ".join(str(i.get("name") or "").split()) == target]
    if exact:
        return target, exact
    folded = [i for i in instances if str(i.get("name") or "").casefold() == target.casefold()]
    return (str(folded[0]["name"]), folded) if folded else (target, [])


class LambdaLabsAdapter(HttpAdapter):
    """Lambda Cloud GPU instances (launch, terminate) and SSH keys (add, remove)."""

    name: ClassVar[str] = "lambdalabs"
    display_name: ClassVar[str] = "Lambda Labs"
    stack: ClassVar[Stack] = Stack.DEV
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("instance", "ssh_key", "filesystem")
    content_on_delete: ClassVar[Mapping[str, str]] = {
        "instance": "its local disk and everything on it are not restored (a launch makes a new, empty instance)",
        "filesystem": "its files are not restored",
    }
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    #: Seconds between two launch requests (Lambda: one launch per 12 s).
    launch_interval: ClassVar[float] = 12.0
    #: Longest wait, in seconds, for launched instances to be listed and leave ``booting``.
    settle_timeout: ClassVar[float] = 300.0
    poll_interval: ClassVar[float] = 5.0
    poll_max_interval: ClassVar[float] = 30.0

    def __init__(self, settings: Any = None, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        #: instance type → its ``InstanceTypesItem``, from the last price list read.
        self.quotes: dict[str, dict[str, Any]] = {}

    # -- reads -----------------------------------------------------------------------------

    async def _instances(self, action: str) -> list[dict[str, Any]]:
        reply = await self.http.request("GET", "/api/v1/instances", action=action)
        return _live(_list(reply.data, "instance", action))

    async def _ssh_keys(self, action: str) -> list[dict[str, Any]]:
        reply = await self.http.request("GET", "/api/v1/ssh-keys", action=action)
        return _list(reply.data, "SSH key", action)

    async def read_quotes(self, action: str) -> dict[str, dict[str, Any]]:
        """The price list (``GET /api/v1/instance-types``), kept in :attr:`quotes` for predictions."""
        reply = await self.http.request("GET", "/api/v1/instance-types", action=action)
        data = _obj(reply.data).get("data")
        if not isinstance(data, dict):
            raise AdapterError(
                f"lambdalabs answered the instance-types listing without a map (during {action})",
                hint="Lambda or a proxy in front of it is misbehaving; retry later",
                details={"platform": "lambdalabs", "action": action},
            )
        self.quotes = {str(k): v for k, v in data.items() if isinstance(v, dict)}
        return self.quotes

    async def observe_instance(self, call: ActionCall) -> State:
        """The live instances the target names, grouped (see the module doc), or None.

        For a launch the price list is read too: the prediction needs the hourly price.
        """
        target = instance_name(call.target)
        if call.action.endswith(".launch"):
            await self.read_quotes(call.action)
        name, found = _select(await self._instances(call.action), target)
        return group_state(name, found) if found else None

    async def observe_ssh_key(self, call: ActionCall) -> State:
        """``{"name", "public_key"}`` of the key with exactly this name, or None."""
        name = instance_name(call.target, "SSH key")
        for key in await self._ssh_keys(call.action):
            if key.get("name") == name:
                return {"name": name, "public_key": _text(key.get("public_key"), 4096)}
        return None

    # -- changes ---------------------------------------------------------------------------

    async def do_instance_launch(self, call: ActionCall, before: State) -> State:
        """One launch request per instance, then read back until they are listed and booted."""
        self.precheck(call, before)
        name = instance_name(call.target)
        body = {
            "region_name": call.params["region"],
            "instance_type_name": call.params["instance_type"],
            "ssh_key_names": [self._ssh_key_name()],
            "name": name,
            "tags": [dict(_TAG)],
        }
        launched: list[str] = []
        for n in range(call.params["count"]):
            if n:
                await self.pause(self.launch_interval)
            try:
                reply = await self.http.request(
                    "POST", "/api/v1/instance-operations/launch", action=call.action, target=name, json=body
                )
            except SophiaError as exc:
                if not launched:
                    raise
                raise AdapterError(
                    f"lambdalabs launched {len(launched)} of {call.params['count']} instances named {name!r}"
                    f" ({', '.join(launched)}) before the next launch failed: {exc.message}",
                    hint="the instances launched are running (and billed): terminate them, or keep them",
                    details={**exc.details, "outcome": "unknown", "launched": launched},
                ) from None
            ids = _obj(_obj(reply.data).get("data")).get("instance_ids")
            launched += [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
        return await self._settle_launch(call, name, launched)

    async def _settle_launch(self, call: ActionCall, name: str, ids: list[str]) -> State:
        waited, interval = 0.0, self.poll_interval
        while True:
            live = await self._instances(call.action)
            mine = [i for i in live if i["id"] in ids]
            if len(mine) == len(ids) and not any(i.get("status") == "booting" for i in mine):
                break
            if waited >= self.settle_timeout:
                break
            await self.pause(interval)
            waited += interval
            interval = min(interval * 2, self.poll_max_interval)
        found_name, found = _select(live, name)
        return group_state(found_name, found) if found else None

    async def do_instance_terminate(self, call: ActionCall, before: State) -> State:
        """``POST /api/v1/instance-operations/terminate`` with the group's ids; then read back."""
        self.precheck(call, before)
        ids = list((before or {}).get("ids") or [])
        await self.http.request(
            "POST",
            "/api/v1/instance-operations/terminate",
            action=call.action,
            target=instance_name(call.target),
            json={"instance_ids": ids},
        )
        return await self.observe_instance(call)

    async def do_ssh_key_add(self, call: ActionCall, before: State) -> State:
        """``POST /api/v1/ssh-keys`` with the public key (never a generated pair), then read back."""
        self.precheck(call, before)
        name = instance_name(call.target, "SSH key")
        await self.http.request(
            "POST",
            "/api/v1/ssh-keys",
            action=call.action,
            target=name,
            json={"name": name, "public_key": call.params["public_key"]},
        )
        return await self.observe_ssh_key(call)

    async def do_ssh_key_remove(self, call: ActionCall, before: State) -> State:
        """``DELETE /api/v1/ssh-keys/{id}`` (the id looked up by name), then read back."""
        self.precheck(call, before)
        name = instance_name(call.target, "SSH key")
        found = [k for k in await self._ssh_keys(call.action) if k.get("name") == name]
        if not found:
            raise self._missing("SSH key", name, call.action)
        await self.http.request(
            "DELETE", api_path("/api/v1/ssh-keys/{id}", id=found[0].get("id")), action=call.action, target=name
        )
        return await self.observe_ssh_key(call)

    # -- planning --------------------------------------------------------------------------

    @staticmethod
    def _ssh_key_name() -> str:
        value = " ".join(os.environ.get(SSH_KEY_VAR, "").split())
        if not value or len(value) > 64:
            said = "is not set" if not value else "is longer than 64 characters"
            raise ConfigError(
                f"lambdalabs: {SSH_KEY_VAR} {said}",
                hint=f"set {SSH_KEY_VAR} to the name of an SSH key in your Lambda account: every launch needs one",
            )
        return value

    def _quote(self, call: ActionCall) -> dict[str, Any]:
        """The type's price-list entry; refuses an unknown type or a region without capacity."""
        wanted, region = call.params["instance_type"], call.params["region"]
        item = self.quotes.get(wanted)
        price = _obj(_obj(item).get("instance_type")).get("price_cents_per_hour")
        if item is None or not isinstance(price, int) or isinstance(price, bool):
            known = ", ".join(sorted(self.quotes)[:30]) or "none were listed"
            raise ValidationFailedError(
                f"lambdalabs: no price for instance type {wanted!r} (is it offered?)",
                hint=f"instance types Lambda lists now: {known}",
                details={"field": "instance_type"},
            )
        regions = [_obj(r).get("name") for r in item.get("regions_with_capacity_available") or []]
        if region not in regions:
            where = ", ".join(str(r) for r in regions) or "no region right now"
            raise ValidationFailedError(
                f"lambdalabs: {wanted} has no capacity in {region}",
                hint=f"it has capacity in: {where}",
                details={"field": "region"},
            )
        return item

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse what can't work: a name already launched, an unknown price, a missing target."""
        verb = call.action.removeprefix("lambdalabs.")
        if verb == "instance.launch":
            name = instance_name(call.target)
            if before is not None:
                raise ValidationFailedError(
                    f"lambdalabs: {before.get('count')} live instance(s) are already named {name!r}"
                    f" ({', '.join(before.get('ids') or [])})",
                    hint="choose another name (names identify what a launch made, and what undo terminates)",
                )
            self._ssh_key_name()
            self._quote(call)
        elif verb == "ssh_key.add":
            name = instance_name(call.target, "SSH key")
            if before is not None:
                same = before.get("public_key") == call.params["public_key"]
                raise ValidationFailedError(
                    f"lambdalabs: an SSH key named {name!r} already exists"
                    + (" with this public key" if same else " with another public key"),
                    hint="nothing to do" if same else "remove it first, or choose another name",
                )
        elif before is None:
            what = "SSH key" if verb.startswith("ssh_key") else "live instance"
            raise self._missing(what, " ".join((call.target or "").split()), call.action)

    def predict(self, call: ActionCall, before: State) -> State:
        """launch → the group with the quote (``usd_per_hour``); terminate/remove → absent; add → the key."""
        verb = call.action.removeprefix("lambdalabs.")
        if verb == "instance.launch":
            expected: dict[str, Any] = {
                "name": instance_name(call.target),
                "instance_type": call.params["instance_type"],
                "region": call.params["region"],
                "count": call.params["count"],
            }
            item = self.quotes.get(call.params["instance_type"])
            cents = _obj(_obj(item).get("instance_type")).get("price_cents_per_hour")
            if isinstance(cents, int) and not isinstance(cents, bool):
                expected["unit_usd_per_hour"] = round(cents / 100, 2)
                expected["usd_per_hour"] = round(cents * call.params["count"] / 100, 2)
            return expected
        if verb == "ssh_key.add":
            return {"name": instance_name(call.target, "SSH key"), "public_key": call.params["public_key"]}
        return None

    def reached(self, call: ActionCall, expected: State, observed: State) -> bool:
        """Every predicted field but the quote (the platform never shows the price back)."""
        if expected is None or observed is None:
            return expected is None and observed is None
        return all(observed.get(k) == v for k, v in expected.items() if k not in QUOTE_KEYS)

    @staticmethod
    def _missing(what: str, name: str, action: str) -> NotFoundError:
        return NotFoundError(
            f"lambdalabs: no {what} named {name!r} ({action})",
            hint="check the name; `sophia-iac status lambdalabs` lists instances and SSH keys",
            details={"platform": "lambdalabs", "action": action, "target": name},
        )

    # -- status ----------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Instances (grouped by name), SSH keys and filesystems; statuses and prices in details."""
        action = "lambdalabs.status"
        try:
            reply = await self.http.request("GET", "/api/v1/instances", action=action)
            raw = _list(reply.data, "instance", action)
            keys = await self._ssh_keys(action)
            reply = await self.http.request("GET", "/api/v1/file-systems", action=action)
            filesystems = _list(reply.data, "filesystem", action)
            quotes = await self.read_quotes(action)
        except SophiaError as exc:
            return self.failed_status(exc)
        live = _live(raw)
        groups: dict[str, list[dict[str, Any]]] = {}
        for inst in live:
            groups.setdefault(str(inst.get("name") or inst["id"]), []).append(inst)
        hourly = sum(_obj(i.get("instance_type")).get("price_cents_per_hour") or 0 for i in live) / 100
        statuses = [{k: i.get(k) for k in ("id", "name", "status", "ip")} for i in live]
        booting = sum(1 for i in live if i.get("status") == "booting")
        return PlatformStatus(
            "lambdalabs",
            healthy=True,
            message=f"{len(live)} live instance(s) ({booting} booting), about ${hourly:.2f}/h;"
            f" {len(keys)} SSH key(s), {len(filesystems)} filesystem(s)",
            inventory={
                "instance": [group_state(n, g) for n, g in sorted(groups.items())],
                "ssh_key": [{"name": k.get("name"), "public_key": k.get("public_key")} for k in keys],
                "filesystem": [{"name": f.get("name"), "region": _obj(f.get("region")).get("name"),
                                "mount_point": f.get("mount_point")} for f in filesystems],
            },
            details={
                "circuit": self.http.breaker.snapshot(),
                "base_url": self.http.base_url,
                "instances": statuses,
                "usd_per_hour": round(hourly, 2),
                "instance_types": {
                    k: {
                        "usd_per_hour": (_obj(v.get("instance_type")).get("price_cents_per_hour") or 0) / 100,
                        "regions": [_obj(r).get("name") for r in v.get("regions_with_capacity_available") or []],
                    }
                    for k, v in sorted(quotes.items())
                },
            },
        )

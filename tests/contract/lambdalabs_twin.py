"""Lambda Labs test set-up: the hand-written contract served by Prism, and a small state model.

Lambda's own document has no clear licence, so the project carries a contract written by hand
(``fixtures/lambdalabs/openapi.yaml``, which cites the document and the docs pages);
:func:`shared_server` runs one Prism on it for the whole session (every Lambda Labs test module
uses the same one), so these tests need Prism but not ``SOPHIA_SPECS_DIR``.

:class:`LambdaLabsTwin` stands in for the platform (no Lambda Cloud can run here): Prism judges
every request and answers with the contract's examples; the twin keeps the account's instances,
SSH keys, filesystems and price list, picks the declared status (400 for a launch without
capacity, 404 for an unknown SSH key or id), applies what mutating requests ask for, and
replaces Prism's example bodies with its own records. It plays Lambda's asynchronous launch: a
new instance is ``booting`` for :attr:`~LambdaLabsTwin.boot_polls` listings, then ``active``; a
terminated one is ``terminating`` for one listing, then ``terminated``; with
:attr:`~LambdaLabsTwin.list_lag` a new instance is missing from that many listings first (a
launch the listing does not show yet). :meth:`fault` makes the
next matching requests answer an error, changing nothing: Prism's own answer where the contract
declares the status, else (429, 503: the document states rate limits but declares neither) an
answer in Lambda's error shape injected after Prism judged the request.
"""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from .handwritten import FaultInjection
from .prism import PrismServer
from .provision import ensure_prism
from .twins import _Twin

__all__ = ["FIXTURE", "SSH_KEY", "TYPES", "LambdaLabsTwin", "shared_server"]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "lambdalabs" / "openapi.yaml"
#: The SSH key every launch names (``SOPHIA_LAMBDALABS_SSH_KEY``).
SSH_KEY = "ops"
_REGIONS = {"us-west-1": "California, USA", "us-east-1": "Virginia, USA", "europe-central-1": "Germany"}
#: name → (price in cents an hour, gpus, regions with capacity)
TYPES: dict[str, tuple[int, int, tuple[str, ...]]] = {
    "gpu_1x_a10": (75, 1, ("us-west-1", "us-east-1")),
    "gpu_1x_a100_sxm4": (129, 1, ("us-west-1",)),
    "gpu_8x_a100": (1432, 8, ()),
    "gpu_8x_h100_sxm5": (2392, 8, ("us-east-1",)),
    "gpu_8x_b200_sxm6": (3992, 8, ("us-east-1",)),
}


_SERVERS: list[PrismServer] = []


def shared_server(config: pytest.Config) -> PrismServer:
    """The session's Prism serving the hand-written contract (skips when Prism can't be had)."""
    if not _SERVERS:
        server = PrismServer(FIXTURE, binary=ensure_prism())
        server.launch()
        config.add_cleanup(server.stop)
        server.wait_ready()
        _SERVERS.append(server)
    return _SERVERS[0]


def _region(name: str) -> dict[str, str]:
    return {"name": name, "description": _REGIONS.get(name, name)}


def _type(name: str) -> dict[str, Any]:
    cents, gpus, _ = TYPES[name]
    return {
        "name": name,
        "description": f"{gpus}x {name.split('_')[-1].upper()}",
        "gpu_description": name.split("_")[-1].upper(),
        "price_cents_per_hour": cents,
        "specs": {"vcpus": 30 * gpus, "memory_gib": 200 * gpus, "storage_gib": 1400 * gpus, "gpus": gpus},
    }


class LambdaLabsTwin(FaultInjection, _Twin):
    """Instances, SSH keys, filesystems and the price list of one account, and queued faults.

    Seeded: ``trainer-1`` (gpu_1x_a10, us-west-1, active), two ``finetune`` (gpu_8x_h100_sxm5,
    us-east-1, active), ``old-box`` (terminated: listed, but gone); SSH keys ``ops`` and
    ``laptop``; filesystem ``datasets``.
    """

    document = FIXTURE

    def __init__(self, boot_polls: int = 2, list_lag: int = 0) -> None:
        super().__init__()
        self.boot_polls = boot_polls
        self.list_lag = list_lag
        self._ids = (f"{n:032x}" for n in itertools.count(0xA0000001))
        self.instances: dict[str, dict[str, Any]] = {}
        for name, kind, region, status in (
            ("trainer-1", "gpu_1x_a10", "us-west-1", "active"),
            ("finetune", "gpu_8x_h100_sxm5", "us-east-1", "active"),
            ("finetune", "gpu_8x_h100_sxm5", "us-east-1", "active"),
            ("old-box", "gpu_1x_a10", "us-west-1", "terminated"),
        ):
            self._add(name, kind, region, status)
        self.keys: dict[str, dict[str, str]] = {}
        for name, key in (
            ("ops", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsKeyForDocs000 ops@example"),
            ("laptop", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILaptopKeyForDocs11 me@laptop"),
        ):
            self.keys[next(self._ids)] = {"name": name, "public_key": key}
        self.faults: list[list[Any]] = []
        #: Launch request bodies, in order (what the platform was asked to run).
        self.launches: list[dict[str, Any]] = []

    def _add(self, name: str, kind: str, region: str, status: str) -> str:
        iid = next(self._ids)
        self.instances[iid] = {"name": name, "type": kind, "region": region, "status": status, "polls": 0,
                               "hidden": self.list_lag if status == "booting" else 0}
        return iid

    def live(self, name: str) -> list[str]:
        """Ids of the live instances called ``name``."""
        gone = ("terminating", "terminated", "preempted")
        return [i for i, v in self.instances.items() if v["name"] == name and v["status"] not in gone]

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        code = self._fault(method, path)
        if code is not None:
            return self.forced(method, path, code)
        if path == "/api/v1/instances" and method == "GET":
            shown = [i for i, v in self.instances.items() if not v["hidden"]]
            self._tick()
            return None, ("instances", [self.instance(i) for i in shown])
        if path == "/api/v1/instance-operations/launch" and isinstance(body, dict):
            return self._launch(body)
        if path == "/api/v1/instance-operations/terminate" and isinstance(body, dict):
            ids = body.get("instance_ids") or []
            if any(i not in self.instances or self.instances[i]["status"] == "terminated" for i in ids):
                return "404", None
            for i in ids:
                self.instances[i].update(status="terminating", polls=0)
            return None, ("terminated", [self.instance(i) for i in ids])
        if path == "/api/v1/instance-types":
            return None, ("types", None)
        if path == "/api/v1/ssh-keys" and method == "GET":
            return None, ("keys", None)
        if path == "/api/v1/ssh-keys" and method == "POST" and isinstance(body, dict):
            if any(k["name"] == body.get("name") for k in self.keys.values()):
                return "400", None
            kid = next(self._ids)
            self.keys[kid] = {"name": str(body.get("name")), "public_key": str(body.get("public_key"))}
            return None, ("key", kid)
        if m := re.fullmatch(r"/api/v1/ssh-keys/([^/]+)", path):
            if m.group(1) not in self.keys:
                return "404", None
            del self.keys[m.group(1)]
            return None, ("empty", None)
        if path == "/api/v1/file-systems":
            return None, ("filesystems", None)
        return None, None

    def _launch(self, body: dict[str, Any]) -> tuple[str | None, Any]:
        kind, region = body.get("instance_type_name"), body.get("region_name")
        if kind not in TYPES or not any(k["name"] in (body.get("ssh_key_names") or []) for k in self.keys.values()):
            return "404", None
        if region not in TYPES[kind][2]:
            return "400", None
        self.launches.append(copy.deepcopy(body))
        iid = self._add(str(body.get("name") or ""), kind, str(region), "booting")
        return None, ("launched", [iid])

    def _tick(self) -> None:
        """One listing: booting instances count down to active, terminating ones end."""
        for inst in self.instances.values():
            if inst["hidden"]:
                inst["hidden"] -= 1
            elif inst["status"] == "booting":
                inst["polls"] += 1
                if inst["polls"] > self.boot_polls:
                    inst["status"] = "active"
            elif inst["status"] == "terminating":
                inst["polls"] += 1
                if inst["polls"] > 1:
                    inst["status"] = "terminated"

    def instance(self, iid: str) -> dict[str, Any]:
        """The instance as Lambda's ``Instance`` record."""
        inst = self.instances[iid]
        return {
            "id": iid,
            "name": inst["name"],
            "ip": f"198.51.100.{int(iid, 16) % 250}",
            "status": inst["status"],
            "ssh_key_names": [SSH_KEY],
            "file_system_names": [],
            "region": _region(inst["region"]),
            "instance_type": _type(inst["type"]),
            "actions": {
                op: {"available": inst["status"] == "active"}
                for op in ("migrate", "rebuild", "restart", "cold_reboot", "terminate")
            },
        }

    def injected_body(self, code: int) -> Any:
        kind = "rate-limited" if code == 429 else "internal-unavailable"
        return {"error": {"code": f"global/{kind}", "message": f"HTTP {code}"}}

    def inject(self, code: int) -> httpx.Response:
        response = super().inject(code)
        if code == 429:
            response.headers["retry-after"] = "1"
        return response

    def fill(self, note: Any, body: Any) -> Any:
        kind, value = note
        if kind == "instances":
            return {"data": value}
        if kind == "launched":
            return {"data": {"instance_ids": value}}
        if kind == "terminated":
            return {"data": {"terminated_instances": value}}
        if kind == "types":
            return {
                "data": {
                    name: {"instance_type": _type(name), "regions_with_capacity_available": [_region(r) for r in regions]}
                    for name, (_, _, regions) in TYPES.items()
                }
            }
        if kind == "keys":
            return {"data": [{"id": k, **v} for k, v in self.keys.items()]}
        if kind == "key":
            return {"data": {"id": value, **self.keys[value]}}
        if kind == "empty":
            return {"data": {}}
        if kind == "filesystems":
            return {"data": copy.deepcopy(body["data"]) if isinstance(body, dict) else []}
        return body

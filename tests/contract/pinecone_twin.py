"""Pinecone test set-up: Pinecone's own control-plane document served by Prism, and a state model.

Prism serves Pinecone's published OpenAPI document (``tests/contracts/vendor/pinecone``,
API version 2026-04, :data:`DOCUMENT`); tests get the server from the session's pool.

:class:`PineconeTwin` stands in for the platform (no Pinecone can run here), and is kept because
the tests need state: Prism's mock is stateless, and an index that is created, then
``Initializing``, then ready, then scaled and deleted can only be observed through a model.
Prism judges every request and answers with the document's examples; the twin keeps the
indexes, picks the declared status (404 missing, 409 duplicate, 403 deletion protection),
applies what mutating requests ask for, and replaces Prism's example bodies with its own
indexes. It models Pinecone's asynchronous control plane: a new index is ``Initializing`` for a
few describes, a scaled one ``ScalingUp`` (dedicated read nodes: ``Scaling``) for one, a deleted
one ``Terminating`` for one before it is gone. :meth:`PineconeTwin.fault` makes the next
matching requests answer an error instead, changing nothing: Prism's own answer where the
document declares the status, else (429, 503: Pinecone's error guide documents them for every
call, its document lists neither) an answer in the document's ``ErrorResponse`` shape injected
after Prism judged the request.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import httpx

from .handwritten import FaultInjection
from .provision import specs_dir
from .twins import _Twin

__all__ = ["DOCUMENT", "PineconeTwin"]

#: (platform, file) of Pinecone's control-plane document, for ``prism.serve(*DOCUMENT)``.
DOCUMENT = ("pinecone", "db_control_2026-04.oas.yaml")
#: ErrorResponse ``error.code`` per status, as Pinecone's error guide names them.
_ERROR_CODES = {429: "RESOURCE_EXHAUSTED", 500: "UNKNOWN", 503: "UNAVAILABLE"}


def _pod(name: str, dimension: Any, metric: Any, replicas: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "dimension": dimension,
        "metric": metric,
        "host": f"{name}-c01b5b5.svc.us-east-1-aws.pinecone.io",
        "deletion_protection": "disabled",
        "spec": {
            "pod": {
                "environment": "us-east-1-aws",
                "pod_type": "p1.x1",
                "pods": replicas,
                "replicas": replicas,
                "shards": 1,
            }
        },
        "status": {"ready": True, "state": "Ready"},
        "vector_type": "dense",
        **extra,
    }


def _serverless(
    name: str, dimension: Any, metric: Any, capacity: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "dimension": dimension,
        "metric": metric,
        "host": f"{name}-a31f9c1.svc.aped-4627-b74a.pinecone.io",
        "deletion_protection": "disabled",
        "spec": {"serverless": {"cloud": "aws", "region": "us-east-1", "read_capacity": capacity}},
        "status": {"ready": True, "state": "Ready"},
        "vector_type": "dense",
        **extra,
    }


def _on_demand() -> dict[str, Any]:
    return {"mode": "OnDemand", "status": {"state": "Ready"}}


def _dedicated(shards: int, replicas: int) -> dict[str, Any]:
    return {
        "mode": "Dedicated",
        "dedicated": {
            "node_type": "b1",
            "scaling": "Manual",
            "manual": {"shards": shards, "replicas": replicas},
        },
        "status": {"state": "Ready", "current_shards": shards, "current_replicas": replicas},
    }


class PineconeTwin(FaultInjection, _Twin):
    """Indexes, their readiness, and queued faults (see the module doc).

    Seeded with ``support-kb`` (pod-based, 2 replicas), ``recs`` (serverless with dedicated
    read nodes, 1 replica), ``docs`` (serverless on demand) and ``billing-archive`` (on demand,
    deletion protection on).
    """

    def __init__(self, init_polls: int = 2, init_state: str = "Initializing") -> None:
        super().__init__()
        self.init_polls = init_polls
        self.init_state = init_state
        self.indexes: dict[str, dict[str, Any]] = {
            "support-kb": _pod("support-kb", 768, "cosine", 2),
            "recs": _serverless("recs", 384, "euclidean", _dedicated(1, 1)),
            "docs": _serverless("docs", 1536, "dotproduct", _on_demand()),
            "billing-archive": _serverless(
                "billing-archive", 1024, "cosine", _on_demand(), deletion_protection="enabled"
            ),
        }
        #: index → [transitional state, describes left showing it]
        self.settling: dict[str, list[Any]] = {}
        self.faults: list[list[Any]] = []
        self.document: Path | None = specs_dir().joinpath(*DOCUMENT)

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        code = self._fault(method, path)
        if code is not None:
            return self.forced(method, path, code)
        if path == "/indexes":
            return self._collection(method, body)
        if m := re.fullmatch(r"/indexes/([^/]+)", path):
            return self._one(method, m.group(1), body)
        return None, None

    def _collection(self, method: str, body: Any) -> tuple[str | None, Any]:
        if method == "GET":
            return None, ("list",)
        if not isinstance(body, dict) or not isinstance(body.get("spec"), dict) or "name" not in body:
            return None, None  # Prism refuses it; nothing is created
        name = body["name"]
        if name in self.indexes:
            return "409", None
        spec = body["spec"]
        if "pod" in spec:
            pod = spec["pod"]
            model = _pod(name, body.get("dimension"), body.get("metric"), pod.get("replicas", 1))
            model["spec"]["pod"].update(environment=pod["environment"], pod_type=pod["pod_type"])
        else:
            model = _serverless(name, body.get("dimension"), body.get("metric"), _on_demand())
            model["spec"]["serverless"].update(spec["serverless"])
        model.update(
            deletion_protection=body.get("deletion_protection", "disabled"), tags=body.get("tags", {})
        )
        self.indexes[name] = model
        self.settling[name] = [self.init_state, self.init_polls]
        return None, ("one", name, self.init_state)

    def _one(self, method: str, name: str, body: Any) -> tuple[str | None, Any]:
        model = self.indexes.get(name)
        if model is None:
            return "404", None
        settling = self.settling.get(name)
        if method == "GET":
            if settling is None or settling[1] <= 0:
                self.settling.pop(name, None)
                if settling is not None and settling[0] == "Terminating":
                    del self.indexes[name]
                    return "404", None
                return None, ("one", name, None)
            settling[1] -= 1
            return None, ("one", name, settling[0])
        if method == "DELETE":
            if model.get("deletion_protection") == "enabled":
                return "403", None
            self.settling[name] = ["Terminating", 1]
            return None, None
        if method == "PATCH":
            spec = model["spec"]
            if "pod" in body.get("spec", {}):
                replicas = body["spec"]["pod"]["replicas"]
                spec["pod"].update(replicas=replicas, pods=replicas * spec["pod"]["shards"])
                self.settling[name] = ["ScalingUp", 1]
            elif "serverless" in body.get("spec", {}):
                capacity = copy.deepcopy(body["spec"]["serverless"]["read_capacity"])
                manual = capacity["dedicated"]["manual"]
                capacity["status"] = {
                    "state": "Ready",
                    "current_shards": manual["shards"],
                    "current_replicas": manual["replicas"],
                }
                spec["serverless"]["read_capacity"] = capacity
                self.settling[name] = ["Scaling", 1]
            return None, ("one", name, (self.settling.get(name) or [None])[0])
        return None, None

    def render(self, name: str, transitional: str | None = None) -> dict[str, Any]:
        """The index as Pinecone would describe it, in ``transitional`` state if given."""
        model = copy.deepcopy(self.indexes[name])
        if transitional == "Scaling":
            model["spec"]["serverless"]["read_capacity"]["status"]["state"] = "Scaling"
        elif transitional == "ScalingUp":
            model["status"] = {"ready": True, "state": "ScalingUp"}
        elif transitional is not None:
            model["status"] = {"ready": False, "state": transitional}
        return model

    def injected_body(self, code: int) -> Any:
        """Pinecone's ``ErrorResponse``: ``{"error": {"code", "message"}, "status"}``."""
        return {"error": {"code": _ERROR_CODES.get(code, "UNKNOWN"), "message": f"HTTP {code}"}, "status": code}

    def fill(self, note: Any, body: Any) -> Any:
        if note[0] == "list":
            showing = {name: s[0] for name, s in self.settling.items() if s[1] > 0}
            return {"indexes": [self.render(name, showing.get(name)) for name in self.indexes]}
        if note[0] == "one":
            return self.render(note[1], note[2])
        return body

"""HubSpot test set-up: the hand-written contract served by Prism, and a small state model.

HubSpot's own spec collection is not licensed for use here, so ``fixtures/hubspot/openapi.yaml``
was written by hand from HubSpot's API reference (it cites the pages). :func:`served` runs Prism
on it; the file lives in the repository, so these tests need Prism but not ``SOPHIA_SPECS_DIR``.

:class:`HubSpotTwin` stands in for the platform (no HubSpot can run here): Prism judges every
request and answers with the contract's examples; the twin keeps the properties and pipelines,
picks the declared status (404 missing or archived, 409 duplicate), applies what mutating
requests ask for, and puts its own values into Prism's answers. Like HubSpot, it returns stage
metadata as strings and hides archived properties from a plain ``GET``; a property created
again under an archived one's name comes back unarchived (an assumption: the reference does
not say). :meth:`HubSpotTwin.fault` makes the next matching requests answer a declared error.
"""

from __future__ import annotations

import copy
import itertools
import re
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx

from .handwritten import FaultInjection, serve_fixture
from .prism import PrismServer
from .twins import _Twin

__all__ = ["FIXTURE", "HubSpotTwin", "served"]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "hubspot" / "openapi.yaml"
_STAMP = "2026-01-15T09:30:00.000Z"


def served() -> AbstractContextManager[PrismServer]:
    """Prism serving the hand-written HubSpot contract (skips when Prism is not installed)."""
    return serve_fixture(FIXTURE)


def _property(name: str, label: str, kind: str, field: str, group: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "label": label, "type": kind, "fieldType": field, "groupName": group,
            "archived": False, **extra}


def _stage(stage_id: str, label: str, order: int, metadata: dict[str, Any]) -> dict[str, Any]:
    return {"id": stage_id, "label": label, "displayOrder": order,
            "metadata": {k: str(v) for k, v in metadata.items()}, "archived": False,
            "createdAt": _STAMP, "updatedAt": _STAMP}


def _pipeline(pipeline_id: str, label: str, order: int, stages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": pipeline_id, "label": label, "displayOrder": order, "stages": stages, "archived": False,
            "createdAt": _STAMP, "updatedAt": _STAMP}


class HubSpotTwin(FaultInjection, _Twin):
    """Properties per object type, pipelines per object type, and queued faults.

    Seeded with contact properties ``email`` (HubSpot's own), ``lead_source_detail`` and
    ``old_lead_score``, the company property ``arr_band``; the deal pipelines ``Sales
    Pipeline`` (id ``default``), ``Enterprise Sales`` and two labelled ``Renewals``, and the
    ticket pipeline ``Support Pipeline`` (id ``0``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.properties: dict[str, dict[str, dict[str, Any]]] = {
            "contacts": {
                "email": _property("email", "Email", "string", "text", "contactinformation", hubspotDefined=True),
                "lead_source_detail": _property(
                    "lead_source_detail", "Lead Source Detail", "string", "text", "contactinformation"
                ),
                "old_lead_score": _property("old_lead_score", "Old Lead Score", "number", "number",
                                            "contactinformation"),
            },
            "companies": {"arr_band": _property("arr_band", "ARR Band", "string", "text", "companyinformation")},
            "deals": {}, "tickets": {}, "products": {}, "line_items": {}, "quotes": {},
        }
        self.pipelines: dict[str, dict[str, dict[str, Any]]] = {
            "deals": {
                "default": _pipeline("default", "Sales Pipeline", 0, [
                    _stage("appointmentscheduled", "Appointment Scheduled", 0, {"isClosed": "false", "probability": 0.2}),
                    _stage("closedwon", "Closed Won", 1, {"isClosed": "true", "probability": 1.0}),
                ]),
                "7001": _pipeline("7001", "Enterprise Sales", 1, [
                    _stage("7001-1", "Discovery", 0, {"probability": 0.2}),
                ]),
                "7002": _pipeline("7002", "Renewals", 2, []),
                "7003": _pipeline("7003", "Renewals", 3, []),
            },
            "tickets": {"0": _pipeline("0", "Support Pipeline", 0, [
                _stage("1", "New", 0, {"ticketState": "OPEN"}),
            ])},
        }
        self.faults: list[list[Any]] = []
        self._ids = itertools.count(9000)

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        code = self._fault(method, path)
        if code is not None:
            return code, None
        if m := re.fullmatch(r"/crm/v3/properties/(\w+)", path):
            return self._properties(method, m.group(1), body)
        if m := re.fullmatch(r"/crm/v3/properties/(\w+)/(\w+)", path):
            return self._property(method, m.group(1), m.group(2), body)
        if m := re.fullmatch(r"/crm/v3/pipelines/(\w+)", path):
            return self._pipelines(method, m.group(1), body)
        if m := re.fullmatch(r"/crm/v3/pipelines/(\w+)/([^/]+)(/stages)?", path):
            return self._pipeline(method, m.group(1), m.group(2), bool(m.group(3)), body)
        return None, None

    def _properties(self, method: str, object_type: str, body: Any) -> tuple[str | None, Any]:
        store = self.properties.get(object_type, {})
        if method == "POST":
            name = body["name"]
            if name in store and not store[name]["archived"]:
                return "409", None
            store[name] = _property(name, body["label"], body["type"], body["fieldType"], body["groupName"])
            return None, ("property", object_type, name)
        return None, ("properties", object_type)

    def _property(self, method: str, object_type: str, name: str, body: Any) -> tuple[str | None, Any]:
        model = self.properties.get(object_type, {}).get(name)
        if model is None or model["archived"]:
            return "404", None
        if method == "PATCH":
            model.update(body)
        elif method == "DELETE":
            model["archived"] = True
            return None, None
        return None, ("property", object_type, name)

    def _pipelines(self, method: str, object_type: str, body: Any) -> tuple[str | None, Any]:
        store = self.pipelines[object_type]
        if method == "POST":
            if any(p["label"] == body["label"] for p in store.values()):
                return "409", None
            new_id = str(next(self._ids))
            stages = [
                _stage(f"{new_id}-{i}", s["label"], s["displayOrder"], s["metadata"])
                for i, s in enumerate(body["stages"])
            ]
            store[new_id] = _pipeline(new_id, body["label"], body["displayOrder"], stages)
            return None, ("pipeline", object_type, new_id)
        return None, ("pipelines", object_type)

    def _pipeline(
        self, method: str, object_type: str, pipeline_id: str, stages: bool, body: Any
    ) -> tuple[str | None, Any]:
        model = self.pipelines[object_type].get(pipeline_id)
        if model is None:
            return "404", None
        if stages and method == "POST":
            if any(s["label"] == body["label"] for s in model["stages"]):
                return "409", None
            stage = _stage(f"{pipeline_id}-{len(model['stages']) + 1}", body["label"], body["displayOrder"],
                           body["metadata"])
            model["stages"].append(stage)
            return None, ("stage", stage)
        return None, ("pipeline", object_type, pipeline_id)

    def fill(self, note: Any, body: Any) -> Any:
        kind = note[0]
        if kind == "properties":
            return {"results": [copy.deepcopy(p) for p in self.properties[note[1]].values() if not p["archived"]]}
        if kind == "property":
            return copy.deepcopy(self.properties[note[1]][note[2]])
        if kind == "pipelines":
            return {"results": [copy.deepcopy(p) for p in self.pipelines[note[1]].values()]}
        if kind == "pipeline":
            return copy.deepcopy(self.pipelines[note[1]][note[2]])
        if kind == "stage":
            return copy.deepcopy(note[1])
        return body

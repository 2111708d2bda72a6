"""HubSpot adapter: CRM properties and pipelines through the CRM v3 REST API.

Configuration: a private app access token in ``SOPHIA_HUBSPOT_TOKEN`` (or ``…_TOKEN_FILE``),
sent as ``Authorization: Bearer``; it needs the ``crm.schemas.<object>.read/write`` scopes of
the object types it manages (and ``tickets`` for ticket pipelines). ``SOPHIA_HUBSPOT_BASE_URL``
overrides ``https://api.hubapi.com`` (tests: a contract server's host root).
``SOPHIA_HUBSPOT_PROPERTY_GROUP`` puts new properties in that property group instead of the
object's default information group (``contactinformation``, ``dealinformation`` …).
``SOPHIA_HUBSPOT_OBJECT_TYPES`` (default ``contacts,companies,deals,tickets``) lists the
object types whose custom properties ``status`` shows.

How each action is carried out:

* a property (target = its internal name, lower case) is read with
  ``GET /crm/v3/properties/{objectType}/{name}`` (404, also for an archived one: absent); its
  state is ``{"name", "object_type", "label", "type", "archived"}``;
* ``property.create`` → ``POST /crm/v3/properties/{objectType}`` with the HubSpot ``fieldType``
  that goes with the type (text, number, date, select, booleancheckbox; a bool gets HubSpot's
  Yes/No options, an enumeration starts with none); its inverse archives it;
* ``property.update`` → ``PATCH …/{name}`` with the new label; its inverse restores the old one;
* ``property.archive`` → ``DELETE …/{name}`` (HubSpot archives; values are lost). No inverse;
* a pipeline (target = its label, or its id) is found by listing
  ``GET /crm/v3/pipelines/{objectType}`` and matching the label (case and spacing ignored);
  two pipelines with that label is an error listing both ids. Its state is ``{"id", "label",
  "object_type", "stages"}``, stages being ``[{"label", "probability"}]`` in display order;
* ``pipeline.create`` → ``POST /crm/v3/pipelines/{objectType}``, placed after the existing
  pipelines, with HubSpot's two closing stages (deals: ``Closed won`` 1.0 and ``Closed lost``
  0.0; tickets: ``New`` open and ``Closed`` closed), since a pipeline must have stages;
* ``pipeline.stage.create`` → ``POST /crm/v3/pipelines/deals/{pipelineId}/stages``, placed
  last, with ``metadata.probability``. Probability is a deal-stage field, so stages are added
  to deal pipelines only.

Every change is read back (``GET`` the property, ``GET /crm/v3/pipelines/{objectType}/{id}``).
``get_status`` lists the custom properties (``hubspotDefined`` false) of each object type in
``SOPHIA_HUBSPOT_OBJECT_TYPES`` and the deal and ticket pipelines.

Errors: 401/403 → :class:`~adapters.http.PlatformAuthError` naming ``SOPHIA_HUBSPOT_TOKEN``;
404 → ``NotFoundError`` naming the property or pipeline; 409 on a create → "already exists"
at once (the shared client never repeats a 409 on an unkeyed POST); 429 (HubSpot's burst
limit, 100–190 requests per 10 s for private apps) and 5xx are retried by the shared client,
honouring ``Retry-After`` (reads, archives and label updates always; a create is never
repeated after a server error, because HubSpot takes no idempotency key).

Webhooks: HubSpot's v3 signature, ``X-HubSpot-Signature-v3`` = base64 HMAC-SHA256 (the app's
client secret, ``SOPHIA_HUBSPOT_WEBHOOK_SECRET``) of method + URI + raw body + timestamp, with
``X-HubSpot-Request-Timestamp`` (ms) at most 300 s before receipt. The URI is the exact URL
HubSpot was told to call, ``SOPHIA_HUBSPOT_WEBHOOK_URL`` (a proxy in front of us changes the
host we see). The check runs at the inbox door (``verify_webhook``) and again in the worker
(``handle_webhook``), with the same two settings. HubSpot's webhook events are about CRM records (``contact.creation``,
``deal.propertyChange`` …), not the property and pipeline definitions this adapter manages,
so a verified delivery is accepted and summarised but reports no resource changes.

The contract this is tested against is WRITTEN BY HAND from HubSpot's public API reference
(``tests/contract/fixtures/hubspot/openapi.yaml``, which cites the pages): HubSpot's own spec
collection is not licensed for use here. It shows the requests match the documentation, not
that the live API accepts them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any, ClassVar
from urllib.parse import unquote

from adapters.base import PlatformStatus, State, WebhookRejectedError, WebhookRequest, WebhookResult
from adapters.catalog import ActionCall, Stack
from adapters.credentials import webhook_secret
from adapters.http import HttpAdapter, api_path
from adapters.specs.hubspot import ACTIONS
from adapters.webhooks import VerifiedWebhook
from orchestrator.errors import AdapterError, ConfigError, NotFoundError, SophiaError, ValidationFailedError

__all__ = [
    "DEFAULT_BASE_URL",
    "WEBHOOK_WINDOW_SECONDS",
    "HubSpotAdapter",
    "pipeline_state",
    "property_name",
    "property_state",
    "sign_hubspot_v3",
    "verify_hubspot_v3",
]

DEFAULT_BASE_URL = "https://api.hubapi.com"
WEBHOOK_WINDOW_SECONDS = 300
DEFAULT_OBJECT_TYPES = ("contacts", "companies", "deals", "tickets")
PIPELINE_OBJECTS = ("deals", "tickets")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")

#: Each object type's default property group.
DEFAULT_GROUPS: dict[str, str] = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
    "tickets": "ticketinformation",
    "products": "productinformation",
    "line_items": "lineiteminformation",
    "quotes": "quoteinformation",
}
#: The HubSpot ``fieldType`` each property ``type`` is shown with.
FIELD_TYPES: dict[str, str] = {
    "string": "text",
    "number": "number",
    "date": "date",
    "datetime": "date",
    "enumeration": "select",
    "bool": "booleancheckbox",
}
_BOOL_OPTIONS = [
    {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
    {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
]
#: The stages a new pipeline starts with: (label, metadata).
_FIRST_STAGES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "deals": [("Closed won", {"probability": 1.0}), ("Closed lost", {"probability": 0.0})],
    "tickets": [("New", {"ticketState": "OPEN"}), ("Closed", {"ticketState": "CLOSED"})],
}


def property_name(target: str | None) -> str:
    """HubSpot's form of an internal property name (lower case), or a refusal with a suggestion."""
    text = (target or "").strip()
    name = text.lower()
    if not _NAME.match(name):
        suggestion = re.sub(r"[^a-z0-9]+", "_", name).strip("_").lstrip("0123456789_")[:100]
        hint = f"try {suggestion!r}" if suggestion else "use lower-case letters, digits and '_'"
        raise ValidationFailedError(
            f"hubspot: {target!r} is not a valid internal property name",
            hint=f"internal names start with a letter and hold only lower-case letters, digits and '_'; {hint}",
            details={"field": "target"},
        )
    return name


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _key(label: object) -> str:
    return re.sub(r"\s+", " ", str(label)).strip().casefold()


def property_state(raw: Mapping[str, Any], object_type: str) -> dict[str, Any]:
    """``{"name", "object_type", "label", "type", "archived"}`` from a HubSpot property."""
    return {
        "name": raw.get("name"),
        "object_type": object_type,
        "label": raw.get("label"),
        "type": raw.get("type"),
        "archived": bool(raw.get("archived", False)),
    }


def _probability(metadata: Mapping[str, Any]) -> float | None:
    # HubSpot returns metadata values as strings ("0.4").
    try:
        return round(float(metadata["probability"]), 4)
    except (KeyError, TypeError, ValueError):
        return None


def pipeline_state(raw: Mapping[str, Any], object_type: str) -> dict[str, Any]:
    """``{"id", "label", "object_type", "stages": [{"label", "probability"}]}`` from a pipeline."""
    stages = [s for s in raw.get("stages") or [] if isinstance(s, dict) and not s.get("archived")]
    stages.sort(key=lambda s: (s.get("displayOrder", 0), str(s.get("label"))))
    return {
        "id": raw.get("id"),
        "label": raw.get("label"),
        "object_type": object_type,
        "stages": [
            {"label": s.get("label"), "probability": _probability(_dict(s.get("metadata")))} for s in stages
        ],
    }


def _first_stages(object_type: str) -> list[dict[str, Any]]:
    return [
        {"label": label, "probability": meta.get("probability")} for label, meta in _FIRST_STAGES[object_type]
    ]


def _property_path(object_type: str, name: str | None = None) -> str:
    if name is None:
        return api_path("/crm/v3/properties/{objectType}", objectType=object_type)
    return api_path(
        "/crm/v3/properties/{objectType}/{propertyName}",
        objectType=object_type,
        propertyName=name,
    )


def _pipelines_path(object_type: str, pipeline_id: str | None = None, rest: str = "") -> str:
    if pipeline_id is None:
        return api_path("/crm/v3/pipelines/{objectType}", objectType=object_type)
    return api_path(
        "/crm/v3/pipelines/{objectType}/{pipelineId}" + rest, objectType=object_type, pipelineId=pipeline_id
    )


# -- webhooks ------------------------------------------------------------------------------


def sign_hubspot_v3(secret: str | bytes, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """``X-HubSpot-Signature-v3``: base64 HMAC-SHA256 of method + URI + body + timestamp."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = method.upper().encode() + unquote(uri).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def _reject(why: str, hint: str) -> WebhookRejectedError:
    return WebhookRejectedError(f"hubspot webhook rejected: {why}", hint=hint, details={"platform": "hubspot"})


def verify_hubspot_v3(
    request: WebhookRequest, secret: str | bytes, uri: str, *, method: str = "POST", now: float | None = None
) -> list[dict[str, Any]]:
    """Check a v3 signature and its freshness (≤ 300 s before receipt); return the event list.

    Freshness is judged at ``request.received_at`` (``now`` overrides, in seconds), so a stored
    delivery processed later is as fresh as when it arrived. Raises WebhookRejectedError.
    """
    signature = (request.header("x-hubspot-signature-v3") or "").strip()
    timestamp = (request.header("x-hubspot-request-timestamp") or "").strip()
    if not signature or not timestamp:
        raise _reject("missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp",
                      "only HubSpot's v3-signed deliveries are accepted")
    if not timestamp.isdigit():
        raise _reject("X-HubSpot-Request-Timestamp is not a number", "a malformed request")
    at = request.received_at
    received = now if now is not None else (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
    age = received - int(timestamp) / 1000
    if age > WEBHOOK_WINDOW_SECONDS or age < -WEBHOOK_WINDOW_SECONDS:
        raise _reject(f"timestamp is more than {WEBHOOK_WINDOW_SECONDS} s from when it was received",
                      "a stale or replayed request")
    expected = sign_hubspot_v3(secret, method, uri, request.body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise _reject("signature mismatch",
                      "check SOPHIA_HUBSPOT_WEBHOOK_SECRET (the app's client secret) and"
                      " SOPHIA_HUBSPOT_WEBHOOK_URL (the exact URL HubSpot calls)")
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise _reject("body is not JSON", "HubSpot sends a JSON array of events") from None
    events = payload if isinstance(payload, list) else [payload]
    if not events or not all(isinstance(e, dict) for e in events):
        raise _reject("body is not a list of event objects", "HubSpot sends a JSON array of events")
    return events


def _unique_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch with repeated events dropped (first kept): one effect per ``(eventId, subscriptionId)``.

    HubSpot batches events and may repeat one inside a batch (a retry merged into the next
    send); RELIABILITY.md §1.3 says to dedupe per element. Events without an ``eventId`` are kept.
    """
    seen: set[tuple[str, str]] = set()
    unique = []
    for event in events:
        key = (str(event.get("eventId")), str(event.get("subscriptionId")))
        if event.get("eventId") is not None and key in seen:
            continue
        seen.add(key)
        unique.append(event)
    return unique


class HubSpotAdapter(HttpAdapter):
    """HubSpot CRM properties (create, relabel, archive) and pipelines (create, add stage)."""

    name: ClassVar[str] = "hubspot"
    display_name: ClassVar[str] = "HubSpot"
    stack: ClassVar[Stack] = Stack.DATA
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("property", "pipeline")
    content_on_delete: ClassVar[Mapping[str, str]] = {
        "property": "the values records held are not restored",
        "pipeline": "its records are not moved back",
        "pipeline.stage": "its records are not moved back",
    }
    supports_webhooks: ClassVar[bool] = True
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    # -- properties ----------------------------------------------------------------------

    async def _property(self, object_type: str, name: str, action: str) -> dict[str, Any] | None:
        reply = await self.http.request(
            "GET", _property_path(object_type, name), action=action, target=name, not_found_ok=True
        )
        if reply.status == 404:
            return None
        if not isinstance(reply.data, dict):
            raise self._garbled(action, name, reply.data)
        return reply.data

    async def observe_property(self, call: ActionCall) -> State:
        """The property's state (see the module doc) or None (absent or archived)."""
        name = property_name(call.target)
        object_type = call.params["object_type"]
        raw = await self._property(object_type, name, call.action)
        return property_state(raw, object_type) if raw is not None else None

    async def do_property_create(self, call: ActionCall, before: State) -> State:
        """``POST /crm/v3/properties/{objectType}``, then read the property back."""
        self.precheck(call, before)
        name = property_name(call.target)
        object_type, kind = call.params["object_type"], call.params["type"]
        body: dict[str, Any] = {
            "name": name,
            "label": call.params["label"],
            "type": kind,
            "fieldType": FIELD_TYPES[kind],
            "groupName": os.environ.get("SOPHIA_HUBSPOT_PROPERTY_GROUP", "").strip() or DEFAULT_GROUPS[object_type],
        }
        if kind == "bool":
            body["options"] = _BOOL_OPTIONS
        elif kind == "enumeration":
            body["options"] = []
        try:
            await self.http.request("POST", _property_path(object_type), action=call.action, target=name, json=body)
        except AdapterError as exc:
            raise self._exists(exc, f"{object_type} property {name!r}") from None
        return await self.observe_property(call)

    async def do_property_update(self, call: ActionCall, before: State) -> State:
        """``PATCH …/{name}`` with the new label, then read the property back."""
        self.precheck(call, before)
        name = property_name(call.target)
        object_type, label = call.params["object_type"], call.params["label"]
        if (before or {}).get("label") != label:
            # Setting a label is safe to send twice: the key lets the shared client retry a 5xx.
            await self.http.request(
                "PATCH", _property_path(object_type, name), action=call.action, target=name,
                json={"label": label}, idempotency_key=f"label-{object_type}-{name}",
            )
        return await self.observe_property(call)

    async def do_property_archive(self, call: ActionCall, before: State) -> State:
        """``DELETE …/{name}`` (HubSpot archives it), then read back: absent."""
        self.precheck(call, before)
        name = property_name(call.target)
        object_type = call.params["object_type"]
        try:
            await self.http.request("DELETE", _property_path(object_type, name), action=call.action, target=name)
        except NotFoundError:
            raise self._missing_property(object_type, name, call.action) from None
        return await self.observe_property(call)

    # -- pipelines -----------------------------------------------------------------------

    @staticmethod
    def _pipeline_object(call: ActionCall) -> str:
        return str(call.params.get("object_type") or "deals")

    async def _pipelines(self, object_type: str, action: str) -> list[dict[str, Any]]:
        reply = await self.http.request("GET", _pipelines_path(object_type), action=action)
        results = _dict(reply.data).get("results")
        if not isinstance(results, list):
            raise self._garbled(action, f"{object_type} pipelines", reply.data)
        return [p for p in results if isinstance(p, dict) and not p.get("archived")]

    async def _find_pipeline(self, object_type: str, target: str | None, action: str) -> dict[str, Any] | None:
        wanted = _key(target or "")
        pipelines = await self._pipelines(object_type, action)
        found = [p for p in pipelines if _key(p.get("label", "")) == wanted]
        if not found:
            found = [p for p in pipelines if str(p.get("id")) == (target or "").strip()]
        if len(found) > 1:
            listed = ", ".join(f"{p.get('label')!r} (id {p.get('id')})" for p in found)
            raise ValidationFailedError(
                f"hubspot: {len(found)} {object_type} pipelines are labelled {target!r}: {listed}",
                hint="name the pipeline by its id instead, or rename one of them in HubSpot",
                details={"platform": "hubspot", "target": target, "candidates": [p.get("id") for p in found]},
            )
        return found[0] if found else None

    async def observe_pipeline(self, call: ActionCall) -> State:
        """The pipeline's state (see the module doc) or None; ambiguous labels are an error."""
        object_type = self._pipeline_object(call)
        raw = await self._find_pipeline(object_type, call.target, call.action)
        return pipeline_state(raw, object_type) if raw is not None else None

    async def observe_pipeline_stage(self, call: ActionCall) -> State:
        """A stage is recorded as the pipeline it is added to (its target is the pipeline)."""
        return await self.observe_pipeline(call)

    async def _read_pipeline(self, object_type: str, pipeline_id: str, action: str, label: str) -> State:
        reply = await self.http.request(
            "GET", _pipelines_path(object_type, pipeline_id), action=action, target=label, not_found_ok=True
        )
        if reply.status == 404:
            return None
        if not isinstance(reply.data, dict):
            raise self._garbled(action, label, reply.data)
        return pipeline_state(reply.data, object_type)

    async def do_pipeline_create(self, call: ActionCall, before: State) -> State:
        """``POST /crm/v3/pipelines/{objectType}`` with the two closing stages, then read it back."""
        self.precheck(call, before)
        object_type, label = self._pipeline_object(call), re.sub(r"\s+", " ", call.target or "").strip()
        existing = await self._pipelines(object_type, call.action)
        if any(_key(p.get("label", "")) == _key(label) for p in existing):
            raise self._pipeline_exists(object_type, label)
        order = max((int(p.get("displayOrder") or 0) for p in existing), default=-1) + 1
        body = {
            "label": label,
            "displayOrder": order,
            "stages": [
                {"label": stage, "displayOrder": i, "metadata": meta}
                for i, (stage, meta) in enumerate(_FIRST_STAGES[object_type])
            ],
        }
        try:
            reply = await self.http.request(
                "POST", _pipelines_path(object_type), action=call.action, target=label, json=body
            )
        except AdapterError as exc:
            raise self._exists(exc, f"{object_type} pipeline {label!r}") from None
        created = _dict(reply.data).get("id")
        if not isinstance(created, str) or not created:
            raise self._garbled(call.action, label, reply.data)
        return await self._read_pipeline(object_type, created, call.action, label)

    async def do_pipeline_stage_create(self, call: ActionCall, before: State) -> State:
        """``POST /crm/v3/pipelines/deals/{id}/stages``, placed last, then read the pipeline back."""
        self.precheck(call, before)
        assert before is not None  # precheck refuses a missing pipeline
        object_type, pipeline_id = self._pipeline_object(call), str(before["id"])
        body = {
            "label": call.params["label"],
            "displayOrder": len(before.get("stages") or []),
            "metadata": {"probability": call.params["probability"]},
        }
        try:
            await self.http.request(
                "POST", _pipelines_path(object_type, pipeline_id, "/stages"),
                action=call.action, target=str(before.get("label")), json=body,
            )
        except NotFoundError:
            raise self._missing_pipeline(object_type, call.target, call.action) from None
        except AdapterError as exc:
            raise self._exists(exc, f"stage {call.params['label']!r} in pipeline {before.get('label')!r}") from None
        return await self._read_pipeline(object_type, pipeline_id, call.action, str(before.get("label")))

    # -- errors --------------------------------------------------------------------------

    @staticmethod
    def _garbled(action: str, what: str, data: Any) -> AdapterError:
        return AdapterError(
            f"hubspot answered {action} on {what} without the expected object (got {type(data).__name__})",
            hint="hubspot or a proxy in front of it is misbehaving; retry later",
            details={"platform": "hubspot", "action": action, "target": what},
        )

    @staticmethod
    def _exists(exc: AdapterError, what: str) -> SophiaError:
        if exc.details.get("status") != 409:
            return exc
        return ValidationFailedError(
            f"hubspot: {what} already exists",
            hint="choose another name, or change the existing one instead",
            details={**exc.details},
        )

    @staticmethod
    def _missing_property(object_type: str, name: str, action: str) -> NotFoundError:
        return NotFoundError(
            f"hubspot: {object_type} property {name!r} not found ({action})",
            hint=f"check the internal name (not the label); `sophia-iac status hubspot` lists custom {object_type} properties",
            details={"platform": "hubspot", "action": action, "target": name, "object_type": object_type},
        )

    @staticmethod
    def _missing_pipeline(object_type: str, label: str | None, action: str) -> NotFoundError:
        return NotFoundError(
            f"hubspot: {object_type} pipeline {label!r} not found ({action})",
            hint="check the label; `sophia-iac status hubspot` lists the pipelines",
            details={"platform": "hubspot", "action": action, "target": label, "object_type": object_type},
        )

    @staticmethod
    def _pipeline_exists(object_type: str, label: str) -> ValidationFailedError:
        return ValidationFailedError(
            f"hubspot: a {object_type} pipeline labelled {label!r} already exists",
            hint="choose another label, or add stages to the existing pipeline",
            details={"platform": "hubspot", "target": label, "object_type": object_type},
        )

    # -- plan-time checks and predictions -------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse a duplicate create, a missing property or pipeline, a duplicate stage."""
        resource, verb = self.spec(call.action).resource, call.action.rsplit(".", 1)[-1]
        if resource == "property":
            name, object_type = property_name(call.target), call.params["object_type"]
            if verb == "create" and before is not None:
                raise ValidationFailedError(
                    f"hubspot: {object_type} property {name!r} already exists (label {before.get('label')!r})",
                    hint="choose another internal name, or relabel the existing property",
                )
            if verb != "create" and before is None:
                raise self._missing_property(object_type, name, call.action)
            return
        object_type = self._pipeline_object(call)
        if resource == "pipeline":
            if before is not None:
                raise self._pipeline_exists(object_type, str(before.get("label")))
            return
        if before is None:
            raise self._missing_pipeline(object_type, call.target, call.action)
        stage = _key(call.params["label"])
        if any(_key(s.get("label", "")) == stage for s in before.get("stages") or []):
            raise ValidationFailedError(
                f"hubspot: pipeline {before.get('label')!r} already has a stage {call.params['label']!r}",
                hint="stage labels are unique within a pipeline; choose another label",
            )

    def predict(self, call: ActionCall, before: State) -> State:
        """The state each action should leave (see the module doc)."""
        if call.action == "hubspot.property.create":
            return {
                "name": property_name(call.target),
                "object_type": call.params["object_type"],
                "label": call.params["label"],
                "type": call.params["type"],
                "archived": False,
            }
        if call.action == "hubspot.property.update":
            return {**(before or {}), "label": call.params["label"]}
        if call.action == "hubspot.property.archive":
            return None
        if call.action == "hubspot.pipeline.create":
            object_type = self._pipeline_object(call)
            label = re.sub(r"\s+", " ", call.target or "").strip()
            return {"label": label, "object_type": object_type, "stages": _first_stages(object_type)}
        stage = {"label": call.params["label"], "probability": call.params["probability"]}
        return {**(before or {}), "stages": [*(before or {}).get("stages", []), stage]}

    # -- status --------------------------------------------------------------------------

    @staticmethod
    def status_object_types() -> tuple[str, ...]:
        """Object types whose custom properties ``status`` lists (``SOPHIA_HUBSPOT_OBJECT_TYPES``)."""
        raw = os.environ.get("SOPHIA_HUBSPOT_OBJECT_TYPES", "").strip()
        if not raw:
            return DEFAULT_OBJECT_TYPES
        chosen = tuple(t.strip().lower() for t in raw.split(",") if t.strip())
        unknown = [t for t in chosen if t not in DEFAULT_GROUPS]
        if unknown:
            raise ConfigError(
                f"SOPHIA_HUBSPOT_OBJECT_TYPES names unknown object types: {', '.join(unknown)}",
                hint=f"use a comma-separated list of {', '.join(DEFAULT_GROUPS)}",
            )
        return chosen

    async def get_status(self) -> PlatformStatus:
        """Custom properties per managed object type, deal and ticket pipelines, and the breaker."""
        properties: list[dict[str, Any]] = []
        pipelines: list[dict[str, Any]] = []
        try:
            for object_type in self.status_object_types():
                reply = await self.http.request("GET", _property_path(object_type), action="hubspot.status")
                for raw in _dict(reply.data).get("results") or []:
                    if isinstance(raw, dict) and not raw.get("hubspotDefined") and not raw.get("archived"):
                        properties.append(property_state(raw, object_type))
            for object_type in PIPELINE_OBJECTS:
                for raw in await self._pipelines(object_type, "hubspot.status"):
                    state = pipeline_state(raw, object_type)
                    pipelines.append({"name": state["label"], **state, "stages": len(state["stages"])})
        except SophiaError as exc:
            return self.failed_status(exc)
        return PlatformStatus(
            "hubspot",
            healthy=True,
            message=f"{len(properties)} custom propert{'y' if len(properties) == 1 else 'ies'},"
            f" {len(pipelines)} pipeline(s)",
            inventory={"property": properties, "pipeline": pipelines},
            details={"circuit": self.http.breaker.snapshot(), "base_url": self.http.base_url},
        )

    # -- webhooks ------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, request: WebhookRequest) -> VerifiedWebhook:
        """The door's check (:func:`orchestrator.inbox.verify_delivery`): the v3 signature.

        The same check, with the same settings, as :meth:`handle_webhook` makes in the worker.

        Raises:
            ConfigError: ``SOPHIA_HUBSPOT_WEBHOOK_SECRET`` or ``SOPHIA_HUBSPOT_WEBHOOK_URL`` unset.
            WebhookRejectedError: a missing, wrong or stale signature.
        """
        uri = os.environ.get("SOPHIA_HUBSPOT_WEBHOOK_URL", "").strip()
        if not uri:
            raise ConfigError(
                "hubspot webhooks need the URL HubSpot calls",
                hint="set SOPHIA_HUBSPOT_WEBHOOK_URL to the target URL configured in the HubSpot app",
            )
        events = _unique_events(verify_hubspot_v3(request, webhook_secret("hubspot").reveal(), uri))
        ids = sorted(str(e.get("eventId")) for e in events)
        delivery = "events-" + hashlib.sha256(",".join(ids).encode()).hexdigest()[:32]
        kinds = sorted({str(e.get("subscriptionType") or "unknown")[:80] for e in events})
        return VerifiedWebhook("hubspot", delivery, kinds[0] if len(kinds) == 1 else "batch", {"events": events})

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify the v3 signature (≤ 300 s before receipt) and summarise the events.

        The delivery id is a digest of the batch's ``eventId`` s (HubSpot batches events and
        sends no delivery header); deduplicating on it is the inbox's job. The events concern
        CRM records, not the definitions this adapter manages, so no changes are reported.
        """
        verified = self.verify_webhook(request)
        events = verified.payload["events"]
        kinds = sorted({str(e.get("subscriptionType") or "unknown")[:80] for e in events})
        return WebhookResult(
            "hubspot",
            verified.delivery_id,
            verified.event_type,
            [],
            summary=f"{len(events)} event(s): {', '.join(kinds)}",
        )

"""HubSpot actions: CRM properties and pipelines.

Before-states the adapter records:

* property (target = internal property name): ``{"name", "object_type", "label", "type",
  "archived"}``.
* pipeline (target = pipeline label): ``{"id", "label", "object_type", "stages"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from adapters.catalog import ActionCall, ActionSpec, Params, Risk

__all__ = [
    "ACTIONS",
    "PipelineCreateParams",
    "PropertyArchiveParams",
    "PropertyCreateParams",
    "PropertyUpdateParams",
    "StageCreateParams",
    "normalize_object_type",
]

ObjectType = Literal["contacts", "companies", "deals", "tickets", "products", "line_items", "quotes"]
PipelineObject = Literal["deals", "tickets"]
PropertyType = Literal["string", "number", "date", "datetime", "enumeration", "bool"]

_OBJECT_ALIASES = {
    "contact": "contacts", "contacts": "contacts", "person": "contacts", "people": "contacts",
    "company": "companies", "companies": "companies", "account": "companies", "accounts": "companies",
    "deal": "deals", "deals": "deals", "opportunity": "deals", "opportunities": "deals",
    "ticket": "tickets", "tickets": "tickets",
    "product": "products", "products": "products",
    "line_item": "line_items", "line_items": "line_items", "lineitem": "line_items", "lineitems": "line_items",
    "quote": "quotes", "quotes": "quotes",
}
_TYPE_ALIASES = {
    "string": "string", "text": "string", "str": "string",
    "number": "number", "numeric": "number", "int": "number", "integer": "number", "float": "number",
    "date": "date", "datetime": "datetime", "timestamp": "datetime", "date_time": "datetime",
    "enumeration": "enumeration", "enum": "enumeration", "select": "enumeration", "dropdown": "enumeration",
    "bool": "bool", "boolean": "bool", "checkbox": "bool", "yes/no": "bool",
}


def normalize_object_type(value: object) -> object:
    """``Contact`` / ``deal`` / ``line item`` → HubSpot's plural object type name."""
    key = re.sub(r"[\s-]+", "_", str(value).strip().lower())
    return _OBJECT_ALIASES.get(key, value)


def _property_type(value: object) -> object:
    return _TYPE_ALIASES.get(str(value).strip().lower().replace(" ", "_"), value)


def _label(value: object) -> object:
    return re.sub(r"\s+", " ", value).strip() if isinstance(value, str) else value


class PropertyCreateParams(Params):
    """``hubspot.property.create`` params."""

    object_type: ObjectType = Field(description="contacts, companies, deals, tickets …")
    label: str = Field(min_length=1, max_length=100, description="the label shown in HubSpot")
    type: PropertyType = "string"

    _obj = field_validator("object_type", mode="before")(classmethod(lambda cls, v: normalize_object_type(v)))
    _lbl = field_validator("label", mode="before")(classmethod(lambda cls, v: _label(v)))
    _typ = field_validator("type", mode="before")(classmethod(lambda cls, v: _property_type(v)))


class PropertyUpdateParams(Params):
    """``hubspot.property.update`` params (the label is what changes)."""

    object_type: ObjectType
    label: str = Field(min_length=1, max_length=100)

    _obj = field_validator("object_type", mode="before")(classmethod(lambda cls, v: normalize_object_type(v)))
    _lbl = field_validator("label", mode="before")(classmethod(lambda cls, v: _label(v)))


class PropertyArchiveParams(Params):
    """``hubspot.property.archive`` params."""

    object_type: ObjectType

    _obj = field_validator("object_type", mode="before")(classmethod(lambda cls, v: normalize_object_type(v)))


class PipelineCreateParams(Params):
    """``hubspot.pipeline.create`` params."""

    object_type: PipelineObject = "deals"

    _obj = field_validator("object_type", mode="before")(classmethod(lambda cls, v: normalize_object_type(v)))


class StageCreateParams(Params):
    """``hubspot.pipeline.stage.create`` params; probability is 0–1 (``40%`` or ``40`` → 0.4)."""

    label: str = Field(min_length=1, max_length=100, description="the stage's label")
    probability: float = Field(ge=0.0, le=1.0, description="win probability, 0.0 to 1.0")

    _lbl = field_validator("label", mode="before")(classmethod(lambda cls, v: _label(v)))

    @field_validator("probability", mode="before")
    @classmethod
    def _probability(cls, value: object) -> object:
        text = str(value).strip()
        percent = text.endswith("%")
        try:
            number = float(text.rstrip("%").strip())
        except ValueError:
            return value
        if percent or 1 < number <= 100:
            number /= 100
        return round(number, 4)


def _update_to_before(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    if not before or not before.get("label"):
        return None
    return ActionCall(
        action="hubspot.property.update",
        target=call.target,
        params={"object_type": call.params.get("object_type"), "label": before["label"]},
    )


def _archive_created(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    return ActionCall(
        action="hubspot.property.archive", target=call.target,
        params={"object_type": call.params.get("object_type")},
    )


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="hubspot.property.create",
        summary="Create a CRM property on an object type",
        params=PropertyCreateParams,
        target="property name",
        inverse=_archive_created,
        inverse_hint="property.archive",
        examples=(
            "create a hubspot contact property lead_source_detail labelled Lead Source Detail",
            "add a number property arr_band to companies in hubspot with label ARR Band",
            "new deal property renewal_date, label Renewal Date, type date",
        ),
    ),
    ActionSpec(
        id="hubspot.property.update",
        summary="Change a property's label",
        params=PropertyUpdateParams,
        target="property name",
        inverse=_update_to_before,
        inverse_hint="update to the before label",
        examples=(
            "rename the label of contact property lead_source_detail to Lead Origin",
            "update hubspot deal property renewal_date label to Contract Renewal",
            "change the company property arr_band's label to Revenue Band",
        ),
    ),
    ActionSpec(
        id="hubspot.property.archive",
        summary="Archive (delete) a property; its values are lost",
        params=PropertyArchiveParams,
        risk=Risk.DESTRUCTIVE,
        target="property name",
        inverse_hint="none: the property and its values are gone",
        examples=(
            "archive the hubspot contact property old_lead_score",
            "delete deal property legacy_stage in hubspot",
            "remove the company property unused_field",
        ),
    ),
    ActionSpec(
        id="hubspot.pipeline.create",
        summary="Create a deal or ticket pipeline",
        params=PipelineCreateParams,
        target="pipeline label",
        inverse_hint="none in the catalog: archive the pipeline in HubSpot by hand",
        examples=(
            "create a hubspot pipeline called Enterprise Sales",
            "new ticket pipeline Support Escalations in hubspot",
            "add a deals pipeline named Partner Deals",
        ),
    ),
    ActionSpec(
        id="hubspot.pipeline.stage.create",
        summary="Add a stage to a pipeline",
        params=StageCreateParams,
        target="pipeline label",
        inverse_hint="none in the catalog: archive the stage in HubSpot by hand",
        examples=(
            "add a stage Negotiation with 60% probability to the Enterprise Sales pipeline",
            "create stage Legal Review in hubspot pipeline Partner Deals, probability 0.8",
            "new stage Discovery at 20 percent on pipeline Enterprise Sales",
        ),
    ),
)

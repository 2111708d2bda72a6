"""Apollo actions: sequences, and adding contacts to them and removing them again.

Before-states: sequence ``{"id", "name", "active", "archived"}``; contact (target = email)
``{"id", "email", "sequences"}`` (the names of the sequences it is in). The adapter is
:mod:`adapters.data.apollo`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from adapters.catalog import ActionCall, ActionSpec, InverseFn, Params, inverse_same_target

__all__ = ["ACTIONS", "AddToSequenceParams", "RemoveFromSequenceParams"]


class AddToSequenceParams(Params):
    """``apollo.contact.add_to_sequence`` params."""

    sequence: str = Field(min_length=1, max_length=200, description="the sequence's name")

    @field_validator("sequence", mode="before")
    @classmethod
    def _sequence(cls, value: object) -> object:
        return " ".join(value.split()).strip("\"'") if isinstance(value, str) else value


class RemoveFromSequenceParams(AddToSequenceParams):
    """``apollo.contact.remove_from_sequence`` params (the same ``sequence``)."""


def _same_sequence(action_id: str) -> InverseFn:
    """Inverse running ``action_id`` on the same contact and the same sequence."""

    def derive(
        call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> ActionCall:
        return ActionCall(action=action_id, target=call.target, params={"sequence": call.params["sequence"]})

    return derive


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="apollo.sequence.activate",
        summary="Activate an outreach sequence",
        target="sequence name",
        inverse=inverse_same_target("apollo.sequence.deactivate"),
        inverse_hint="deactivate",
        examples=(
            "activate the apollo sequence Q4 Outbound",
            "turn on the Enterprise Nurture sequence in apollo",
            "start apollo sequence Webinar Follow-up",
        ),
    ),
    ActionSpec(
        id="apollo.sequence.deactivate",
        summary="Deactivate (pause) an outreach sequence",
        target="sequence name",
        inverse=inverse_same_target("apollo.sequence.activate"),
        inverse_hint="activate",
        examples=(
            "deactivate the apollo sequence Q4 Outbound",
            "pause the Enterprise Nurture sequence in apollo",
            "turn off apollo sequence Webinar Follow-up",
        ),
    ),
    ActionSpec(
        id="apollo.contact.add_to_sequence",
        summary="Add a contact to a sequence",
        params=AddToSequenceParams,
        target="contact email",
        inverse=_same_sequence("apollo.contact.remove_from_sequence"),
        inverse_hint="remove the contact from the sequence",
        examples=(
            "add jane.doe@acme.com to the Q4 Outbound sequence in apollo",
            "put bob@globex.io into apollo sequence Enterprise Nurture",
            "enroll ana@initech.com in the Webinar Follow-up sequence",
        ),
    ),
    ActionSpec(
        id="apollo.contact.remove_from_sequence",
        summary="Remove a contact from a sequence",
        params=RemoveFromSequenceParams,
        target="contact email",
        inverse=_same_sequence("apollo.contact.add_to_sequence"),
        inverse_hint=(
            "add the contact to the sequence again: it is back in the sequence, but Apollo starts it"
            " afresh (its earlier status and progress are not restored)"
        ),
        examples=(
            "remove jane.doe@acme.com from the Q4 Outbound sequence in apollo",
            "take bob@globex.io out of apollo sequence Enterprise Nurture",
            "unenroll ana@initech.com from the Webinar Follow-up sequence",
        ),
    ),
)

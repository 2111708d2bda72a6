"""Apollo actions: sequences and adding contacts to them.

Before-states: sequence ``{"id", "name", "active", "archived"}``; contact (target = email)
``{"id", "email", "sequences"}`` (the names of the sequences it is in). The adapter is
:mod:`adapters.data.apollo`.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, Params, inverse_same_target

__all__ = ["ACTIONS", "AddToSequenceParams"]


class AddToSequenceParams(Params):
    """``apollo.contact.add_to_sequence`` params."""

    sequence: str = Field(min_length=1, max_length=200, description="the sequence's name")

    @field_validator("sequence", mode="before")
    @classmethod
    def _sequence(cls, value: object) -> object:
        return " ".join(value.split()).strip("\"'") if isinstance(value, str) else value


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
        inverse_hint="none in the catalog: remove the contact from the sequence in Apollo by hand",
        examples=(
            "add jane.doe@acme.com to the Q4 Outbound sequence in apollo",
            "put bob@globex.io into apollo sequence Enterprise Nurture",
            "enroll ana@initech.com in the Webinar Follow-up sequence",
        ),
    ),
)

"""Figma actions: team webhooks (v2) and reading a file.

Before-/after-states: webhook.delete's before ``{"id", "team_id", "event_type", "endpoint",
"status"}``; webhook.create's after-state carries ``{"id"}`` of the new webhook. The webhook
passcode is a secret the adapter resolves by reference; it is never a param.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from adapters.catalog import ActionCall, ActionSpec, Params, Risk
from adapters.specs._fields import https_url

__all__ = ["ACTIONS", "EVENT_TYPES", "WebhookCreateParams"]

EventType = Literal[
    "PING", "FILE_UPDATE", "FILE_VERSION_UPDATE", "FILE_DELETE", "LIBRARY_PUBLISH", "FILE_COMMENT",
    "DEV_MODE_STATUS_UPDATE",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
_EVENT_ALIASES = {"COMMENT": "FILE_COMMENT", "FILE_COMMENTS": "FILE_COMMENT", "COMMENTS": "FILE_COMMENT",
                  "VERSION_UPDATE": "FILE_VERSION_UPDATE", "PUBLISH": "LIBRARY_PUBLISH",
                  "FILE_UPDATED": "FILE_UPDATE", "FILE_DELETED": "FILE_DELETE",
                  "LIBRARY_PUBLISHED": "LIBRARY_PUBLISH", "DEV_MODE": "DEV_MODE_STATUS_UPDATE"}


class WebhookCreateParams(Params):
    """``figma.webhook.create`` params."""

    event_type: EventType = Field(description="FILE_UPDATE, FILE_VERSION_UPDATE, LIBRARY_PUBLISH …")
    endpoint: str = Field(description="https URL Figma posts to")

    @field_validator("event_type", mode="before")
    @classmethod
    def _event(cls, value: object) -> object:
        key = re.sub(r"[\s-]+", "_", str(value).strip()).upper()
        return _EVENT_ALIASES.get(key, key)

    _ep = field_validator("endpoint", mode="before")(classmethod(lambda cls, v: https_url(v)))


def _delete_created(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    new_id = (after or {}).get("id")
    return ActionCall(action="figma.webhook.delete", target=str(new_id), params={}) if new_id else None


def _recreate(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    if not before or not all(before.get(k) for k in ("team_id", "event_type", "endpoint")):
        return None
    return ActionCall(
        action="figma.webhook.create", target=str(before["team_id"]),
        params={"event_type": before["event_type"], "endpoint": before["endpoint"]},
    )


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="figma.webhook.create",
        summary="Create a team webhook",
        params=WebhookCreateParams,
        target="team id",
        inverse=_delete_created,
        inverse_hint="webhook.delete (the new webhook's id from the after-state)",
        examples=(
            "create a figma webhook for team 1234567890 on FILE_UPDATE to https://hooks.example.com/figma",
            "subscribe https://example.com/figma-events to library publish events for figma team 998877",
            "add a figma webhook: team 42, file comment events, endpoint https://bot.example.org/fig",
        ),
    ),
    ActionSpec(
        id="figma.webhook.delete",
        summary="Delete a webhook",
        target="webhook id",
        inverse=_recreate,
        inverse_hint="recreate it from the before-state (a new webhook id)",
        examples=(
            "delete figma webhook 556677",
            "remove the figma webhook with id 12321",
            "drop webhook 9001 in figma",
        ),
    ),
    ActionSpec(
        id="figma.file.get",
        summary="Read a file's metadata",
        risk=Risk.READ,
        target="file key",
        examples=(
            "get the figma file aBcD1234EfGh",
            "show me figma file XyZ987LmNoP",
            "fetch the metadata of figma file Qw3rTy6UiOp",
        ),
    ),
)

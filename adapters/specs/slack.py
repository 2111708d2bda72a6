"""Slack actions: channels (target = channel name without ``#``, or a channel id).

Before-state for a channel: ``{"id", "name", "is_private", "is_archived", "topic", "members"}``.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, Params, inverse_same_target, restore_fields
from adapters.specs._fields import dedupe, email, split_list

__all__ = ["ACTIONS", "ChannelCreateParams", "InviteParams", "SetTopicParams", "slack_user"]

_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
_HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")


def slack_user(value: object) -> str:
    """A Slack user id (``U024BE7LH``), an email (lower-cased), or a handle (``@Jane.Doe`` → ``jane.doe``)."""
    text = str(value).strip().strip("<>").lstrip("@")
    if _USER_ID.match(text):
        return text
    if "@" in text:
        return email(text)
    text = text.lower()
    if not _HANDLE.match(text):
        raise ValueError(f"not a Slack user: {value!r} (an id like U024BE7LH, an email, or @handle)")
    return text


class ChannelCreateParams(Params):
    """``slack.channel.create`` params."""

    private: bool = False


class SetTopicParams(Params):
    """``slack.channel.set_topic`` params (an empty topic clears it)."""

    topic: str = Field(max_length=250, description="the topic, up to 250 characters")

    @field_validator("topic", mode="before")
    @classmethod
    def _topic(cls, value: object) -> object:
        return " ".join(value.split()) if isinstance(value, str) else value


class InviteParams(Params):
    """``slack.channel.invite`` params: one or more users."""

    users: list[str] = Field(min_length=1, max_length=1000, description="user ids, emails or @handles")

    @field_validator("users", mode="before")
    @classmethod
    def _users(cls, value: object) -> object:
        items = split_list(value)
        if not isinstance(items, list):
            return items
        return dedupe(slack_user(u) for u in items)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="slack.channel.create",
        summary="Create a channel",
        params=ChannelCreateParams,
        target="channel name",
        inverse=inverse_same_target("slack.channel.archive"),
        inverse_hint="channel.archive",
        examples=(
            "create a slack channel #incident-2231",
            "make a private channel called exec-offsite",
            "new public slack channel launch-week",
        ),
    ),
    ActionSpec(
        id="slack.channel.archive",
        summary="Archive a channel",
        target="channel",
        inverse=inverse_same_target("slack.channel.unarchive"),
        inverse_hint="unarchive",
        examples=(
            "archive #incident-2231",
            "archive the slack channel launch-week",
            "close down the old-project channel in slack",
        ),
    ),
    ActionSpec(
        id="slack.channel.unarchive",
        summary="Unarchive a channel",
        target="channel",
        inverse=inverse_same_target("slack.channel.archive"),
        inverse_hint="archive",
        examples=(
            "unarchive #incident-2231",
            "bring back the slack channel launch-week",
            "restore the archived channel old-project",
        ),
    ),
    ActionSpec(
        id="slack.channel.set_topic",
        summary="Set a channel's topic",
        params=SetTopicParams,
        target="channel",
        inverse=restore_fields("slack.channel.set_topic", {"topic": "topic"}),
        inverse_hint="set the before topic",
        examples=(
            'set the topic of #incident-2231 to "Checkout errors — investigating"',
            "change the slack topic in launch-week to Launch on Thursday",
            "#eng-oncall topic: Paging goes to @sam this week",
        ),
    ),
    ActionSpec(
        id="slack.channel.invite",
        summary="Invite users to a channel",
        params=InviteParams,
        target="channel",
        inverse_hint="none in the catalog: remove them with conversations.kick by hand",
        examples=(
            "invite @jane and @omar to #incident-2231",
            "add sam@example.com to the slack channel launch-week",
            "pull @priya into #exec-offsite",
        ),
    ),
)

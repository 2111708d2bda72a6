"""Asana actions: projects, tasks and project webhooks.

Before-states: project ``{"gid", "name", "team", "archived"}``; task create records no
before-state, its after-state is ``{"gid"}``; webhook ``{"gid", "resource", "target", "active"}``
(``target`` without the handshake token sophia adds to it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from adapters.catalog import ActionCall, ActionSpec, Params, inverse_same_target
from adapters.specs._fields import email, https_url

__all__ = ["ACTIONS", "ProjectCreateParams", "TaskCreateParams", "WebhookCreateParams"]


def _clean(value: object) -> object:
    return re.sub(r"\s+", " ", value).strip() if isinstance(value, str) else value


class ProjectCreateParams(Params):
    """``asana.project.create`` params."""

    team: str | None = Field(default=None, max_length=120, description="the team that owns it")

    _t = field_validator("team", mode="before")(classmethod(lambda cls, v: _clean(v)))


class TaskCreateParams(Params):
    """``asana.task.create`` params; ``assignee`` is an email or ``me``."""

    name: str = Field(min_length=1, max_length=1024, description="the task's name")
    assignee: str | None = Field(default=None, description="an email address, or 'me'")

    _n = field_validator("name", mode="before")(classmethod(lambda cls, v: _clean(v)))

    @field_validator("assignee", mode="before")
    @classmethod
    def _assignee(cls, value: object) -> object:
        if value is None:
            return None
        text = str(value).strip()
        return "me" if text.lower() in ("me", "myself") else email(text)


class WebhookCreateParams(Params):
    """``asana.webhook.create`` params: where Asana should POST (sophia's ``/webhooks/asana``)."""

    url: str = Field(max_length=2000, description="the https target URL, e.g. https://sophia.example.com/webhooks/asana")

    _u = field_validator("url", mode="before")(classmethod(lambda cls, v: https_url(v)))


def _recreate_webhook(call: ActionCall, before: Mapping[str, Any] | None,
                      after: Mapping[str, Any] | None) -> ActionCall | None:
    """Undo of a webhook delete: a new webhook on the same project to the same URL."""
    url = (before or {}).get("target")
    if not isinstance(url, str) or not url:
        return None
    return ActionCall(action="asana.webhook.create", target=call.target, params={"url": url})


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="asana.project.create",
        summary="Create a project",
        params=ProjectCreateParams,
        target="project name",
        inverse=inverse_same_target("asana.project.archive"),
        inverse_hint="project.archive",
        examples=(
            "create an asana project Website Relaunch",
            "new asana project Q3 Planning for the Marketing team",
            "set up a project called Vendor Review in asana",
        ),
    ),
    ActionSpec(
        id="asana.project.archive",
        summary="Archive a project",
        target="project name",
        inverse=inverse_same_target("asana.project.unarchive"),
        inverse_hint="unarchive",
        examples=(
            "archive the asana project Website Relaunch",
            "archive Q3 Planning in asana",
            "move asana project Vendor Review to the archive",
        ),
    ),
    ActionSpec(
        id="asana.project.unarchive",
        summary="Unarchive a project",
        target="project name",
        inverse=inverse_same_target("asana.project.archive"),
        inverse_hint="archive",
        examples=(
            "unarchive the asana project Website Relaunch",
            "restore Q3 Planning from the asana archive",
            "bring asana project Vendor Review back",
        ),
    ),
    ActionSpec(
        id="asana.task.create",
        summary="Add a task to a project",
        params=TaskCreateParams,
        target="project name",
        inverse_hint="none in the catalog: delete the task in Asana by hand",
        examples=(
            'add a task "Draft launch email" to the asana project Website Relaunch',
            "create an asana task Book venue in Q3 Planning assigned to kim@example.com",
            "new task in Vendor Review: collect SOC2 reports, assign to me",
        ),
    ),
    ActionSpec(
        id="asana.webhook.create",
        summary="Send a project's changes to sophia by webhook (X-Hook-Secret handshake)",
        params=WebhookCreateParams,
        target="project name or gid",
        inverse=inverse_same_target("asana.webhook.delete"),
        inverse_hint="webhook.delete",
        examples=(
            "create an asana webhook on Website Relaunch to https://sophia.example.com/webhooks/asana",
            "subscribe sophia to the asana project Q3 Planning at https://sophia.example.com/webhooks/asana",
            "watch asana project Vendor Review with a webhook to https://ops.example.com/webhooks/asana",
        ),
    ),
    ActionSpec(
        id="asana.webhook.delete",
        summary="Delete the webhook sophia created on a project",
        target="project name or gid",
        inverse=_recreate_webhook,
        inverse_hint="webhook.create to the same URL (a new hook, with a new secret)",
        examples=(
            "delete the asana webhook on Website Relaunch",
            "stop the asana webhook for Q3 Planning",
            "remove the webhook from asana project Vendor Review",
        ),
    ),
)

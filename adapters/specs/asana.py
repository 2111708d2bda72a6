"""Asana actions: projects and tasks.

Before-states: project ``{"gid", "name", "team", "archived"}``; task create records no
before-state, its after-state is ``{"gid"}``.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, Params, inverse_same_target
from adapters.specs._fields import email

__all__ = ["ACTIONS", "ProjectCreateParams", "TaskCreateParams"]


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
)

"""Linear actions: projects and issues.

Before-states: project ``{"id", "name", "team", "archived"}``; issue create records no
before-state (the issue didn't exist), its after-state is ``{"id", "identifier"}``.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, Params, inverse_same_target

__all__ = ["ACTIONS", "IssueCreateParams", "ProjectCreateParams", "normalize_priority"]

_PRIORITY = {
    "none": 0, "no priority": 0, "no_priority": 0, "p0": 1,
    "urgent": 1, "p1": 1, "critical": 1, "asap": 1, "blocker": 1, "highest": 1,
    "high": 2, "p2": 2, "high-priority": 2,
    "medium": 3, "normal": 3, "p3": 3,
    "low": 4, "p4": 4,
}


def normalize_priority(value: object) -> object:
    """``urgent``/``high``/``medium``/``low``/``none`` (or P1–P4) → Linear's 1/2/3/4/0."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    return _PRIORITY.get(text, value)


class ProjectCreateParams(Params):
    """``linear.project.create`` params."""

    team: str = Field(min_length=1, max_length=80, description="the team's key (ENG) or name")

    @field_validator("team", mode="before")
    @classmethod
    def _team(cls, value: object) -> object:
        return " ".join(value.split()) if isinstance(value, str) else value


class IssueCreateParams(Params):
    """``linear.issue.create`` params; priority 0 none, 1 urgent, 2 high, 3 medium, 4 low."""

    title: str = Field(min_length=1, max_length=255)
    priority: int | None = Field(default=None, ge=0, le=4, description="0 none, 1 urgent … 4 low")

    _p = field_validator("priority", mode="before")(classmethod(lambda cls, v: normalize_priority(v)))

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: object) -> object:
        return re.sub(r"\s+", " ", value).strip() if isinstance(value, str) else value


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="linear.project.create",
        summary="Create a project for a team",
        params=ProjectCreateParams,
        target="project name",
        inverse=inverse_same_target("linear.project.archive"),
        inverse_hint="project.archive",
        examples=(
            "create a linear project Billing Revamp for team ENG",
            "new linear project called Q1 Onboarding owned by the Growth team",
            "start a project Mobile Offline Mode in linear under team MOB",
        ),
    ),
    ActionSpec(
        id="linear.project.archive",
        summary="Archive a project",
        target="project name",
        inverse=inverse_same_target("linear.project.unarchive"),
        inverse_hint="unarchive",
        examples=(
            "archive the linear project Billing Revamp",
            "put Q1 Onboarding in the archive in linear",
            "archive project Mobile Offline Mode",
        ),
    ),
    ActionSpec(
        id="linear.project.unarchive",
        summary="Unarchive a project",
        target="project name",
        inverse=inverse_same_target("linear.project.archive"),
        inverse_hint="archive",
        examples=(
            "unarchive the linear project Billing Revamp",
            "restore Q1 Onboarding from the linear archive",
            "bring back project Mobile Offline Mode in linear",
        ),
    ),
    ActionSpec(
        id="linear.issue.create",
        summary="File an issue in a team",
        params=IssueCreateParams,
        target="team key",
        inverse_hint="none in the catalog: archive the issue in Linear by hand",
        examples=(
            'file a linear issue in ENG titled "Checkout times out on Safari"',
            "create an urgent issue for team OPS: rotate the staging certs",
            "open a low priority linear ticket in MOB called Dark mode icons misaligned",
        ),
    ),
)

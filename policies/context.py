"""The typed input to the policy engine: one change, who asks, where, when, and what is frozen.

Rules see the CEL variables ``change``, ``before``, ``expected``, ``actor``, ``env``, ``now`` and ``run``
(:meth:`PolicyContext.cel_variables`). Active freezes are an input too (the store knows them;
the engine stays pure), as is the per-actor change count, which the engine asks a callable for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ActorInfo", "ChangeInfo", "Freeze", "PolicyContext", "RunInfo"]

_READ = "read"


class ChangeInfo(BaseModel):
    """The change under review: one catalog action on one target.

    Attributes:
        action: ``platform.resource.verb``.
        platform: the platform part of ``action`` (filled in when omitted).
        target: the one resource acted on (None for actions with no resource).
        params: the validated, redacted params (JSON form).
        risk: ``read`` / ``change`` / ``destructive``.
        reversible: whether the change can be undone automatically.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str
    platform: str = ""
    target: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    risk: str = "change"
    reversible: bool = True

    @field_validator("risk")
    @classmethod
    def _risk(cls, value: str) -> str:
        if value not in ("read", "change", "destructive"):
            raise ValueError("risk must be read, change or destructive")
        return value

    def model_post_init(self, context: Any, /) -> None:
        if not self.platform:
            object.__setattr__(self, "platform", self.action.split(".", 1)[0])

    @property
    def mutating(self) -> bool:
        """Whether the change writes to a platform (anything but ``read``)."""
        return self.risk != _READ

    @property
    def resource(self) -> str:
        """``platform:target`` — the form protected-resource patterns match against."""
        return f"{self.platform}:{self.target or ''}"


class ActorInfo(BaseModel):
    """Who asks: the resolved identity (not the raw Slack/CLI/API name).

    Attributes:
        id: identity id; the same person on Slack and the CLI is one id (four-eyes compares it).
        roles: a subset of ``viewer``, ``operator``, ``approver``, ``admin``.
        groups: the groups the identity belongs to.
        source: the raw actor the request came from (``slack:U123``, ``cli:alice``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    source: str = ""


class RunInfo(BaseModel):
    """The run the change belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = ""
    steps: int = 1
    surface: str = "cli"


class Freeze(BaseModel):
    """A change freeze on an environment (``*`` freezes every environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str
    until: datetime
    reason: str = ""
    by: str = ""

    @field_validator("until")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def holds(self, env: str, now: datetime) -> bool:
        """Whether this freeze covers ``env`` at ``now``."""
        return (self.env == "*" or self.env == env) and now < self.until


class PolicyContext(BaseModel):
    """Everything one evaluation sees. Build one per change (per plan step).

    Attributes:
        change: the change under review.
        before: the resource's observed state before the change (None if unknown or new).
        expected: the state the plan predicts after the change (None: absent, or not planned —
            ``policy explain`` reads nothing). What an adapter learns while planning rides here:
            a Lambda Labs launch carries ``usd_per_hour`` (the type's price × count).
        actor: the requesting identity.
        env: the environment the target belongs to (``prod`` by default).
        now: evaluation time (tz-aware; naive values are taken as UTC).
        run: the run the change is part of.
        freezes: change freezes known to the store (expired ones are ignored).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    change: ChangeInfo
    before: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None
    actor: ActorInfo
    env: str = "prod"
    now: datetime = Field(default_factory=lambda: datetime.now(UTC))
    run: RunInfo = Field(default_factory=RunInfo)
    freezes: tuple[Freeze, ...] = ()

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def cel_variables(self) -> dict[str, Any]:
        """The variables CEL expressions see (plain Python values)."""
        change = self.change
        return {
            "change": {
                "action": change.action,
                "platform": change.platform,
                "target": change.target or "",
                "params": change.params,
                "risk": change.risk,
                "reversible": change.reversible,
            },
            "before": self.before,
            "expected": self.expected,
            "actor": {
                "id": self.actor.id,
                "roles": list(self.actor.roles),
                "groups": list(self.actor.groups),
                "source": self.actor.source,
            },
            "env": self.env,
            "now": self.now,
            "run": {"id": self.run.id, "steps": self.run.steps, "surface": self.run.surface},
        }

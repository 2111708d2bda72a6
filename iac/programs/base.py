"""What every IaC program declares, and the lazy table of programs by catalog resource.

A program is a module with a typed spec (a Pydantic model describing *every* resource the
stack manages) and a function from that spec to Pulumi resources. Its :class:`Program`
binding tells the runner how catalog actions change the spec (``transition``), which
catalog-shaped state each resource reports (``describe`` from the spec, ``exports`` from the
real resource outputs — the two must agree), and which provider credentials it needs.

This module must not import ``pulumi``: the adapter pool consults it while routing.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from orchestrator.errors import NotFoundError, ValidationFailedError

if TYPE_CHECKING:
    from adapters.base import State
    from adapters.catalog import ActionCall

__all__ = [
    "PROGRAMS",
    "Program",
    "ProgramContext",
    "Spec",
    "Transition",
    "program_for",
]


class Spec(BaseModel):
    """Base of every program spec: strict (unknown fields are an error) and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


S = TypeVar("S", bound=Spec)


class ProgramContext(Protocol):
    """What a program may ask of the runner while it runs."""

    def secret(self, name: str) -> Any:
        """The secret stored under ``name`` (a ``pulumi.Output`` marked secret)."""


@dataclass
class Transition(Generic[S]):
    """The spec after one action, plus any new secret values to store in stack config.

    ``secrets`` maps a config key to its value; the runner stores them encrypted with the
    stack's secrets provider, and the spec only ever names them.
    """

    spec: S
    secrets: dict[str, str] = field(default_factory=dict)


class Program(ABC, Generic[S]):
    """Binding of one program to the catalog: one Pulumi project, one stack per environment."""

    #: short name (``snowflake``); the Pulumi project is ``sophia-<name>``.
    name: ClassVar[str]
    #: the catalog platform this program serves.
    platform: ClassVar[str]
    #: the spec model.
    spec_model: ClassVar[type[Spec]]
    #: catalog action ids this program performs; other verbs stay with the adapter.
    handles: ClassVar[frozenset[str]]
    #: actions that bring a resource into being (refused when it exists).
    creates: ClassVar[frozenset[str]] = frozenset()
    #: actions that create or update (never refused for existence).
    upserts: ClassVar[frozenset[str]] = frozenset()
    #: provider env var → (platform, secret name), resolved by reference when the CLI runs.
    secret_env: ClassVar[Mapping[str, tuple[str, str]]] = {}
    #: plugin packages the program needs (``pulumi plugin install resource <name> <version>``).
    plugins: ClassVar[tuple[str, ...]] = ()

    @property
    def project(self) -> str:
        """The Pulumi project name."""
        return f"sophia-{self.name}"

    # -- the program ---------------------------------------------------------------------
    @abstractmethod
    def build(self, spec: S, ctx: ProgramContext) -> dict[str, Any]:
        """Declare the resources for ``spec``; returns them by logical name."""

    @abstractmethod
    def exports(self, spec: S, resources: Mapping[str, Any]) -> dict[str, Any]:
        """Catalog-shaped state per resource key, built from the resources' outputs."""

    @abstractmethod
    def describe(self, spec: S) -> dict[str, dict[str, Any]]:
        """Catalog-shaped state per resource key, computed from the spec alone."""

    # -- the catalog binding -------------------------------------------------------------
    @abstractmethod
    def key(self, call: ActionCall) -> str:
        """The resource key (``warehouse/ETL_WH``) a call acts on."""

    @abstractmethod
    def transition(self, spec: S, call: ActionCall) -> Transition[S]:
        """The spec after ``call`` (raises ValidationFailedError when it can't apply)."""

    def state(self, call: ActionCall, resources: Mapping[str, Any]) -> State:
        """The call's target state from a ``{key: state}`` map (None when absent)."""
        found = resources.get(self.key(call))
        return dict(found) if found is not None else None

    def expected(self, spec: S, call: ActionCall) -> State:
        """The target's state once ``spec`` (already transitioned) is applied."""
        return self.state(call, self.describe(spec))

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse create-over-existing and change-of-missing before anything runs."""
        if call.action in self.upserts:
            return
        if call.action in self.creates:
            if before is not None:
                raise ValidationFailedError(
                    f"{call.target} already exists in the {self.project} stack",
                    hint="choose another name, or change the existing resource",
                )
        elif before is None:
            raise ValidationFailedError(
                f"{call.target} is not managed as code in the {self.project} stack",
                hint="create it through sophia-iac first (or import it into the stack with `pulumi import`)",
            )

    def empty(self) -> S:
        """The spec of a stack that manages nothing yet."""
        spec: S = self.spec_model()  # type: ignore[assignment]
        return spec

    def load(self, data: Mapping[str, Any] | None) -> S:
        """A spec from its JSON form (None/empty → :meth:`empty`)."""
        if not data:
            return self.empty()
        spec: S = self.spec_model.model_validate(dict(data))  # type: ignore[assignment]
        return spec


#: catalog ``platform.resource`` → ``module:PROGRAM``; imported only when an IaC action runs.
PROGRAMS: dict[str, str] = {
    "snowflake.warehouse": "iac.programs.snowflake:PROGRAM",
    "snowflake.database": "iac.programs.snowflake:PROGRAM",
    "github.repo": "iac.programs.github:PROGRAM",
    "github.branch_protection": "iac.programs.github:PROGRAM",
    "vercel.env": "iac.programs.vercel:PROGRAM",
    "pgvector.index": "iac.programs.pgvector:PROGRAM",
}


def program_for(resource: str) -> Program[Any]:
    """The program that manages ``platform.resource``.

    Raises:
        NotFoundError: naming the resources that can be managed as code.
    """
    path = PROGRAMS.get(resource)
    if path is None:
        raise NotFoundError(
            f"{resource} can't be managed as code",
            hint=f"resources with an IaC program: {', '.join(sorted(PROGRAMS))}",
        )
    module, _, attr = path.partition(":")
    program: Program[Any] = getattr(importlib.import_module(module), attr)
    return program

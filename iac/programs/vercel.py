"""Vercel projects with environment variables (pulumiverse-vercel).

Values are secrets: each one is stored in the stack config encrypted by the stack's secrets
provider (``env-<project>-<KEY>-<environment>-v<n>``) and the spec only names that key, so a
value never enters the spec, the ledger or a plan. ``value_ref`` in the catalog state is
``iac-secret:<config key>``; setting a variable to such a reference (an undo) re-uses the
stored value without reading it. ``VERCEL_API_TOKEN`` is resolved by reference from
``SOPHIA_VERCEL_TOKEN``.

The catalog has no ``vercel.project.create``: setting a variable on a project the stack does
not manage yet adds the project to the stack, and the preview shows that create.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import pulumi
import pulumiverse_vercel as vercel
from pydantic import Field

from adapters.base import State
from adapters.catalog import ActionCall
from iac.programs.base import Program, ProgramContext, Spec, Transition

__all__ = ["PROGRAM", "SECRET_REF", "EnvVarSpec", "ProjectSpec", "VercelProgram", "VercelSpec", "vercel_program"]

#: How a stored value is referenced in states, ledgers and inverses.
SECRET_REF = "iac-secret:"

Environment = Literal["production", "preview", "development"]


class EnvVarSpec(Spec):
    """One variable in one environment; ``secret`` names the stack-config key holding the value."""

    key: str
    environment: Environment = "production"
    secret: str

    @property
    def sensitive(self) -> bool:
        """Vercel allows sensitive (write-only) values outside ``development`` only."""
        return self.environment != "development"


class ProjectSpec(Spec):
    """One project and its variables (keyed ``KEY@environment``)."""

    name: str
    framework: str | None = None
    env: dict[str, EnvVarSpec] = Field(default_factory=dict)


class VercelSpec(Spec):
    """Every project the stack manages, by name."""

    team_id: str | None = None
    projects: dict[str, ProjectSpec] = Field(default_factory=dict)
    #: values stored so far; numbers each new secret so an old one is never overwritten.
    secrets_issued: int = 0


def vercel_program(spec: VercelSpec, ctx: ProgramContext) -> dict[str, pulumi.Resource]:
    """A ``Project`` per project, a ``ProjectEnvironmentVariable`` per variable (value from ``ctx``)."""
    resources: dict[str, pulumi.Resource] = {}
    for name, project in sorted(spec.projects.items()):
        res = vercel.Project(f"project-{name}", name=project.name, framework=project.framework,
                             team_id=spec.team_id)
        resources[f"project/{name}"] = res
        for var in sorted(project.env.values(), key=lambda v: (v.key, v.environment)):
            resources[f"env/{name}/{var.key}/{var.environment}"] = vercel.ProjectEnvironmentVariable(
                f"env-{name}-{var.key.lower()}-{var.environment}",
                project_id=res.id,
                team_id=spec.team_id,
                key=var.key,
                value=ctx.secret(var.secret),
                targets=[var.environment],
                sensitive=var.sensitive,
            )
    return resources


def _env_state(ref: str, v: list[Any]) -> dict[str, Any]:
    return {"key": v[0], "environment": (v[1] or [None])[0], "exists": True, "value_ref": ref}


class VercelProgram(Program[VercelSpec]):
    """vercel.env.{set,unset}."""

    name: ClassVar[str] = "vercel"
    platform: ClassVar[str] = "vercel"
    spec_model = VercelSpec
    handles: ClassVar[frozenset[str]] = frozenset({"vercel.env.set", "vercel.env.unset"})
    upserts: ClassVar[frozenset[str]] = frozenset({"vercel.env.set", "vercel.env.unset"})
    secret_env: ClassVar[Mapping[str, tuple[str, str]]] = {"VERCEL_API_TOKEN": ("vercel", "TOKEN")}
    plugins: ClassVar[tuple[str, ...]] = ("vercel",)

    def build(self, spec: VercelSpec, ctx: ProgramContext) -> dict[str, Any]:
        return dict(vercel_program(spec, ctx))

    def exports(self, spec: VercelSpec, resources: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, project in spec.projects.items():
            res = resources[f"project/{name}"]
            out[f"project/{name}"] = res.name.apply(lambda n: {"name": n})
            for var in project.env.values():
                env_res = resources[f"env/{name}/{var.key}/{var.environment}"]
                out[f"env/{name}/{var.key}/{var.environment}"] = pulumi.Output.all(env_res.key, env_res.targets).apply(
                    functools.partial(_env_state, SECRET_REF + var.secret)
                )
        return out

    def describe(self, spec: VercelSpec) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, project in spec.projects.items():
            out[f"project/{name}"] = {"name": project.name}
            for var in project.env.values():
                out[f"env/{name}/{var.key}/{var.environment}"] = {
                    "key": var.key, "environment": var.environment, "exists": True,
                    "value_ref": SECRET_REF + var.secret}
        return out

    def key(self, call: ActionCall) -> str:
        env = call.params.get("environment", "production")
        return f"env/{_project(call.target)}/{call.params['key']}/{env}"

    def state(self, call: ActionCall, resources: Mapping[str, Any]) -> State:
        found = resources.get(self.key(call))
        if found is not None:
            return dict(found)
        return {"key": call.params["key"], "environment": call.params.get("environment", "production"),
                "exists": False, "value_ref": None}

    def transition(self, spec: VercelSpec, call: ActionCall) -> Transition[VercelSpec]:
        name, p = _project(call.target), call.params
        env = p.get("environment", "production")
        projects = dict(spec.projects)
        project = projects.get(name) or ProjectSpec(name=name)
        variables = dict(project.env)
        slot = f"{p['key']}@{env}"
        secrets: dict[str, str] = {}
        issued = spec.secrets_issued
        if call.action == "vercel.env.unset":
            variables.pop(slot, None)
        else:
            value = str(p["value"])
            if value.startswith(SECRET_REF):
                secret = value.removeprefix(SECRET_REF)
            else:
                issued += 1
                secret = f"env-{name}-{p['key']}-{env}-v{issued}"
                secrets[secret] = value
            variables[slot] = EnvVarSpec(key=p["key"], environment=env, secret=secret)
        projects[name] = project.model_copy(update={"env": variables})
        return Transition(spec.model_copy(update={"projects": projects, "secrets_issued": issued}), secrets)


def _project(target: str | None) -> str:
    name = (target or "").strip().lower()
    if not re.match(r"^[a-z0-9][a-z0-9._-]{0,99}$", name):
        from orchestrator.errors import ValidationFailedError

        raise ValidationFailedError(f"not a Vercel project name: {target!r}", hint="use the project's name, e.g. web")
    return name


PROGRAM = VercelProgram()

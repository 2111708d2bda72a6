"""A stand-in for Pulumi's LocalWorkspace and Stack — for tests only: the CLI can't run here.

:class:`FakeStack` keeps a stack's state in memory and runs the *real* inline program under
``pulumi.runtime.set_mocks`` (:mod:`tests.iac.mockrun`), so preview and up see exactly the
resources, inputs and exports the program produces. It diffs them against its state like a
tiny engine (replace on the keys :data:`REPLACE_ON` names), reports through the real
``pulumi.automation`` result and event classes, and can be told to fail with real CLI error
texts (:func:`command_error`), to leave pending operations, or to see drift on refresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pulumi.automation import (
    ConfigValue,
    Deployment,
    DestroyResult,
    EngineEvent,
    OpType,
    OutputValue,
    PreviewResult,
    RefreshResult,
    UpdateSummary,
    UpResult,
)
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import CommandError, create_command_error

from tests.iac.mockrun import Registered, run_program

__all__ = ["FakeStack", "FakeWorkspace", "command_error"]

#: Input keys whose change makes the fake engine replace the resource.
REPLACE_ON: dict[str, tuple[str, ...]] = {
    "pulumi-python:dynamic:Resource": ("name", "dimension", "metric"),
    "snowflake:index/warehouse:Warehouse": ("name",),
    "snowflake:index/database:Database": ("name",),
    "github:index/repository:Repository": (),
    "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable": ("key", "projectId"),
}


def command_error(stderr: str, stdout: str = "", code: int = 255) -> CommandError:
    """The exception the Automation API raises for a CLI run that printed ``stderr``."""
    return create_command_error(CommandResult(stdout, stderr, code))


def _inputs(reg: Registered) -> dict[str, Any]:
    return {k: v for k, v in reg.inputs.items() if not k.startswith("__")}


class FakeStack:
    """One stack: state, outputs, config, history; optional failures, drift and pending ops."""

    def __init__(self, project: str, environment: str) -> None:
        self.project, self.environment = project, environment
        self.resources: dict[str, dict[str, Any]] = {}
        self.exports: dict[str, Any] = {}
        self.config: dict[str, tuple[str, bool]] = {}
        self.version = 0
        self.pending_operations: list[dict[str, Any]] = []
        self.fail: list[BaseException] = []
        self.drift: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.env_vars: dict[str, str] = {}

    # -- engine ----------------------------------------------------------------------------
    def _raise(self, operation: str) -> None:
        self.calls.append(operation)
        if self.fail:
            raise self.fail.pop(0)

    def _run(self, program: Any) -> tuple[dict[str, Any], dict[str, Registered]]:
        exports, registered = run_program(
            program, project=self.project, stack=self.environment,
            config={k: v for k, (v, _) in self.config.items()},
            secret_keys=tuple(k for k, (_, secret) in self.config.items() if secret),
        )
        return dict(exports or {}), {r.urn: r for r in registered.values()}

    def _steps(self, registered: Mapping[str, Registered]) -> list[dict[str, Any]]:
        steps = []
        for urn, reg in registered.items():
            new = _inputs(reg)
            if urn not in self.resources:
                steps.append({"op": "create", "urn": urn, "type": reg.type, "old": None, "new": new, "diffs": []})
                continue
            old = self.resources[urn]["inputs"]
            diffs = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            replace = [k for k in diffs if k in REPLACE_ON.get(reg.type, ())]
            op = "same" if not diffs else "replace" if replace else "update"
            steps.append({"op": op, "urn": urn, "type": reg.type, "old": old, "new": new, "diffs": diffs,
                          "keys": replace})
        for urn, res in self.resources.items():
            if urn not in registered:
                steps.append({"op": "delete", "urn": urn, "type": res["type"], "old": res["inputs"], "new": None,
                              "diffs": []})
        return steps

    @staticmethod
    def _emit(steps: list[dict[str, Any]], on_event: Any) -> None:
        if on_event is None:
            return
        for seq, step in enumerate(steps):
            meta: dict[str, Any] = {"op": step["op"], "urn": step["urn"], "type": step["type"], "provider": "",
                                    "diffs": step["diffs"], "keys": step.get("keys") or []}
            meta["detailedDiff"] = {k: {"diffKind": "update-replace" if k in (step.get("keys") or []) else "update",
                                        "inputDiff": True} for k in step["diffs"]}
            for side in ("old", "new"):
                if step[side] is not None:
                    meta[side] = {"type": step["type"], "urn": step["urn"], "id": "", "parent": "", "provider": "",
                                  "inputs": step[side], "outputs": step[side]}
            on_event(EngineEvent.from_json({"sequence": seq, "timestamp": 0, "resourcePreEvent": {"metadata": meta}}))

    @staticmethod
    def _summary(steps: list[dict[str, Any]]) -> dict[OpType, int]:
        counts: dict[OpType, int] = {}
        for step in steps:
            counts[OpType(step["op"])] = counts.get(OpType(step["op"]), 0) + 1
        return counts

    def _update_summary(self, kind: str, counts: Mapping[OpType, int], message: str = "") -> UpdateSummary:
        now = datetime.now(UTC)
        return UpdateSummary(kind=kind, start_time=now, message=message, environment={}, config={},
                             result="succeeded", end_time=now, version=self.version,
                             resource_changes={op.value: n for op, n in counts.items()})  # type: ignore[misc]

    # -- the Stack API the runner uses -----------------------------------------------------
    def preview(self, program: Any = None, on_event: Any = None, **_: Any) -> PreviewResult:
        self._raise("preview")
        _exports, registered = self._run(program)
        steps = self._steps(registered)
        self._emit(steps, on_event)
        return PreviewResult("", "", self._summary(steps))

    def up(self, program: Any = None, on_event: Any = None, message: str | None = None, **_: Any) -> UpResult:
        self._raise("up")
        exports, registered = self._run(program)
        steps = self._steps(registered)
        self._emit(steps, on_event)
        self.resources = {urn: {"type": reg.type, "inputs": _inputs(reg)} for urn, reg in registered.items()}
        self.exports = exports
        self.version += 1
        return UpResult("", "", self._update_summary("update", self._summary(steps), message or ""), self.outputs())

    def _drift_steps(self) -> list[dict[str, Any]]:
        steps = []
        for urn, res in self.resources.items():
            name = urn.rsplit("::", 1)[-1]
            if name in self.drift:
                seen = {**res["inputs"], **self.drift[name]}
                steps.append({"op": "update", "urn": urn, "type": res["type"], "old": res["inputs"], "new": seen,
                              "diffs": sorted(self.drift[name])})
            else:
                steps.append({"op": "same", "urn": urn, "type": res["type"], "old": res["inputs"],
                              "new": res["inputs"], "diffs": []})
        return steps

    def preview_refresh(self, on_event: Any = None, **_: Any) -> PreviewResult:
        self._raise("preview_refresh")
        steps = self._drift_steps()
        self._emit(steps, on_event)
        return PreviewResult("", "", self._summary(steps))

    def refresh(self, on_event: Any = None, **_: Any) -> RefreshResult:
        self._raise("refresh")
        steps = self._drift_steps()
        self._emit(steps, on_event)
        for step in steps:
            self.resources[step["urn"]]["inputs"] = step["new"]
        self.pending_operations = [p for p in self.pending_operations if p.get("type") == "creating"]
        self.drift.clear()
        self.version += 1
        return RefreshResult("", "", self._update_summary("refresh", self._summary(steps)))

    def destroy(self, on_event: Any = None, **_: Any) -> DestroyResult:
        self._raise("destroy")
        steps = [{"op": "delete", "urn": urn, "type": r["type"], "old": r["inputs"], "new": None, "diffs": []}
                 for urn, r in self.resources.items()]
        self._emit(steps, on_event)
        self.resources, self.exports = {}, {}
        self.version += 1
        return DestroyResult("", "", self._update_summary("destroy", self._summary(steps)))

    def outputs(self) -> dict[str, OutputValue]:
        self.calls.append("outputs")
        return {k: OutputValue(v, False) for k, v in self.exports.items()}

    def export_stack(self) -> Deployment:
        self.calls.append("export")
        deployment: dict[str, Any] = {
            "manifest": {"time": datetime.now(UTC).isoformat(), "magic": "fake", "version": "v3.272.0"},
            "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:fake"}},
            "resources": [{"urn": urn, "type": r["type"], "inputs": r["inputs"]} for urn, r in self.resources.items()],
        }
        if self.pending_operations:
            deployment["pending_operations"] = list(self.pending_operations)
        return Deployment(version=3, deployment=deployment)

    def import_stack(self, state: Deployment) -> None:
        self.calls.append("import")
        self.resources = {r["urn"]: {"type": r["type"], "inputs": r["inputs"]}
                          for r in (state.deployment or {}).get("resources", [])}

    def set_config(self, key: str, value: ConfigValue, *, path: bool = False) -> None:
        self.calls.append(f"set_config:{key}")
        self.config[key] = (value.value, value.secret)


class FakeWorkspace:
    """Hands out one :class:`FakeStack` per (project, environment); records what it was given."""

    def __init__(self) -> None:
        self.stacks: dict[tuple[str, str], FakeStack] = {}
        self.preflight_error: BaseException | None = None

    def preflight(self) -> None:
        if self.preflight_error is not None:
            raise self.preflight_error

    def select_stack(self, program: Any, environment: str, env_vars: Mapping[str, str]) -> FakeStack:
        stack = self.stack(program.project, environment)
        stack.env_vars = dict(env_vars)
        return stack

    def stack(self, project: str, environment: str = "prod") -> FakeStack:
        """The stack (created empty on first use)."""
        return self.stacks.setdefault((project, environment), FakeStack(project, environment))

"""The Pulumi Automation runner: the one place the synchronous Pulumi SDK is called.

Every SDK call goes through :meth:`IacRunner._sdk`, which runs it with ``asyncio.to_thread``
and turns its failures into sophia-iac errors (:func:`iac.errors.classify`).

* Stacks: one Pulumi project per program (``sophia-snowflake`` …), one stack per
  environment (``prod``), programs inline (:class:`~iac.programs.base.Program`), on the local
  ``file://`` backend under ``$SOPHIA_HOME/pulumi/state`` unless ``SOPHIA_IAC_BACKEND_URL``
  names another. Secrets are encrypted by the ``passphrase`` provider; the passphrase is
  resolved by reference (``SOPHIA_PULUMI_CONFIG_PASSPHRASE`` / ``…_FILE`` / secret manager),
  as are provider credentials, and handed to the CLI as environment variables only.
* The desired state of a stack is its program's typed spec. It is exported as the stack
  output ``spec`` (so it changes atomically with the resources) and mirrored into the stack
  config key ``sophia-spec``; secret values live in stack config, encrypted.
* :meth:`IacRunner.preview` → :class:`PlanSummary` (create/update/replace/delete counts and
  the property diff per resource); :meth:`IacRunner.up` exports the stack first and keeps
  that export as the change's rollback point (:class:`RollbackStore`); :meth:`refresh`
  reports drift; :meth:`destroy` tears a stack down (exported first too).
* Never two writers: a file lock per stack serialises our own updates (across processes),
  and a concurrent update from elsewhere is retried a bounded number of times, then
  reported as busy. Pending operations left by a crash are never cancelled: the stack is
  refreshed and the change reported as ``needs_reconcile``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from adapters.credentials import SecretRef, resolve_secret, scrub
from iac.errors import PendingOperationsError, StackBusyError, classify
from orchestrator.errors import BusyError, NotFoundError

if TYPE_CHECKING:
    from iac.programs.base import Program, Spec
    from orchestrator.config import Settings

__all__ = [
    "PASSPHRASE",
    "AutomationWorkspace",
    "DriftReport",
    "IacRunner",
    "PlanSummary",
    "ResourceChange",
    "RollbackStore",
    "StackView",
    "UpdateReport",
    "Workspace",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The stack passphrase, by reference: ``SOPHIA_PULUMI_CONFIG_PASSPHRASE`` (or ``…_FILE``).
PASSPHRASE = SecretRef("pulumi", "CONFIG_PASSPHRASE")
SPEC_CONFIG_KEY = "sophia-spec"
COUNTED = ("create", "update", "replace", "delete")
#: Property names whose values are never shown in a plan, whatever the engine sends.
SECRET_NAMES = frozenset({"value", "token", "password", "secret", "privateKey", "private_key", "passphrase"})


# -- results -------------------------------------------------------------------------------


@dataclass
class ResourceChange:
    """One resource in a plan or drift report: what happens to it and which properties differ."""

    urn: str
    type: str
    name: str
    op: str
    diffs: list[str] = field(default_factory=list)
    replace_keys: list[str] = field(default_factory=list)
    old: dict[str, Any] = field(default_factory=dict)
    new: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlanSummary:
    """The plan shown for approval: counts by operation and the property diff per resource."""

    stack: str
    counts: dict[str, int]
    changes: list[ResourceChange] = field(default_factory=list)

    @property
    def replaces(self) -> list[ResourceChange]:
        """Resources that would be deleted and re-created."""
        return [c for c in self.changes if c.op in ("replace", "create-replacement", "delete-replaced")]

    @property
    def has_changes(self) -> bool:
        """Whether applying would change anything."""
        return any(self.counts.get(op) for op in COUNTED)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for plans and the ledger."""
        return {"stack": self.stack, "counts": dict(self.counts), "changes": [asdict(c) for c in self.changes]}


@dataclass
class UpdateReport:
    """What an ``up`` (or ``destroy``) did, and where its rollback point is."""

    stack: str
    kind: str
    result: str
    version: int | None
    counts: dict[str, int]
    export_ref: dict[str, Any]
    resources: dict[str, Any] = field(default_factory=dict)
    duration_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The ledger's record of the update (no resource states)."""
        return {"kind": self.kind, "result": self.result, "version": self.version, "counts": dict(self.counts),
                "duration_seconds": round(self.duration_seconds, 3)}


@dataclass
class DriftReport:
    """What ``refresh`` found: resources whose real state differs from the stack's."""

    stack: str
    counts: dict[str, int]
    drifted: list[ResourceChange] = field(default_factory=list)
    adopted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"stack": self.stack, "counts": dict(self.counts), "adopted": self.adopted,
                "drifted": [asdict(c) for c in self.drifted]}


@dataclass
class StackView:
    """A stack as last applied: the spec and the catalog-shaped state per resource key."""

    spec: Spec
    resources: dict[str, Any]


# -- workspaces ----------------------------------------------------------------------------


class StackLike(Protocol):
    """The slice of ``pulumi.automation.Stack`` the runner uses (the test fake implements it too)."""

    def preview(self, **kwargs: Any) -> Any: ...
    def up(self, **kwargs: Any) -> Any: ...
    def refresh(self, **kwargs: Any) -> Any: ...
    def preview_refresh(self, **kwargs: Any) -> Any: ...
    def destroy(self, **kwargs: Any) -> Any: ...
    def outputs(self) -> Any: ...
    def export_stack(self) -> Any: ...
    def import_stack(self, state: Any) -> None: ...
    def set_config(self, key: str, value: Any, *, path: bool = False) -> None: ...


class Workspace(Protocol):
    """Opens (creating if needed) the stack of one program in one environment. Called in a worker thread."""

    def preflight(self) -> None:
        """Check the tooling is there (raises FileNotFoundError naming ``pulumi`` when it is not)."""

    def select_stack(self, program: Program[Any], environment: str, env_vars: Mapping[str, str]) -> StackLike: ...


class AutomationWorkspace:
    """The real thing: ``pulumi.automation.create_or_select_stack`` with a LocalWorkspace."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def root(self) -> Path:
        """``$SOPHIA_HOME/pulumi``."""
        return self.settings.home / "pulumi"

    def backend_url(self) -> str:
        """``SOPHIA_IAC_BACKEND_URL``, else ``file://$SOPHIA_HOME/pulumi/state``."""
        configured = self.settings.iac_backend_url
        if configured:
            return str(configured)
        state = self.root / "state"
        state.mkdir(parents=True, exist_ok=True)
        return f"file://{state}"

    def preflight(self) -> None:
        """Run ``pulumi version``: FileNotFoundError without the CLI, InvalidVersionError if too old."""
        try:
            from pulumi.automation import PulumiCommand
        except ImportError as exc:
            from orchestrator.errors import ConfigError

            raise ConfigError(
                "managing resources as code needs the Pulumi SDK, which is not installed",
                hint="pip install 'sophia-iac[iac]' (and the pulumi CLI), or unset SOPHIA_IAC_MANAGED",
            ) from exc

        PulumiCommand()

    def select_stack(self, program: Program[Any], environment: str, env_vars: Mapping[str, str]) -> StackLike:
        """Create or select ``<project>/<environment>`` with a passphrase secrets provider."""
        from pulumi import automation as auto

        work_dir = self.root / "projects" / program.project
        work_dir.mkdir(parents=True, exist_ok=True)
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            project_settings=auto.ProjectSettings(
                name=program.project, runtime="python", backend=auto.ProjectBackend(self.backend_url()),
                description=f"sophia-iac: {program.name} resources",
            ),
            secrets_provider="passphrase",
            env_vars=dict(env_vars),
        )
        stack = auto.create_or_select_stack(environment, project_name=program.project, program=lambda: None, opts=opts)
        return cast(StackLike, stack)


# -- rollback points -----------------------------------------------------------------------


class RollbackStore:
    """Stack exports kept as rollback points, and the per-resource journal of the last change.

    Files live under ``$SOPHIA_HOME/pulumi/rollback/<project>/<stack>/`` (mode 0600; secret
    values inside an export are ciphertext from the stack's secrets provider). A reference is
    ``rollback:<project>/<stack>/<file>`` plus the file's sha256.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, project: str, environment: str) -> Path:
        path = self.root / project / environment
        path.mkdir(parents=True, exist_ok=True)
        return path

    def save(self, project: str, environment: str, version: int, deployment: Mapping[str, Any]) -> dict[str, Any]:
        """Write one export; returns its reference."""
        body = json.dumps({"version": version, "deployment": deployment}, sort_keys=True, default=str).encode()
        digest = hashlib.sha256(body).hexdigest()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{digest[:12]}.json"
        path = self._dir(project, environment) / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        resources = len((deployment or {}).get("resources") or [])
        return {"ref": f"rollback:{project}/{environment}/{name}", "sha256": digest, "resources": resources}

    def load(self, ref: str) -> dict[str, Any]:
        """The export behind ``ref`` (checked against nothing else: pair it with its sha256)."""
        project, environment, name = ref.removeprefix("rollback:").split("/", 2)
        path = self.root / project / environment / name
        if not path.is_file() or "/" in name or name.startswith("."):
            raise NotFoundError(f"no rollback point {ref}", hint=f"rollback points are kept under {self.root}")
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded

    def _journal(self, project: str, environment: str) -> Path:
        return self._dir(project, environment) / "journal.json"

    def journal(self, project: str, environment: str) -> dict[str, Any]:
        """Resource key → the last change's record (export reference, update summary)."""
        path = self._journal(project, environment)
        return json.loads(path.read_text()) if path.is_file() else {}

    def note(self, project: str, environment: str, entries: Mapping[str, Any]) -> None:
        """Record the last change for some resource keys (atomic replace)."""
        data = self.journal(project, environment) | dict(entries)
        path = self._journal(project, environment)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, path)


# -- the runner ----------------------------------------------------------------------------


class _Events:
    """Collects the engine's resource events into :class:`ResourceChange` s."""

    def __init__(self) -> None:
        self.changes: dict[str, ResourceChange] = {}

    def __call__(self, event: Any) -> None:
        pre = getattr(event, "resource_pre_event", None) or getattr(event, "res_outputs_event", None)
        if pre is None or pre.metadata is None:
            return
        meta = pre.metadata
        op = getattr(meta.op, "value", str(meta.op))
        if op in ("same", "read") or (op == "refresh" and not meta.diffs and not meta.detailed_diff):
            return
        if op == "delete-replaced" and meta.urn in self.changes:
            return
        detailed = meta.detailed_diff or {}
        diffs = list(meta.diffs or detailed.keys() or [])
        replace_keys = [k for k, d in detailed.items() if str(getattr(d.diff_kind, "value", d.diff_kind)).endswith("replace")]
        if op in ("replace", "create-replacement") and not replace_keys:
            replace_keys = list(meta.keys or [])
        old = (meta.old.outputs or meta.old.inputs or {}) if meta.old else {}
        new = (meta.new.inputs or meta.new.outputs or {}) if meta.new else {}
        shown = diffs or ([] if op not in ("create", "delete") else sorted(set(old) | set(new)))
        self.changes[meta.urn] = ResourceChange(
            urn=meta.urn, type=meta.type, name=meta.urn.rsplit("::", 1)[-1],
            op="replace" if op in ("create-replacement", "delete-replaced") else op,
            diffs=diffs, replace_keys=replace_keys,
            old=_shown(old, shown), new=_shown(new, shown),
        )


def _shown(props: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        if key.startswith("__") or key not in props:
            continue
        value = props[key]
        out[key] = "[secret]" if key in SECRET_NAMES or _is_secret(value) else scrub(value) if isinstance(value, str) else value
    return out


def _is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and "4dabf18193072939515e22adb298388d" in value


def _counts(op_map: Mapping[Any, int] | None) -> dict[str, int]:
    counts = dict.fromkeys((*COUNTED, "same"), 0)
    for op, n in (op_map or {}).items():
        counts[str(getattr(op, "value", op))] = int(n)
    return counts


class _Context:
    """:class:`~iac.programs.base.ProgramContext` for a run: new secrets first, then stack config."""

    def __init__(self, new_secrets: Mapping[str, str]) -> None:
        self.new_secrets = dict(new_secrets)

    def secret(self, name: str) -> Any:
        import pulumi

        if name in self.new_secrets:
            return pulumi.Output.secret(self.new_secrets[name])
        return pulumi.Config().require_secret(name)


def inline_program(program: Program[Any], spec: Spec, new_secrets: Mapping[str, str] | None = None) -> Callable[[], None]:
    """The inline Pulumi program for ``spec``: declares the resources, exports spec and states."""

    def run() -> None:
        import pulumi

        resources = program.build(spec, _Context(new_secrets or {}))
        pulumi.export("spec", spec.model_dump(mode="json"))
        pulumi.export("resources", program.exports(spec, resources))

    return run


class IacRunner:
    """Preview / up / refresh / destroy for programs, one stack per environment."""

    def __init__(self, settings: Settings, workspace: Workspace | None = None) -> None:
        self.settings = settings
        self.workspace: Workspace = workspace or AutomationWorkspace(settings)
        self.rollback = RollbackStore(settings.home / "pulumi" / "rollback")
        self._stacks: dict[tuple[str, str], StackLike] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    # -- plumbing ------------------------------------------------------------------------
    async def _sdk(self, stack: str, operation: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one synchronous SDK call in a worker thread; failures become sophia-iac errors."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except Exception as exc:
            raise classify(exc, stack=stack, operation=operation) from exc

    def _env_vars(self, program: Program[Any]) -> dict[str, str]:
        env = {"PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_CONFIG_PASSPHRASE": resolve_secret(PASSPHRASE).reveal(),
               # dynamic providers (pgvector) run in a provider host started with this interpreter
               "PULUMI_PYTHON_CMD": sys.executable}
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        for var, (platform, name) in program.secret_env.items():
            env[var] = resolve_secret(SecretRef(platform, name)).reveal()
        return env

    async def _stack(self, program: Program[Any], environment: str) -> StackLike:
        key = (program.project, environment)
        if key not in self._stacks:
            name = f"{program.project}/{environment}"
            await self._sdk(name, "preflight", self.workspace.preflight)
            env = self._env_vars(program)
            self._stacks[key] = await self._sdk(name, "select", self.workspace.select_stack, program, environment, env)
        return self._stacks[key]

    @contextlib.asynccontextmanager
    async def _writer(self, program: Program[Any], environment: str) -> AsyncIterator[None]:
        """One writer per stack: an asyncio lock in-process, a file lock across processes."""
        lock = self._locks.setdefault((program.project, environment), asyncio.Lock())
        path = self.settings.home / "pulumi" / "locks" / f"{program.project}.{environment}.lock"
        async with lock:
            fh = await asyncio.to_thread(_flock, path, self.settings.iac_lock_timeout_seconds,
                                         f"{program.project}/{environment}")
            try:
                yield
            finally:
                fh.close()

    async def _retrying(self, stack: str, operation: str, fn: Callable[..., T], **kwargs: Any) -> T:
        """``fn`` with bounded retries while another update holds the stack."""
        retries = self.settings.iac_retries
        delay = self.settings.iac_retry_seconds
        for attempt in range(retries + 1):
            try:
                return await self._sdk(stack, operation, fn, **kwargs)
            except StackBusyError as exc:
                if attempt == retries:
                    exc.message = f"{exc.message}; gave up after {retries} retries"
                    raise
                log.warning("busy: another update on stack %s; retrying (%d/%d)", stack, attempt + 1, retries)
                await asyncio.sleep(delay * (attempt + 1))
        raise AssertionError("unreachable")

    # -- reads ---------------------------------------------------------------------------
    async def view(self, program: Program[Any], environment: str) -> StackView:
        """The stack as last applied (an empty spec for a new stack)."""
        stack = await self._stack(program, environment)
        name = f"{program.project}/{environment}"
        outputs = await self._sdk(name, "outputs", stack.outputs)
        spec = program.load(_value(outputs.get("spec")))
        resources = _value(outputs.get("resources")) or {}
        return StackView(spec, dict(resources))

    def journal(self, program: Program[Any], environment: str) -> dict[str, Any]:
        """The last change recorded per resource key."""
        return self.rollback.journal(program.project, environment)

    # -- operations ----------------------------------------------------------------------
    async def preview(self, program: Program[Any], environment: str, spec: Spec,
                      secrets: Mapping[str, str] | None = None) -> PlanSummary:
        """What applying ``spec`` would do; changes nothing."""
        stack = await self._stack(program, environment)
        events = _Events()
        name = f"{program.project}/{environment}"
        result = await self._retrying(name, "preview", stack.preview,
                                      program=inline_program(program, spec, secrets), on_event=events)
        return PlanSummary(name, _counts(result.change_summary), list(events.changes.values()))

    async def export(self, program: Program[Any], environment: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Export the stack and keep it as a rollback point: (reference, deployment)."""
        stack = await self._stack(program, environment)
        name = f"{program.project}/{environment}"
        exported = await self._sdk(name, "export", stack.export_stack)
        deployment = dict(getattr(exported, "deployment", None) or {})
        ref = await asyncio.to_thread(self.rollback.save, program.project, environment,
                                      int(getattr(exported, "version", 3) or 3), deployment)
        return ref, deployment

    async def up(self, program: Program[Any], environment: str, spec: Spec, secrets: Mapping[str, str] | None = None,
                 *, message: str = "", keys: tuple[str, ...] = ()) -> UpdateReport:
        """Apply ``spec``: export (the rollback point), store new secrets, update, record.

        Raises:
            PendingOperationsError: a crashed update left pending operations; the stack was
                refreshed and nothing was applied.
            StackBusyError: another update held the stack through every retry.
        """
        name = f"{program.project}/{environment}"
        async with self._writer(program, environment):
            stack = await self._stack(program, environment)
            ref, deployment = await self.export(program, environment)
            await self._refuse_pending(program, environment, deployment)
            from pulumi.automation import ConfigValue

            for key, value in (secrets or {}).items():
                await self._sdk(name, "config", stack.set_config, key, ConfigValue(value, secret=True))
            started = time.perf_counter()
            try:
                result = await self._retrying(name, "update", stack.up, program=inline_program(program, spec),
                                              on_event=_Events(), message=message[:200])
            except PendingOperationsError:
                await self.refresh(program, environment, adopt=True, locked=True)
                raise
            await self._sdk(name, "config", stack.set_config, SPEC_CONFIG_KEY,
                            ConfigValue(json.dumps(spec.model_dump(mode="json"), sort_keys=True)))
            summary = result.summary
            report = UpdateReport(
                stack=name, kind=str(summary.kind), result=str(summary.result), version=summary.version,
                counts=_counts(summary.resource_changes), export_ref=ref,
                resources=dict(_value(result.outputs.get("resources")) or {}),
                duration_seconds=time.perf_counter() - started,
            )
            if keys:
                entry = {"export_ref": ref["ref"], "update": report.summary()}
                await asyncio.to_thread(self.rollback.note, program.project, environment, dict.fromkeys(keys, entry))
            return report

    async def _refuse_pending(self, program: Program[Any], environment: str, deployment: Mapping[str, Any]) -> None:
        pending = deployment.get("pending_operations") or []
        if not pending:
            return
        name = f"{program.project}/{environment}"
        await self.refresh(program, environment, adopt=True, locked=True)
        ops = [{"urn": (p.get("resource") or {}).get("urn"), "interrupted_while": p.get("type")} for p in pending]
        raise PendingOperationsError(
            f"stack {name} has {len(pending)} operation(s) left pending by an interrupted update: those resources "
            "are in an unknown state",
            hint="the stack was refreshed and nothing was applied; check the resources on the platform, then run "
                 "the command again (pending creates need `pulumi refresh --clear-pending-creates` by hand; "
                 "sophia-iac never runs `pulumi cancel`)",
            details={"stack": name, "pending_operations": ops},
        )

    async def refresh(self, program: Program[Any], environment: str, *, adopt: bool = False,
                      locked: bool = False) -> DriftReport:
        """Compare the stack with the real resources; with ``adopt`` write what was found into the state."""
        name = f"{program.project}/{environment}"
        stack = await self._stack(program, environment)
        events = _Events()
        if not adopt:
            result = await self._retrying(name, "refresh", stack.preview_refresh, on_event=events)
            counts = _counts(result.change_summary)
        elif locked:
            result = await self._retrying(name, "refresh", stack.refresh, on_event=events)
            counts = _counts(result.summary.resource_changes)
        else:
            async with self._writer(program, environment):
                return await self.refresh(program, environment, adopt=True, locked=True)
        drifted = [c for c in events.changes.values() if c.op in ("update", "delete", "refresh", "replace")]
        return DriftReport(name, counts, drifted, adopted=adopt)

    async def destroy(self, program: Program[Any], environment: str) -> UpdateReport:
        """Delete every resource of the stack (destructive: approval rules apply). Exported first."""
        name = f"{program.project}/{environment}"
        async with self._writer(program, environment):
            stack = await self._stack(program, environment)
            ref, deployment = await self.export(program, environment)
            await self._refuse_pending(program, environment, deployment)
            started = time.perf_counter()
            result = await self._retrying(name, "destroy", stack.destroy, on_event=_Events())
            summary = result.summary
            return UpdateReport(name, str(summary.kind), str(summary.result), summary.version,
                                _counts(summary.resource_changes), ref, duration_seconds=time.perf_counter() - started)

    async def restore(self, program: Program[Any], environment: str, ref: str) -> None:
        """Import a rollback point back as the stack's state (by hand, after a bad update).

        This restores Pulumi's record, not the resources: run ``up`` (or undo) afterwards.
        """
        from pulumi.automation import Deployment

        saved = await asyncio.to_thread(self.rollback.load, ref)
        name = f"{program.project}/{environment}"
        async with self._writer(program, environment):
            stack = await self._stack(program, environment)
            await self._sdk(name, "import", stack.import_stack, Deployment(saved["version"], saved["deployment"]))


def _value(output: Any) -> Any:
    return getattr(output, "value", output)


def _flock(path: Path, timeout: float, stack: str) -> Any:
    """Take an exclusive lock on ``path`` within ``timeout`` seconds (the handle holds it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115 - closed by the caller, which releases the lock
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.close()
                raise BusyError(
                    f"busy: another sophia-iac update on stack {stack} is still running",
                    hint="wait for it to finish, then run the command again", details={"stack": stack},
                ) from None
            time.sleep(0.1)


"""Run an IaC program under ``pulumi.runtime.set_mocks``: no CLI, no plugins, no network.

The mocks stand in for the Pulumi engine (which can't run here: the CLI can't be installed).
:func:`run_program` records every resource the program registers — type, logical name,
inputs, provider, parent and dependencies (from the real RegisterResource request) — and
returns them with the resolved value the program function returned.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_root_resource

__all__ = ["Registered", "run_program"]

_RUN_LOCK = threading.Lock()

#: Outputs the real providers compute that programs consume, by resource type.
COMPUTED: dict[str, Callable[[str], dict[str, Any]]] = {
    "github:index/repository:Repository": lambda name: {"node_id": f"R_{name}", "full_name": name},
    "vercel:index/project:Project": lambda name: {},
}


@dataclass
class Registered:
    """One resource as the program registered it."""

    type: str
    name: str
    urn: str = ""
    id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    provider: str = ""
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, registered: dict[str, Registered]) -> None:
        self.registered = registered

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        rid = f"{args.name}-id"
        outputs = {**args.inputs, **COMPUTED.get(args.typ, lambda n: {})(args.name)}
        entry = self.registered.setdefault(args.name, Registered(args.typ, args.name))
        entry.inputs, entry.provider, entry.id = dict(args.inputs), args.provider or "", rid
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


class _Monitor(MockMonitor):
    def __init__(self, mocks: _Mocks) -> None:
        super().__init__(mocks)
        self.registered = mocks.registered

    def RegisterResource(self, request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":
            entry = self.registered.setdefault(request.name, Registered(request.type, request.name))
            entry.urn = self.make_urn(request.parent, request.type, request.name)
            entry.parent = request.parent
            entry.dependencies = list(request.dependencies)
            entry.property_dependencies = {k: list(v.urns) for k, v in request.propertyDependencies.items()}
        return super().RegisterResource(request)


def run_program(
    fn: Callable[[], Any], *, project: str = "sophia-test", stack: str = "prod",
    config: Mapping[str, str] | None = None, secret_keys: tuple[str, ...] = (),
) -> tuple[Any, dict[str, Registered]]:
    """Run ``fn`` (which declares resources and returns a value or Outputs) under mocks.

    ``config`` is the stack config (keys without the project namespace). Returns the resolved
    return value — or, when ``fn`` returns None (an inline program), its stack exports — and
    the registered resources by logical name. Safe to call from a worker thread; runs are
    serialised (the Pulumi runtime is global).
    """
    with _RUN_LOCK:
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            asyncio.set_event_loop(asyncio.new_event_loop())
        registered: dict[str, Registered] = {}
        mocks = _Mocks(registered)
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=_Monitor(mocks))
        pulumi.runtime.set_all_config({f"{project}:{k}": v for k, v in (config or {}).items()},
                                      [f"{project}:{k}" for k in secret_keys])
        root = get_root_resource()
        root.outputs.clear()  # type: ignore[union-attr]
        captured: dict[str, Any] = {}

        @pulumi.runtime.test
        def _go() -> Any:
            value = fn()
            if value is None:
                value = dict(root.outputs)  # type: ignore[union-attr]
            return pulumi.Output.from_input(value).apply(lambda resolved: captured.setdefault("value", resolved))

        _go()
        return captured.get("value"), registered

"""pgvector indexes as a Pulumi dynamic resource, managed through our own adapter.

The dynamic provider runs inside Pulumi's Python provider host and calls
:class:`adapters.ai.pgvector.PgVectorAdapter` (``SOPHIA_PGVECTOR_URL`` / the embedded server
under ``$SOPHIA_HOME``, read from the environment at run time, so no connection string is
ever serialised into the stack's state). A change of ``dimension`` or ``metric`` can't be
done in place: the provider asks for a delete-then-create replace, which the preview shows.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine, Mapping
from typing import Any, ClassVar, Literal, TypeVar

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pydantic import Field, ValidationError

from adapters.catalog import ActionCall
from iac.programs.base import Program, ProgramContext, Spec, Transition

__all__ = ["PROGRAM", "IndexSpec", "PgVectorIndex", "PgVectorIndexProvider", "PgVectorProgram", "PgVectorSpec",
           "pgvector_program"]

T = TypeVar("T")

#: Properties whose change needs a new table (delete first: the name is the table).
REPLACE_KEYS = ("name", "dimension", "metric")
KEYS = ("name", "dimension", "metric", "m", "ef_construction")


class IndexSpec(Spec):
    """One vector index: a ``vector(dimension)`` table with an HNSW index."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,54}$")
    dimension: int = Field(ge=1, le=16000)
    metric: Literal["cosine", "l2", "inner_product"] = "cosine"
    m: int = Field(default=16, ge=2, le=100)
    ef_construction: int = Field(default=64, ge=4, le=1000)


class PgVectorSpec(Spec):
    """Every index the stack manages, by name."""

    indexes: dict[str, IndexSpec] = Field(default_factory=dict)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    # Provider methods are called on the provider host's gRPC worker threads (no running loop).
    return asyncio.run(coro)


def _adapter() -> Any:
    from adapters.ai.pgvector import PgVectorAdapter
    from orchestrator.config import Settings

    return PgVectorAdapter(Settings())


def _outs(state: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: (state or {}).get(k) for k in KEYS}


def _call(action: str, name: str, params: Mapping[str, Any]) -> ActionCall:
    from adapters.registry import spec_for

    return spec_for(action).call(name, params)


class PgVectorIndexProvider(ResourceProvider):
    """CRUD for :class:`PgVectorIndex` through the pgvector adapter."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the inputs against :class:`IndexSpec`."""
        try:
            IndexSpec.model_validate({k: news.get(k) for k in KEYS if news.get(k) is not None})
        except ValidationError as err:
            failures = [CheckFailure(".".join(map(str, e["loc"])) or "inputs", e["msg"]) for e in err.errors()]
            return CheckResult(news, failures)
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Changed keys; name/dimension/metric need a replace (delete first)."""
        changed = [k for k in KEYS if olds.get(k) != news.get(k)]
        replaces = [k for k in changed if k in REPLACE_KEYS]
        return DiffResult(changes=bool(changed), replaces=replaces, stables=["name"] if "name" not in changed else [],
                          delete_before_replace=bool(replaces))

    def create(self, props: dict[str, Any]) -> CreateResult:
        """CREATE TABLE + HNSW index."""
        spec = IndexSpec.model_validate({k: props[k] for k in KEYS})
        call = _call("pgvector.index.create", spec.name, spec.model_dump(exclude={"name"}))
        adapter = _adapter()
        state = _run(adapter.execute(call, _run(adapter.observe(call))))
        return CreateResult(spec.name, _outs(state))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The index as PostgreSQL has it now (an empty id when it is gone)."""
        state = _run(_adapter().observe(_call("pgvector.index.delete", id_, {})))
        if state is None:
            return ReadResult(None, {})
        return ReadResult(id_, _outs(state), inputs=_outs(state))

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Rebuild the HNSW index with the new m / ef_construction."""
        call = _call("pgvector.index.configure", id_, {"m": news["m"], "ef_construction": news["ef_construction"]})
        adapter = _adapter()
        state = _run(adapter.execute(call, _run(adapter.observe(call))))
        return UpdateResult(_outs(state))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        """DROP TABLE."""
        call = _call("pgvector.index.delete", id_, {})
        adapter = _adapter()
        before = _run(adapter.observe(call))
        if before is not None:
            _run(adapter.execute(call, before))


class PgVectorIndex(pulumi.dynamic.Resource):
    """A pgvector index as a Pulumi resource."""

    dimension: pulumi.Output[int]
    metric: pulumi.Output[str]
    m: pulumi.Output[int]
    ef_construction: pulumi.Output[int]

    def __init__(self, resource_name: str, spec: IndexSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(PgVectorIndexProvider(), resource_name, spec.model_dump(), opts)


def pgvector_program(spec: PgVectorSpec) -> dict[str, pulumi.Resource]:
    """One :class:`PgVectorIndex` per spec entry."""
    return {f"index/{name}": PgVectorIndex(f"index-{name}", index) for name, index in sorted(spec.indexes.items())}


def _index_state(name: str, v: list[Any]) -> dict[str, Any]:
    return {"name": name, "dimension": v[0], "metric": v[1], "m": v[2], "ef_construction": v[3]}


class PgVectorProgram(Program[PgVectorSpec]):
    """pgvector.index.{create,configure,delete}."""

    name: ClassVar[str] = "pgvector"
    platform: ClassVar[str] = "pgvector"
    spec_model = PgVectorSpec
    handles: ClassVar[frozenset[str]] = frozenset({"pgvector.index.create", "pgvector.index.configure",
                                                   "pgvector.index.delete"})
    creates: ClassVar[frozenset[str]] = frozenset({"pgvector.index.create"})

    def build(self, spec: PgVectorSpec, ctx: ProgramContext) -> dict[str, Any]:
        return dict(pgvector_program(spec))

    def exports(self, spec: PgVectorSpec, resources: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in spec.indexes:
            res = resources[f"index/{name}"]
            out[f"index/{name}"] = pulumi.Output.all(res.dimension, res.metric, res.m, res.ef_construction).apply(
                functools.partial(_index_state, name)
            )
        return out

    def describe(self, spec: PgVectorSpec) -> dict[str, dict[str, Any]]:
        return {f"index/{name}": index.model_dump() for name, index in spec.indexes.items()}

    def key(self, call: ActionCall) -> str:
        return f"index/{(call.target or '').strip().lower()}"

    def transition(self, spec: PgVectorSpec, call: ActionCall) -> Transition[PgVectorSpec]:
        name, p, verb = (call.target or "").strip().lower(), call.params, call.action.rsplit(".", 1)[-1]
        indexes = dict(spec.indexes)
        if verb == "create":
            indexes[name] = IndexSpec(name=name, **p)
        elif verb == "configure":
            indexes[name] = indexes[name].model_copy(update={"m": p["m"], "ef_construction": p["ef_construction"]})
        else:
            indexes.pop(name, None)
        return Transition(PgVectorSpec(indexes=indexes))


PROGRAM = PgVectorProgram()

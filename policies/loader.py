"""Policy packs: YAML files of rules, compiled once at load; a bad pack is refused whole.

The shipped ``policies/packs/default.yaml`` always loads first, unless a pack on
``SOPHIA_POLICY_PATH`` (``os.pathsep``-separated files or directories of ``*.yaml``) says
``include_default: false``. A pack::

    pack: team-data
    version: 1
    defaults: {approvers: [data-leads], min_approvals: 1, ttl: 2h}
    environments:
      - {match: "snowflake:DEV_*", env: dev}
    rules:
      - id: no-xl-warehouses-in-dev
        description: dev warehouses stay small
        when: "change.action == 'snowflake.warehouse.scale' && env == 'dev' && change.params.size in ['XLARGE', 'XXLARGE']"
        effect: deny
      - id: spend-review
        builtin: spend_cap
        config: {limit_usd: 100}

Every problem is reported with file, line and rule id (:class:`PolicyPackError`): YAML
syntax, duplicate keys, aliases, unknown fields, CEL that doesn't compile or names an unknown
variable or function, a ``when`` that returns a non-boolean on a probe change, bad built-in
config, and a rule id used twice across packs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.errors import ConfigError
from policies.context import ActorInfo, ChangeInfo, PolicyContext
from policies.engine import PolicyEngine
from policies.environments import EnvironmentMap, EnvironmentMapping
from policies.expressions import ExpressionError, make_context
from policies.rules import PackDefaults, Rule, RuleConfigError, RuleSpec, build_rule
from policies.rules.base import RecentChanges

__all__ = [
    "DEFAULT_PACK",
    "LoadedPack",
    "PolicyPackError",
    "Problem",
    "check_pack",
    "load_engine",
    "load_pack",
    "pack_paths",
]

DEFAULT_PACK = Path(__file__).parent / "packs" / "default.yaml"
MAX_PACK_BYTES = 1_000_000


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack (``level`` error refuses it; warning doesn't)."""

    file: str
    line: int
    rule: str
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        rule = f" rule {self.rule}:" if self.rule else ""
        return f"{where}:{rule} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"file": self.file, "line": self.line, "rule": self.rule, "message": self.message,
                "level": self.level}


class PolicyPackError(ConfigError):
    """A pack that can't be used; ``problems`` lists every error with file, line and rule id."""

    code = "policy_pack_invalid"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = [p for p in problems if p.level == "error"]
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(
            f"policy pack refused ({len(self.problems)} problem{'s' * (len(self.problems) != 1)}):\n{lines}",
            hint="fix the pack and run `sophia-iac policy check PACK`",
            details={"problems": [p.to_dict() for p in self.problems]},
        )


@dataclass
class LoadedPack:
    """A parsed and compiled pack."""

    name: str
    file: str
    include_default: bool = True
    rules: list[Rule] = field(default_factory=list)
    environments: list[EnvironmentMapping] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(p.level == "error" for p in self.problems)


class _Mapping(dict[str, Any]):
    """A YAML mapping that remembers its line and each key's line (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _PackLoader(yaml.SafeLoader):
    """Safe YAML, plus: no aliases (no billion laughs), no duplicate keys, line numbers kept."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in policy packs", mark)
        return super().compose_node(parent, index)

    def construct_pack_mapping(self, node: yaml.MappingNode, deep: bool = False) -> _Mapping:
        """Construct a mapping, refusing duplicate keys."""
        result = _Mapping()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, f"keys must be strings, got {key!r}", key_node.start_mark
                )
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result


_PackLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _PackLoader.construct_pack_mapping)


class _PackHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack: str = Field(min_length=1, max_length=100)
    version: Literal[1] = 1
    description: str = ""
    include_default: bool = True
    defaults: PackDefaults = PackDefaults()
    environments: list[EnvironmentMapping] = Field(default_factory=list)
    rules: list[Any] = Field(default_factory=list)


def _line_of(data: Any, key: str | None = None) -> int:
    if isinstance(data, _Mapping):
        return data.key_lines.get(key, data.line) if key else data.line
    return 0


def _pydantic_problems(exc: ValidationError, file: str, data: Any, rule: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        line = _line_of(data, loc[0] if loc else None)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append(Problem(file, line, rule, f"{'.'.join(loc) or 'pack'}: {msg}"))
    return out


def _yaml_problem(file: str, exc: yaml.YAMLError) -> Problem:
    """A YAML error at the line where the broken construct starts (and where it was noticed)."""
    mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context and context_mark is not None:
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return Problem(file, context_mark.line + 1, "", f"YAML: {context}: {problem}{where}")
    return Problem(file, mark.line + 1 if mark is not None else 0, "", f"YAML: {problem}")


def _probe_contexts() -> list[PolicyContext]:
    """Representative changes every ``when`` is tried on at load (to catch non-boolean results)."""
    now = datetime(2026, 11, 18, 10, 30, tzinfo=UTC)
    operator = ActorInfo(id="probe-operator", roles=("operator",), groups=("platform",), source="cli:probe")
    viewer = ActorInfo(id="probe-viewer", roles=("viewer",), groups=(), source="slack:UPROBE")
    changes = [
        (ChangeInfo(action="snowflake.warehouse.scale", target="ETL_WH", params={"size": "LARGE"}), operator, "prod"),
        (ChangeInfo(action="pgvector.index.delete", target="docs", risk="destructive", reversible=False), viewer, "dev"),
        (ChangeInfo(action="openrouter.key.set_limit", target="ci", params={"limit_usd": 500}), operator, "prod"),
        (ChangeInfo(action="lambdalabs.instance.launch", target="train",
                    params={"instance_type": "gpu_8x_a100", "region": "us-west-1", "count": 2}), operator, "staging"),
        (ChangeInfo(action="gong.call.list", params={"since": "2026-11-01"}, risk="read"), viewer, "prod"),
    ]
    launch = {"name": "train", "instance_type": "gpu_8x_a100", "region": "us-west-1", "count": 2,
              "unit_usd_per_hour": 14.32, "usd_per_hour": 28.64}
    return [
        PolicyContext(change=c, actor=a, env=e, now=now, before={"size": "SMALL"} if i == 0 else None,
                      expected=launch if c.action == "lambdalabs.instance.launch" else None)
        for i, (c, a, e) in enumerate(changes)
    ]


def _probe(rule: Rule, file: str, line: int, contexts: list[Any]) -> list[Problem]:
    """Errors for non-boolean results; warnings for probes the expression fails on."""
    if rule.scope is None:
        return []
    out: list[Problem] = []
    failures: list[str] = []
    for ctx, cel_ctx in contexts:
        try:
            result = rule.scope.execute(cel_ctx)
        except Exception as exc:  # noqa: BLE001 — reported, not raised
            failures.append(f"{ctx.change.action}: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(result, bool):
            out.append(Problem(file, line, rule.id, f"when: must be true or false, got {type(result).__name__} "
                                                    f"{result!r} (for {ctx.change.action})"))
            break
    if failures:
        out.append(Problem(
            file, line, rule.id,
            f"when fails at run time on {len(failures)} probe change(s) — on such input the rule denies "
            f"(guard with has(...)): {failures[0]}",
            level="warning",
        ))
    return out


def load_pack(source: str | Path, *, text: str | None = None) -> LoadedPack:
    """Parse and compile one pack; problems are collected in :attr:`LoadedPack.problems`.

    Args:
        source: the pack's path (or a name, when ``text`` is given).
        text: the pack's YAML, if not read from ``source``.
    """
    file = str(source)
    pack = LoadedPack(name=Path(file).stem, file=file)
    if text is None:
        try:
            size = Path(file).stat().st_size
            if size > MAX_PACK_BYTES:
                pack.problems.append(Problem(file, 0, "", f"pack is {size} bytes; the limit is {MAX_PACK_BYTES}"))
                return pack
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            pack.problems.append(Problem(file, 0, "", f"can't read pack: {exc}"))
            return pack
    try:
        data = yaml.load(text, Loader=_PackLoader)
    except yaml.YAMLError as exc:
        pack.problems.append(_yaml_problem(file, exc))
        return pack
    if not isinstance(data, dict):
        pack.problems.append(Problem(file, 1, "", "a pack is a mapping with `pack`, `version` and `rules`"))
        return pack
    try:
        header = _PackHeader.model_validate(data)
    except ValidationError as exc:
        pack.problems += _pydantic_problems(exc, file, data, "")
        return pack
    pack.name = header.pack
    pack.include_default = header.include_default
    pack.environments = header.environments
    probes = [(c, make_context(c.cel_variables())) for c in _probe_contexts()]
    seen: dict[str, int] = {}
    for raw in header.rules:
        line = _line_of(raw)
        rule_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
        if not isinstance(raw, dict):
            pack.problems.append(Problem(file, line, "", "each rule is a mapping"))
            continue
        try:
            spec = RuleSpec.model_validate(raw)
        except ValidationError as exc:
            pack.problems += _pydantic_problems(exc, file, raw, rule_id)
            continue
        if spec.id in seen:
            pack.problems.append(Problem(file, line, spec.id, f"rule id also used on line {seen[spec.id]}"))
            continue
        seen[spec.id] = line
        try:
            rule = build_rule(spec, header.defaults, origin=f"{file}:{line}")
        except ExpressionError as exc:
            pack.problems.append(Problem(file, _line_of(raw, "when"), spec.id, f"when: {exc}"))
            continue
        except (RuleConfigError, ValueError) as exc:
            pack.problems.append(Problem(file, line, spec.id, str(exc)))
            continue
        pack.problems += _probe(rule, file, _line_of(raw, "when"), probes)
        pack.rules.append(rule)
    return pack


def check_pack(source: str | Path) -> list[Problem]:
    """Lint one pack: every error and warning (empty when clean). Used by ``policy check``."""
    return load_pack(source).problems


def pack_paths(policy_path: str | None = None) -> list[Path]:
    """The packs on ``policy_path`` (``SOPHIA_POLICY_PATH`` form), in order.

    Raises:
        PolicyPackError: an entry that doesn't exist.
    """
    if policy_path is None:
        policy_path = os.environ.get("SOPHIA_POLICY_PATH", "")
    out: list[Path] = []
    missing: list[Problem] = []
    for entry in filter(None, (p.strip() for p in policy_path.split(os.pathsep))):
        path = Path(entry).expanduser()
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        elif path.is_file():
            out.append(path)
        else:
            missing.append(Problem(str(path), 0, "", "no such pack file or directory (SOPHIA_POLICY_PATH)"))
    if missing:
        raise PolicyPackError(missing)
    return out


def load_engine(
    policy_path: str | None = None,
    *,
    default_environment: str = "prod",
    recent_changes: RecentChanges | None = None,
    include_default: bool = True,
) -> PolicyEngine:
    """Load the default pack plus the packs on ``policy_path`` into one engine.

    Rule ids must be unique across packs (a later pack can't redefine an earlier rule).
    Environment mappings from the extra packs are consulted before the default pack's.

    Raises:
        PolicyPackError: any pack has an error; nothing is loaded.
    """
    extra = [load_pack(p) for p in pack_paths(policy_path)]
    packs = ([load_pack(DEFAULT_PACK)] if include_default and all(p.include_default for p in extra) else []) + extra
    problems = [p for pack in packs for p in pack.problems if p.level == "error"]
    owner: dict[str, str] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.id in owner:
                problems.append(Problem(pack.file, 0, rule.id, f"rule id already defined in {owner[rule.id]}"))
            owner.setdefault(rule.id, pack.file)
    if problems:
        raise PolicyPackError(problems)
    mappings = [m for pack in extra for m in pack.environments]
    mappings += [m for pack in packs if pack not in extra for m in pack.environments]
    try:
        return PolicyEngine(
            [r for pack in packs for r in pack.rules],
            environments=EnvironmentMap(mappings, default=default_environment),
            recent_changes=recent_changes,
            packs=[p.name for p in packs],
        )
    except ValueError as exc:  # e.g. a pack rule named `roles` that isn't the roles built-in
        raise PolicyPackError([Problem(packs[-1].file if packs else "", 0, "", str(exc))]) from exc

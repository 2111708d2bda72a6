"""The MCP tool list: one tool per catalog action, plus the built-in ``sophia_*`` tools.

Everything here is derived from the catalog (:mod:`adapters.catalog`), never written by hand
per action:

* the **name** is the action id with dots as underscores (``pgvector.index.create`` →
  ``pgvector_index_create``);
* the **input schema** is the action's params model's JSON schema, flattened, plus ``target``
  (when the action takes one) and, for changes, ``plan_token``;
* the **description** is the catalog's summary, target, risk, inverse and first example;
* the **annotations** come from the spec: ``readOnlyHint`` for reads, ``destructiveHint`` from
  the risk, ``idempotentHint`` from the verb (:data:`IDEMPOTENT_VERBS`: setting a state twice
  leaves it as once), ``openWorldHint`` for every call that reaches a platform.

The server enforces what the annotations say (:mod:`orchestrator.interfaces.mcp_calls`): a
read tool runs as a dry run and can't reach apply, a change tool returns a plan first and
applies only with its plan token, and a caller sees (and may call) only the tools its role
allows. :func:`select_tools` chooses what a server exposes: ``platforms``, ``read_only`` and
the caller's role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.catalog import ActionSpec

__all__ = [
    "BUILTINS",
    "IDEMPOTENT_VERBS",
    "ToolDef",
    "action_tool",
    "default_platforms",
    "select_tools",
    "tool_name",
]

#: Verbs that set a state the params fully describe: a second identical call changes nothing.
#: (``create``, ``add``, ``invite``, ``rotate``, ``launch`` … are not: a second call makes
#: another one, or fails.)
IDEMPOTENT_VERBS = frozenset({
    "set", "set_auto_suspend", "set_limit", "set_topic", "unset", "scale", "configure", "update", "enable",
    "disable", "activate", "deactivate", "archive", "unarchive", "suspend", "resume", "grant", "revoke", "track",
    "untrack", "add_member", "remove_member",
})

PLAN_TOKEN = {"type": "string", "description": "omit to plan; the plan's token applies it"}


@dataclass(frozen=True)
class ToolDef:
    """One MCP tool: what a client sees, and what the server needs to run it.

    Attributes:
        name: the tool name (``pgvector_index_create``, ``sophia_do``).
        description: shown to the model.
        input_schema: JSON schema of the arguments.
        annotations: MCP ``ToolAnnotations`` fields (camelCase wire names).
        read: whether the tool only reads (listed with ``--read-only`` and to viewers).
        spec: the catalog action, for action tools; None for the built-ins.
    """

    name: str
    description: str
    input_schema: dict[str, Any]
    annotations: dict[str, Any] = field(default_factory=dict)
    read: bool = False
    spec: ActionSpec | None = None

    @property
    def role(self) -> str:
        """The least role that may see and call the tool."""
        return "viewer" if self.read else "operator"


def tool_name(action_id: str) -> str:
    """``pgvector_index_create`` for ``pgvector.index.create``."""
    return action_id.replace(".", "_")


def _describe(spec: ActionSpec) -> str:
    parts = [spec.summary.rstrip(".") + "."]
    if spec.target_required:
        parts.append(f"Target: {spec.target}.")
    if spec.risk.value == "read":
        parts.append("Read only.")
    else:
        undo = f"undo: {spec.inverse_hint}" if spec.inverse_hint else ("undoable" if spec.reversible else
                                                                       "irreversible")
        parts.append(f"Risk: {spec.risk.value} ({undo}).")
    if spec.secret_params:
        parts.append(f"Secret params ({', '.join(sorted(spec.secret_params))}) take secret://NAME only.")
    if spec.examples:
        parts.append(f'e.g. "{spec.examples[0]}"')
    return " ".join(parts)


def _compact(node: Any, names: bool = False) -> Any:
    """A JSON schema without pydantic's generated ``title`` on every field (tokens in every client's context).

    ``names``: ``node`` maps property names to schemas (a param may be *called* ``title``).
    """
    if isinstance(node, list):
        return [_compact(v) for v in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {k: _compact(v) for k, v in node.items()}
    return {k: _compact(v, names=k in ("properties", "$defs")) for k, v in node.items()
            if not (k == "title" and isinstance(v, str))}


def action_tool(spec: ActionSpec) -> ToolDef:
    """The tool for one catalog action."""
    schema = _compact(spec.json_schema())
    props: dict[str, Any] = {}
    required: list[str] = []
    if spec.target_required:
        props["target"] = {"type": "string", "description": f"the {spec.target}"}
        required.append("target")
    props.update(schema.get("properties", {}))
    required += list(schema.get("required", []))
    read = spec.risk.value == "read"
    if not read:
        props["plan_token"] = PLAN_TOKEN
    input_schema: dict[str, Any] = {"type": "object", "properties": props, "required": required,
                                    "additionalProperties": False}
    if "$defs" in schema:
        input_schema["$defs"] = schema["$defs"]
    annotations = {"readOnlyHint": read, "destructiveHint": spec.risk.value == "destructive",
                   "idempotentHint": read or spec.verb in IDEMPOTENT_VERBS, "openWorldHint": True}
    return ToolDef(tool_name(spec.id), _describe(spec), input_schema, annotations, read, spec)


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


_STR = {"type": "string"}

#: The built-in tools (not catalog actions): a command in words, status, history, explain, undo, approvals.
BUILTINS: tuple[ToolDef, ...] = (
    ToolDef("sophia_do", "Run a command in plain words, parsed like any other (e.g. \"create a vector index "
            "called docs with 384 dimensions\"). A change returns its plan and a plan_token first; call again "
            "with the same text and the plan_token to apply.",
            _obj({"text": {"type": "string", "description": "the command"}, "plan_token": PLAN_TOKEN}, ("text",)),
            {"title": "sophia do", "readOnlyHint": False, "destructiveHint": True, "idempotentHint": False,
             "openWorldHint": True}),
    ToolDef("sophia_status", "Health and inventory of one platform, or all (reads the platforms).",
            _obj({"platform": {"type": "string", "description": "one platform (default: all)"}}),
            {"title": "status", "readOnlyHint": True, "openWorldHint": True}, read=True),
    ToolDef("sophia_history", "Recorded changes from the ledger, newest first.",
            _obj({"platform": _STR, "target": _STR,
                  "since": {"type": "string", "description": "HH:MM (UTC), ISO time, or 30m / 2h / 1d"},
                  "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}}),
            {"title": "history", "readOnlyHint": True, "openWorldHint": False}, read=True),
    ToolDef("sophia_explain", "What policy would decide for a command, and which rules fired (nothing is run).",
            _obj({"text": {"type": "string", "description": "the command"}}, ("text",)),
            {"title": "explain", "readOnlyHint": True, "openWorldHint": False}, read=True),
    ToolDef("sophia_undo", "Undo a change (by change_id, or the last one, optionally on a platform) through the "
            "same pipeline: plan first, apply with plan_token.",
            _obj({"change_id": _STR, "platform": _STR, "plan_token": PLAN_TOKEN}),
            {"title": "undo", "readOnlyHint": False, "destructiveHint": True, "idempotentHint": False,
             "openWorldHint": True}),
    ToolDef("sophia_approvals", "Runs awaiting approval: what, who asked, who may decide, until when.",
            _obj({}), {"title": "approvals", "readOnlyHint": True, "openWorldHint": False}, read=True),
)


def default_platforms() -> list[str]:
    """Platforms with an adapter installed (catalog-only platforms can't be changed, so they aren't listed)."""
    from adapters.registry import known_platforms

    return known_platforms()


def select_tools(*, platforms: list[str] | None = None, read_only: bool = False,
                 role: str = "admin") -> list[ToolDef]:
    """The tools a server exposes to a caller.

    Args:
        platforms: catalog platforms to expose (default: those with an adapter).
        read_only: list only read tools.
        role: the caller's role; a viewer gets only read tools.
    """
    from adapters.registry import platform_specs
    from state.identities import role_allows

    chosen = platforms if platforms is not None else default_platforms()
    tools = [action_tool(spec) for name in chosen for spec in platform_specs(name)] + list(BUILTINS)
    return [t for t in tools if (t.read or not read_only) and role_allows(role, t.role)]

"""What the LLM parser sends: the relevant slice of the catalog, as prompt text and JSON schema.

The whole catalog does not fit a small model's prompt budget, so a cheap offline relevance
scorer (IDF-weighted word overlap with each action's id, summary, target words and example
utterances, plus platform, verb and inventory hits) picks the few actions worth showing.
Everything here is deterministic: the same text and inventory give byte-identical prompts
and schemas, which is what lets recorded cassettes replay.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from adapters.catalog import ActionSpec
from adapters.credentials import TOKEN_PATTERNS, scrub
from adapters.registry import all_specs, catalog_platforms
from orchestrator.state import Intent

__all__ = [
    "BUILTIN_FIELDS",
    "PLATFORM_ALIASES",
    "describe_actions",
    "describe_inventory",
    "mask_values",
    "mentioned_platforms",
    "output_schema",
    "relevant_specs",
    "words",
]

#: Ways people name platforms besides the catalog name.
PLATFORM_ALIASES: dict[str, tuple[str, ...]] = {
    "lambdalabs": ("lambda labs", "lambda cloud", "lambda"),
    "pgvector": ("pg vector", "postgres vector", "pgvector"),
    "openrouter": ("open router",),
    "hubspot": ("hub spot",),
    "usergems": ("user gems",),
    "github": ("gh", "git hub"),
    "snowflake": ("snow flake",),
}

#: Verb → words people use for it (a relevance signal only; the model decides).
VERB_SYNONYMS: dict[str, tuple[str, ...]] = {
    "create": ("new", "make", "add", "spin", "provision", "setup", "start", "open"),
    "scale": ("resize", "size", "bump", "upsize", "downsize", "bigger", "smaller", "grow", "shrink"),
    "suspend": ("pause", "stop", "sleep", "halt"),
    "resume": ("wake", "start", "unpause", "restart", "turn"),
    "drop": ("delete", "remove", "destroy", "kill", "nuke"),
    "delete": ("drop", "remove", "destroy", "kill", "nuke"),
    "terminate": ("kill", "delete", "destroy", "shut", "stop", "remove"),
    "archive": ("close", "retire", "shelve"),
    "unarchive": ("restore", "reopen", "revive"),
    "enable": ("turn", "start", "resume", "activate", "reenable", "unpause"),
    "disable": ("turn", "stop", "pause", "deactivate", "kill", "revoke"),
    "activate": ("start", "enable", "resume", "turn", "launch"),
    "deactivate": ("stop", "pause", "disable", "halt"),
    "grant": ("give", "assign", "add"),
    "revoke": ("remove", "take", "strip", "unassign"),
    "set": ("change", "update", "configure", "put"),
    "set_limit": ("limit", "cap", "budget", "raise", "lower"),
    "set_topic": ("topic", "change", "update"),
    "set_auto_suspend": ("auto", "suspend", "idle", "timeout"),
    "unset": ("remove", "delete", "drop", "clear"),
    "update": ("change", "rename", "relabel", "edit", "set"),
    "configure": ("tune", "set", "change"),
    "rotate": ("roll", "regenerate", "cycle", "renew"),
    "launch": ("start", "spin", "boot", "create", "provision"),
    "add": ("register", "upload", "attach", "put"),
    "remove": ("delete", "drop", "detach", "unregister"),
    "promote": ("ship", "release", "deploy", "production"),
    "rollback": ("revert", "back", "previous", "undo"),
    "invite": ("add", "bring", "pull"),
    "add_member": ("add", "join", "put"),
    "remove_member": ("remove", "kick", "drop", "take"),
    "add_to_sequence": ("add", "enroll", "enrol", "put"),
    "remove_from_sequence": ("remove", "unenroll", "unenrol", "take", "drop"),
    "track": ("watch", "follow", "monitor"),
    "untrack": ("unwatch", "unfollow", "stop"),
    "list": ("show", "list", "get", "fetch", "which", "who"),
    "get": ("show", "read", "fetch", "look", "metadata", "info"),
}

#: Actions scoring below this fraction of the best one are not shown (on the dev split the
#: expected action never scored below 0.65 of the best).
RELATIVE_FLOOR = 0.5

_STOP = frozenset({
    "a", "an", "the", "to", "of", "on", "in", "for", "and", "or", "with", "by", "at", "from", "as", "is",
    "are", "be", "it", "this", "that", "my", "our", "your", "me", "us", "please", "can", "could", "would",
    "you", "i", "we", "do", "does", "let", "s",
})
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lower-cased content words with a light plural/ing strip (``warehouses`` → ``warehouse``)."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in _STOP:
            continue
        if len(word) > 4 and word.endswith("ing"):
            word = word[:-3]
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def _phrase(alias: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])")


@lru_cache(maxsize=1)
def _platform_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    pairs = []
    for platform in catalog_platforms():
        for alias in (platform, *PLATFORM_ALIASES.get(platform, ())):
            pairs.append((platform, _phrase(alias)))
    return tuple(pairs)


def mentioned_platforms(text: str) -> list[str]:
    """Catalog platforms named in ``text`` (aliases included), in catalog order."""
    low = text.lower()
    return sorted({platform for platform, pattern in _platform_patterns() if pattern.search(low)})


def _spec_words(spec: ActionSpec) -> frozenset[str]:
    parts = [spec.platform, spec.resource.replace(".", " "), spec.verb.replace("_", " "), spec.summary, spec.target]
    parts.extend(PLATFORM_ALIASES.get(spec.platform, ()))
    parts.extend(VERB_SYNONYMS.get(spec.verb, ()))
    parts.extend(spec.examples)
    parts.extend(name.replace("_", " ") for name in spec.params.model_fields)
    return frozenset(words(" ".join(parts)))


#: When set, the model is shown only these actions: the catalog a set of cassettes was recorded
#: with (see :func:`catalog_as_recorded`). None: the whole catalog.
_PINNED: frozenset[str] | None = None


@contextmanager
def catalog_as_recorded(action_ids: Iterable[str]) -> Iterator[None]:
    """Build prompts from only ``action_ids``, as they were when a cassette was recorded.

    Actions appended to the catalog later change every prompt (the relevance weights are
    computed over the whole catalog), so replaying recorded answers needs the catalog the
    model actually saw. Unknown ids are an error: an action may be appended, never renamed.
    """
    global _PINNED
    ids = frozenset(action_ids)
    unknown = ids - {spec.id for spec in all_specs()}
    if unknown:
        raise ValueError(f"actions no longer in the catalog: {sorted(unknown)}")
    previous, _PINNED = _PINNED, ids
    try:
        yield
    finally:
        _PINNED = previous


def _index() -> tuple[tuple[ActionSpec, frozenset[str]], ...]:
    return _index_of(_PINNED)


@lru_cache(maxsize=4)
def _index_of(pinned: frozenset[str] | None) -> tuple[tuple[ActionSpec, frozenset[str]], ...]:
    return tuple((spec, _spec_words(spec)) for spec in all_specs() if pinned is None or spec.id in pinned)


def _idf() -> dict[str, float]:
    return _idf_of(_PINNED)


@lru_cache(maxsize=4)
def _idf_of(pinned: frozenset[str] | None) -> dict[str, float]:
    index = _index_of(pinned)
    counts: dict[str, int] = {}
    for _spec, bag in index:
        for word in bag:
            counts[word] = counts.get(word, 0) + 1
    total = len(index)
    return {word: math.log(1 + total / n) for word, n in counts.items()}


def _inventory_hits(text: str, inventory: Mapping[str, Sequence[str]]) -> set[str]:
    """``platform.resource`` keys whose inventory names (or their distinctive words) are in the text."""
    text_words = set(words(text))
    low = text.lower()
    hits = set()
    for key, names in inventory.items():
        for name in names:
            name_words = set(words(name)) - {"wh", "prod", "dev"}
            if name.lower() in low or (name_words and name_words <= text_words):
                hits.add(key)
    return hits


def relevant_specs(
    text: str, inventory: Mapping[str, Sequence[str]] | None = None, *, limit: int = 8
) -> list[ActionSpec]:
    """Up to ``limit`` catalog actions relevant to ``text``, best first (none if nothing fits).

    Score: IDF-weighted overlap of the text's words with the action's words, plus a bonus for
    a named platform, the action's verb (or a synonym), its resource noun, and inventory names
    of its resource type that the text mentions. Actions under :data:`RELATIVE_FLOOR` times
    the best score are left out.
    """
    text_words = set(words(text))
    if not text_words:
        return []
    idf = _idf()
    platforms = set(mentioned_platforms(text))
    inventory_keys = _inventory_hits(text, inventory or {})
    scored: list[tuple[float, int, ActionSpec]] = []
    for order, (spec, bag) in enumerate(_index()):
        score = sum(idf.get(word, 0.0) for word in text_words & bag)
        if spec.platform in platforms:
            score += 4.0
        verb_words = {*words(spec.verb.replace("_", " ")), *VERB_SYNONYMS.get(spec.verb, ())}
        if text_words & verb_words:
            score += 2.0
        if text_words & set(words(spec.resource.replace(".", " "))):
            score += 2.0
        if f"{spec.platform}.{spec.resource}" in inventory_keys:
            score += 3.0
        if score > 0:
            scored.append((score, order, spec))
    scored.sort(key=lambda item: (-item[0], item[1]))
    if not scored:
        return []
    floor = RELATIVE_FLOOR * scored[0][0]
    return [spec for score, _order, spec in scored[:limit] if score >= floor]


# -- prompt text ---------------------------------------------------------------------------


def _inline_refs(schema: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            return _inline_refs(defs.get(name, {}), defs)
        return {k: _inline_refs(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_refs(item, defs) for item in schema]
    return schema


def _params_schema(spec: ActionSpec) -> dict[str, Any]:
    raw = spec.json_schema()
    return dict(_inline_refs(raw, raw.get("$defs", {})))


def _type_words(prop: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return "one of " + "|".join(str(v) for v in prop["enum"])
    if "const" in prop:
        return f"always {prop['const']}"
    options = [p for p in prop.get("anyOf", []) if p.get("type") != "null"]
    if options:
        return " or ".join(_type_words(p) for p in options)
    kind = prop.get("type", "text")
    if kind == "array":
        return f"list of {_type_words(prop.get('items', {}))}"
    if kind == "object":
        return "object"
    return {"string": "text", "integer": "integer", "number": "number", "boolean": "true|false"}.get(
        str(kind), str(kind)
    )


def _describe_param(name: str, prop: Mapping[str, Any], required: bool) -> str:
    details = _type_words(prop)
    if not required and prop.get("default") is not None:
        details += f", default {prop['default']}"
    if prop.get("description") and "enum" not in prop:
        details += f"; {str(prop['description']).splitlines()[0][:60]}"
    return f"{name}{' (required)' if required else ''}: {details}"


def describe_action(spec: ActionSpec) -> str:
    """One prompt line: ``- id: summary. target: …. params: name (required): …; …``."""
    schema = _params_schema(spec)
    required = set(schema.get("required", []))
    params = [
        _describe_param(name, prop, name in required) for name, prop in schema.get("properties", {}).items()
    ]
    target = f"target: {spec.target}" if spec.target_required else "target: null"
    line = f"- {spec.id}: {spec.summary}. {target}."
    return line + (f" params: {' | '.join(params)}" if params else "")


def describe_actions(specs: Iterable[ActionSpec]) -> str:
    """The ``{actions}`` slot: one line per action, or a note that none fit."""
    lines = [describe_action(spec) for spec in specs]
    return "\n".join(lines) if lines else "(none fit this request)"


def describe_inventory(inventory: Mapping[str, Sequence[str]] | None, specs: Sequence[ActionSpec]) -> str | None:
    """The ``{inventory}`` slot: names of the resource types the shown actions act on (None: none known).

    Only those types are listed, so an unrelated inventory neither costs tokens nor tempts
    the model.
    """
    if not inventory:
        return None
    keys = {f"{spec.platform}.{spec.resource}" for spec in specs}
    lines = [f"{key}: {', '.join(names)}" for key, names in sorted(inventory.items()) if key in keys and names]
    return "; ".join(lines) if lines else None


# -- output schema -------------------------------------------------------------------------


def _lenient(prop: Any) -> Any:
    """A param's schema as the model may fill it: numbers may also come as text ("5 minutes").

    Ranges, lengths and patterns are dropped on purpose: the params model validates and
    normalises afterwards, and an out-of-range value the user asked for must reach that
    validation (to become a ``clarify``), not be silently clamped by constrained decoding.
    """
    if not isinstance(prop, dict):
        return prop
    if "anyOf" in prop:
        return {"anyOf": [_lenient(p) for p in prop["anyOf"]]}
    kind = prop.get("type")
    out: dict[str, Any] = {}
    if "enum" in prop:
        out["enum"] = list(prop["enum"])
        if kind:
            out["type"] = kind
    elif kind in ("integer", "number"):
        out["anyOf"] = [{"type": kind}, {"type": "string"}]
    elif kind == "array":
        out = {"type": "array", "items": _lenient(prop.get("items", {}))}
    elif kind == "object":
        out = {"type": "object"}
        if isinstance(prop.get("additionalProperties"), dict):
            out["additionalProperties"] = _lenient(prop["additionalProperties"])
    elif kind:
        out["type"] = kind
    return out


def _action_item(spec: ActionSpec) -> dict[str, Any]:
    schema = _params_schema(spec)
    params = {
        "type": "object",
        "properties": {name: _lenient(prop) for name, prop in schema.get("properties", {}).items()},
        "additionalProperties": False,
    }
    target: dict[str, Any] = {"type": "string"} if spec.target_required else {"type": "null"}
    return {
        "type": "object",
        "properties": {"action": {"const": spec.id}, "target": target, "params": params},
        "required": ["action", "target", "params"],
        "additionalProperties": False,
    }


#: The fields each built-in intent may carry (``*``: required). Everything else is left out
#: of that intent's branch, so constrained decoding can't pad an answer with made-up fields.
BUILTIN_FIELDS: dict[Intent, tuple[str, ...]] = {
    Intent.STATUS: ("platform", "target"),
    Intent.HISTORY: ("platform", "target", "since"),
    Intent.UNDO: ("change_id", "platform", "target", "since"),
    Intent.FREEZE: ("environment*", "until", "reason"),
    Intent.UNFREEZE: ("environment*",),
    Intent.APPROVE: ("run_id*",),
    Intent.REJECT: ("run_id*",),
    Intent.EXPLAIN: ("change_id",),
    Intent.HELP: ("topic",),
    Intent.CLARIFY: ("message",),
    Intent.REFUSE: ("message",),
}


def _field_schema(name: str) -> dict[str, Any]:
    if name == "platform":
        return {"type": "string", "enum": catalog_platforms()}
    if name == "environment":
        return {"type": "string", "enum": ["prod", "staging", "dev"]}
    if name in ("message", "reason"):
        return {"type": "string", "maxLength": 160}
    return {"type": "string", "maxLength": 80}


def _branch(intent: Intent, fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"intent": {"const": intent.value}, **fields},
        "required": ["intent", *required],
        "additionalProperties": False,
    }


def output_schema(specs: Sequence[ActionSpec]) -> dict[str, Any]:
    """The JSON schema of the model's answer: one branch per intent, and for ``action`` only the given actions.

    Each branch allows only that intent's fields. Params are optional, so a required param
    the user did not give shows up as missing in validation (→ ``clarify``) instead of being
    made up to satisfy the grammar.
    """
    branches = []
    if specs:
        actions = {"type": "array", "items": {"anyOf": [_action_item(s) for s in specs]}}
        branches.append(_branch(Intent.ACTION, {"actions": actions}, ["actions"]))
    for intent, names in BUILTIN_FIELDS.items():
        fields = {name.rstrip("*"): _field_schema(name.rstrip("*")) for name in names}
        branches.append(_branch(intent, fields, [n.rstrip("*") for n in names if n.endswith("*")]))
    return {"anyOf": branches}


# -- masking -------------------------------------------------------------------------------

_SSH_KEY = re.compile(r"\b(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com) "
                      r"[A-Za-z0-9+/]{12,}={0,3}(?: [^\s\"']+)?")
_SECRET_ASSIGN = re.compile(
    r"(?i)\b[A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|ACCESS_KEY)[A-Z0-9_]*"
    r"(?:\s*=\s*|\s+to\s+)[\"']?([^\s\"']{6,})"
)
_OPAQUE = re.compile(r"(?<![\w/.-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}(?![\w/.-])")


def mask_values(text: str) -> tuple[str, dict[str, str]]:
    """Replace secrets and long opaque values with short placeholders (``<<V1>>``).

    Secrets (token shapes the scrubber knows, registered secret values, values assigned to
    ``*_SECRET`` / ``*_TOKEN`` / ``*PASSWORD*`` names) must never reach a prompt or a
    cassette; long SSH keys and opaque ids are masked too, because a small model copies
    a placeholder reliably and a 300-character key not at all. Returns the masked text and
    the placeholder → original mapping used to put the values back into params.
    """
    restore: dict[str, str] = {}

    def placeholder(value: str) -> str:
        for key, original in restore.items():
            if original == value:
                return key
        key = f"<<V{len(restore) + 1}>>"
        restore[key] = value
        return key

    spans: list[tuple[int, int]] = []
    for pattern in (_SSH_KEY, *TOKEN_PATTERNS, _OPAQUE):
        spans.extend(m.span() for m in pattern.finditer(text))
    spans.extend(m.span(1) for m in _SECRET_ASSIGN.finditer(text))
    # A registered secret the patterns don't know: the scrubber finds it.
    if scrub(text) != text:
        for word in re.findall(r"\S+", text):
            if scrub(word) != word:
                start = text.find(word)
                spans.append((start, start + len(word)))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    out, last = [], 0
    for start, end in merged:
        out.append(text[last:start])
        out.append(placeholder(text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out), restore

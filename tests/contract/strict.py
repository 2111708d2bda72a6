"""Strict contract mode: request bodies are validated with unknown properties refused.

Prism checks a body's declared properties but accepts any it doesn't know, so a misspelt field
(``auto_suspnd``) passes a contract test while the vendor would reject or ignore it. This module
validates each body the adapters send against the operation's request-body schema in the very
document Prism serves, rewritten for strictness:

* every object schema is closed (``additionalProperties: false``) unless the document allows
  more (``additionalProperties: true`` or a schema), or declares no property names at all (a
  bare ``type: object``: a free-form map by the usual OpenAPI convention);
* ``allOf``: the union of the members' property names is allowed (each member is closed over
  that union, never over its own names alone);
* ``oneOf`` / ``anyOf``: valid against at least one branch under strict rules, each branch
  allowed the names declared beside it (sibling ``properties``, ``allOf``);
* ``$ref`` is resolved, across files too (Snowflake's ``common.yaml``); a recursive reference is
  accepted as is past its first expansion;
* OpenAPI 3.0 ``nullable`` (and Swagger's ``x-nullable``) become a ``"null"`` type, 3.0's boolean
  ``exclusiveMinimum``/``exclusiveMaximum`` the numeric form; 3.1 type arrays are JSON Schema.

Swagger 2.0 documents (Slack, Weaviate) are read too: an ``in: body`` parameter's schema, or the
``formData`` parameters as one object. Form bodies are checked for their field names only (their
values arrive as text, which typed schemas can't judge). Each document is loaded, and each
operation's validator built, once per session, on first use.

:data:`ALLOWED` lists the fields a vendor's document is known to get wrong; every entry says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import jsonschema
import yaml

__all__ = ["ALLOWED", "Allowance", "forget", "register", "strict_schema", "strict_violations"]

_SERVED: dict[int, Path] = {}
_VALUE_KEYWORDS = (
    "type", "enum", "const", "minimum", "maximum", "multipleOf", "minLength", "maxLength",
    "pattern", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties", "required",
)  # fmt: skip
_JSON = re.compile(r"^application/(.+\+)?json$")
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Allowance:
    """Undeclared properties strict mode lets through on one operation: the vendor's document is wrong.

    ``spec`` is the document's folder and file name (``portkey/openapi.yaml``), ``method`` and
    ``path`` (the template) the operation, ``field`` the dotted body location of the object
    (``""``: the body itself), ``names`` the properties let through there (empty: any). Only
    unknown-property findings are waived, never a declared field's type or value. ``why`` cites the evidence.
    """

    spec: str
    method: str
    path: str
    field: str
    names: tuple[str, ...]
    why: str

    def waives(self, spec: str, op: _Operation, violation: dict[str, Any]) -> bool:
        """Whether ``violation`` (found on ``op`` of ``spec``) is one this entry lets through."""
        return (
            (self.spec, self.method, self.path) == (spec, op.method, op.template)
            and violation["code"] == "strict:additionalProperties"
            and ".".join(violation["location"][2:]) == self.field
            and (not self.names or set(violation["unexpected"]) <= set(self.names))
        )


#: Body fields a vendor's document omits or gets wrong, let through on purpose (each says why).
ALLOWED: list[Allowance] = [
    # Portkey's updateConfig declares `config` as {virtual_key} alone, yet the same document's
    # createConfig (POST /configs) takes `config` as a free-form object (its example:
    # {"retry": {"attempts": 3}}) and getConfig returns it with retry, cache, strategy and
    # targets: a config is a whole gateway config (portkey.ai/docs, "Configs"). The adapter
    # sends back the config it read with one change, so its keys are Portkey's own.
    Allowance(
        "portkey/openapi.yaml",
        "PUT",
        "/configs/{slug}",
        "config",
        (),
        "Portkey documents an update's config as {virtual_key} only; create and get say it is the "
        "whole gateway config",
    ),
]


def register(port: int, spec: Path) -> None:
    """Prism on ``port`` serves ``spec`` (bodies sent there are validated against it)."""
    _SERVED[port] = spec.resolve()


def forget(port: int) -> None:
    """The server on ``port`` has stopped."""
    _SERVED.pop(port, None)


@cache
def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _pointer(doc: Any, pointer: str) -> Any:
    node = doc
    for part in filter(None, pointer.split("/")):
        part = unquote(part).replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


class _Strictifier:
    """Rewrites one document's schemas for strict validation (see the module doc)."""

    def __init__(self, spec: Path) -> None:
        self.spec = spec
        self.oas30 = str(_load(spec).get("openapi", "")).startswith("3.0") or "swagger" in _load(spec)

    def deref(self, node: Any, base: Path, stack: tuple[str, ...] = ()) -> tuple[Any, Path, tuple[str, ...]]:
        """Follow ``$ref`` chains; ``stack`` holds the references being expanded (cycle guard)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            file, _, pointer = node["$ref"].partition("#")
            target = (base.parent / file).resolve() if file else base
            key = f"{target}#{pointer}"
            if key in stack:
                return True, target, stack
            node, base, stack = _pointer(_load(target), pointer), target, (*stack, key)
        return node, base, stack

    def names(self, node: Any, base: Path, stack: tuple[str, ...] = ()) -> tuple[set[str], bool]:
        """The property names ``node`` declares, through its compositions, and whether it is open."""
        node, base, stack = self.deref(node, base, stack)
        if not isinstance(node, dict):
            return set(), node is True
        extra = node.get("additionalProperties")
        found, open_ = set(node.get("properties") or {}), extra is True or isinstance(extra, dict)
        for key in ("allOf", "anyOf", "oneOf"):
            for member in node.get(key) or []:
                more, member_open = self.names(member, base, stack)
                found |= more
                open_ = open_ or (key == "allOf" and member_open)
        return found, open_

    def strict(
        self, node: Any, base: Path, scope: frozenset[str] | None = frozenset(), stack: tuple[str, ...] = ()
    ) -> Any:
        """``node`` as strict JSON Schema; ``scope`` adds names allowed by the enclosing composition
        (None: this level is open)."""
        node, base, stack = self.deref(node, base, stack)
        if not isinstance(node, dict):
            return node if isinstance(node, bool) else {}
        out: dict[str, Any] = {k: node[k] for k in _VALUE_KEYWORDS if k in node}
        self._values(node, out)
        extra = node.get("additionalProperties")
        own = set(node.get("properties") or {})
        joined, joined_open = set(), False
        for member in node.get("allOf") or []:
            more, member_open = self.names(member, base, stack)
            joined, joined_open = joined | more, joined_open or member_open
        branches = [*(node.get("anyOf") or []), *(node.get("oneOf") or [])]
        here = (
            None
            if scope is None or joined_open or extra is True or isinstance(extra, dict)
            else (scope | own | joined)
        )
        fresh = frozenset[str]()
        out["properties"] = {
            k: self.strict(v, base, fresh, stack) for k, v in (node.get("properties") or {}).items()
        }
        if isinstance(extra, bool):
            out["additionalProperties"] = extra
        elif isinstance(extra, dict):
            out["additionalProperties"] = self.strict(extra, base, fresh, stack)
        if isinstance(node.get("patternProperties"), dict):
            out["patternProperties"] = {
                p: self.strict(s, base, fresh, stack) for p, s in node["patternProperties"].items()
            }
        items = node.get("items")
        if isinstance(items, list):
            out["prefixItems"] = [self.strict(i, base, fresh, stack) for i in items]
        elif items is not None:
            out["items"] = self.strict(items, base, fresh, stack)
        if node.get("allOf"):
            branch_names = (
                set().union(*(self.names(b, base, stack)[0] for b in branches)) if branches else set()
            )
            members = None if here is None else frozenset(here | branch_names)
            out["allOf"] = [self.strict(m, base, members, stack) for m in node["allOf"]]
        for key in ("anyOf", "oneOf"):  # oneOf as anyOf: at least one branch, under strict rules
            if node.get(key):
                group = {"anyOf": [self.strict(b, base, here, stack) for b in node[key]]}
                out.setdefault("allOf", []).append(group)
        objectish = bool(own or joined or scope) or "object" in _types(node)
        if here and objectish and not branches and extra is None:
            out["additionalProperties"] = False
            for name in here - own:
                out["properties"][name] = True
        return out

    def _values(self, node: dict[str, Any], out: dict[str, Any]) -> None:
        """Value keywords in 2020-12 form: ``nullable``, boolean exclusive bounds, bad patterns."""
        if self.oas30:
            for bound, edge in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
                if node.get(bound) is True and edge in node:
                    out[bound] = out.pop(edge)
        elif isinstance(node.get("exclusiveMinimum"), int | float):
            out["exclusiveMinimum"] = node["exclusiveMinimum"]
        if not self.oas30 and isinstance(node.get("exclusiveMaximum"), int | float):
            out["exclusiveMaximum"] = node["exclusiveMaximum"]
        if out.get("type") == "file":
            del out["type"]
        if node.get("nullable") is True or node.get("x-nullable") is True:
            if "type" in out:
                types = out["type"] if isinstance(out["type"], list) else [out["type"]]
                out["type"] = [*types, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        if "pattern" in out:
            try:
                re.compile(out["pattern"])
            except (re.error, TypeError):
                del out["pattern"]  # an ECMA-only pattern: Prism judges it


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("type")
    return kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []


def strict_schema(spec: Path, schema: Any, base: Path | None = None) -> Any:
    """``schema`` (a node of ``spec``) rewritten for strict validation."""
    return _Strictifier(spec).strict(schema, base or spec)


@dataclass
class _Operation:
    spec: Path
    method: str
    template: str
    body: dict[str, tuple[Any, Path]]  # media type → (schema, the file it is in)
    form_fields: set[str] | None  # Swagger 2.0 formData names (None: none declared)


@cache
def _operations(spec: Path) -> list[tuple[re.Pattern[str], int, _Operation]]:
    doc = _load(spec)
    found = []
    for template, item in (doc.get("paths") or {}).items():
        item, base, _ = _Strictifier(spec).deref(item, spec)
        parts = re.split(r"(\{[^}]+\})", template)
        pattern = re.compile(
            "^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "/?$"
        )
        literal = len(re.sub(r"\{[^}]+\}", "", template))
        for method, op in item.items():
            if not isinstance(op, dict) or method.startswith("x-") or method == "parameters":
                continue
            found.append((pattern, literal, _operation(spec, base, method.upper(), template, item, op)))
    return found


def _operation(spec: Path, base: Path, method: str, template: str, item: Any, op: Any) -> _Operation:
    deref = _Strictifier(spec).deref
    body: dict[str, tuple[Any, Path]] = {}
    form: set[str] | None = None
    if "requestBody" in op:
        request_body, where, _ = deref(op["requestBody"], base)
        for media, content in (request_body.get("content") or {}).items():
            body[media.split(";")[0].strip().lower()] = (content.get("schema", True), where)
    for param in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
        param, where, _ = deref(param, base)
        if param.get("in") == "body":
            body["application/json"] = (param.get("schema", True), where)
        elif param.get("in") == "formData":
            form = (form or set()) | {param["name"]}
    return _Operation(spec, method, template, body, form)


def _find(spec: Path, method: str, path: str) -> _Operation | None:
    matches = [
        (literal, op)
        for pattern, literal, op in _operations(spec)
        if op.method == method and pattern.match(path)
    ]
    return max(matches, key=lambda m: m[0])[1] if matches else None


@cache
def _validator(op_key: tuple[Path, str, str], media: str) -> jsonschema.protocols.Validator:
    spec, method, template = op_key
    op = next(o for _, _, o in _operations(spec) if (o.method, o.template) == (method, template))
    schema, where = op.body[media]
    strict = _Strictifier(spec).strict(schema, where)
    return jsonschema.Draft202012Validator(
        strict if isinstance(strict, dict) else {} if strict else {"not": {}}
    )


def strict_violations(request: httpx.Request) -> list[dict[str, Any]]:
    """What strict mode finds in ``request``'s body, as Prism-style ``request.body…`` violations.

    Nothing when the request did not go to a registered Prism server or carries no body.
    """
    spec = _SERVED.get(request.url.port or 0)
    try:
        content = request.content
    except httpx.RequestNotRead:
        content = b""
    if spec is None or not content:
        return []
    op = _find(spec, request.method, unquote(request.url.path))
    if op is None:
        return []  # Prism reports an unknown route itself
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    found = list(_check(op, media, content))
    named = f"{spec.parent.name}/{spec.name}"
    return [v for v in found if not any(a.waives(named, op, v) for a in ALLOWED)]


def _check(op: _Operation, media: str, content: bytes) -> Iterator[dict[str, Any]]:
    where = f"{op.method} {op.template} ({op.spec.name})"
    if media == _FORM and (op.form_fields is not None or _FORM in op.body):
        if op.form_fields is not None:
            allowed, open_ = op.form_fields, False
        else:
            allowed, open_ = _Strictifier(op.spec).names(*op.body[_FORM])
        for name, _ in parse_qsl(content.decode("utf-8", "replace"), keep_blank_values=True):
            if not open_ and name not in allowed:
                yield _violation(
                    [name], "additionalProperties", f"form field {name!r} is not declared by {where}"
                )
        return
    target = media if media in op.body else next((m for m in op.body if _JSON.match(m) or m == "*/*"), None)
    if target is None or not (_JSON.match(media) or media == ""):
        if not op.body and op.form_fields is None:
            yield _violation([], "noBody", f"a body was sent but {where} declares none")
        return
    try:
        data = json.loads(content)
    except ValueError:
        yield _violation([], "json", f"the body is not JSON ({where})")
        return
    for error in _validator((op.spec, op.method, op.template), target).iter_errors(data):
        deepest = _closest(error)
        path, message = [*deepest.absolute_path], f"{deepest.message} ({where}, strict)"
        yield _violation(path, str(deepest.validator), message, _unexpected(deepest))


def _closest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For an ``anyOf`` no branch met, the first complaint of the branch that came closest.

    Closest: the branch whose type fits the value, then the one with the fewest complaints (so a
    misspelt field in an object reads as that, not as "not valid under any of the given schemas").
    """
    while error.context:
        branches: dict[Any, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        errors = min(
            branches.values(),
            key=lambda errs: (any(e.validator == "type" and not e.relative_path for e in errs), len(errs)),
        )
        error = errors[0]
    return error


def _unexpected(error: jsonschema.ValidationError) -> list[str]:
    """The property names an ``additionalProperties`` error refused."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    schema = error.schema if isinstance(error.schema, dict) else {}
    patterns = list(schema.get("patternProperties") or {})
    return sorted(
        k
        for k in error.instance
        if k not in (schema.get("properties") or {}) and not any(re.search(p, k) for p in patterns)
    )


def _violation(
    path: list[Any], code: str, message: str, unexpected: list[str] | None = None
) -> dict[str, Any]:
    return {
        "location": ["request", "body", *map(str, path)],
        "severity": "Error",
        "code": f"strict:{code}",
        "message": message,
        "unexpected": unexpected or [],
    }

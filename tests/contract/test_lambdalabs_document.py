"""The hand-written Lambda Labs contract, checked against Lambda's own document (v1.10).

Lambda's OpenAPI document has no clear licence, so the project carries only its own contract
(``fixtures/lambdalabs/openapi.yaml``). Where a copy of the vendor's document is at hand
(``SOPHIA_SPECS_DIR`` or ``../shared/specs``; :func:`~.provision.unclear_document` skips, saying
so, where it is not — the one skip allowed here) these tests check that

* every operation, status and parameter of the contract is the vendor's, its security scheme is
  one the vendor accepts, every request schema is at least as strict as the vendor's (the fields
  it requires, its length/item bounds and patterns) and declares no field the vendor does not,
  and every response field the contract promises (and the adapter reads) is one the vendor
  documents, with the same type, and is required only where the vendor requires it;
* the contract's examples and the state model's answers validate against the vendor's schemas
  (with unknown fields refused), so the tests never feed the adapter a shape Lambda doesn't send;
* the adapter's own requests, for every catalog action, pass Prism serving the VENDOR'S document
  (and strict mode over it);
* the comparison can fail: a copy of the contract with a renamed field, a looser bound, an
  undeclared status or an invented response field is caught.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from adapters.dev.lambdalabs import LambdaLabsAdapter
from adapters.registry import spec_for

from .common import pointed_at
from .handwritten import serve_fixture
from .lambdalabs_twin import FIXTURE, SSH_KEY, LambdaLabsTwin
from .prism import PrismServer, RecordingTransport, assert_no_request_violations
from .provision import unclear_document
from .steered import Sleeps
from .strict import strict_schema
from .test_lambdalabs_contract import CASES, TOKEN

_BOUNDS_MAX = ("maxLength", "maxItems", "maximum")
_BOUNDS_MIN = ("minLength", "minItems", "minimum")
_JSON = "application/json"


@pytest.fixture(scope="module")
def vendor() -> Path:
    """Lambda's own document, or skip saying where it was looked for (licence unclear: not shipped)."""
    return unclear_document("lambdalabs")


def _load(path: Path) -> Any:
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


class Docs:
    """The two documents side by side, ``$ref`` resolved within each."""

    def __init__(self, mine: Any, theirs: Any) -> None:
        self.mine, self.theirs = mine, theirs

    @staticmethod
    def deref(doc: Any, node: Any) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target: Any = doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node if isinstance(node, dict) else {}

    def props(self, doc: Any, node: Any) -> tuple[dict[str, Any], set[str]]:
        """Properties and required names of ``node``, through ``allOf``/``anyOf``/``oneOf``."""
        node = self.deref(doc, node)
        found, required = dict(node.get("properties") or {}), set(node.get("required") or [])
        for key in ("allOf", "anyOf", "oneOf"):
            branches = [self.props(doc, member) for member in node.get(key) or []]
            for more, _ in branches:
                found = {**more, **found}
            if branches:  # allOf: each member's; anyOf/oneOf: what every branch requires
                reqs = [req for _, req in branches]
                required |= set().union(*reqs) if key == "allOf" else set.intersection(*reqs)
        return found, required

    @staticmethod
    def types(node: dict[str, Any]) -> set[str]:
        kind = node.get("type")
        return set(kind) if isinstance(kind, list) else {kind} if kind else set()

    def compare(self, mine: Any, theirs: Any, where: str, *, request: bool) -> list[str]:
        """Problems with ``mine`` (a contract schema) as a view of ``theirs`` (the vendor's)."""
        m, t = self.deref(self.mine, mine), self.deref(self.theirs, theirs)
        problems = []
        if self.types(m) and self.types(t) and not self.types(m) <= self.types(t):
            problems.append(f"{where}: type {sorted(self.types(m))} but the vendor says {sorted(self.types(t))}")
        if "enum" in m and "enum" in t and not set(m["enum"]) <= set(t["enum"]):
            problems.append(f"{where}: enum values {sorted(set(m['enum']) - set(t['enum']))} are not the vendor's")
        if request:
            problems += [f"{where}: no {k} (the vendor's is {t[k]})" for k in (*_BOUNDS_MAX, *_BOUNDS_MIN, "pattern")
                         if k in t and k not in m]
            problems += [f"{where}: {k} {m[k]} is looser than the vendor's {t[k]}" for k in _BOUNDS_MAX
                         if k in t and k in m and m[k] > t[k]]
            problems += [f"{where}: {k} {m[k]} is looser than the vendor's {t[k]}" for k in _BOUNDS_MIN
                         if k in t and k in m and m[k] < t[k]]
            if "pattern" in t and m.get("pattern", t["pattern"]) != t["pattern"]:
                problems.append(f"{where}: pattern differs from the vendor's")
        m_props, m_req = self.props(self.mine, m)
        t_props, t_req = self.props(self.theirs, t)
        for name, sub in m_props.items():
            if name not in t_props:
                problems.append(f"{where}.{name}: the vendor's schema has no such field")
            else:
                problems += self.compare(sub, t_props[name], f"{where}.{name}", request=request)
        if request and not t_req <= m_req:
            problems.append(f"{where}: the vendor requires {sorted(t_req - m_req)}, the contract does not")
        if not request and not m_req <= t_req:
            problems.append(f"{where}: promises {sorted(m_req - t_req)}, which the vendor may leave out")
        for key in ("items", "additionalProperties"):
            if isinstance(m.get(key), dict) and isinstance(t.get(key), dict):
                problems += self.compare(m[key], t[key], f"{where}[{key}]", request=request)
        return problems

    def operation_problems(self) -> list[str]:
        problems = []
        schemes = self.theirs.get("components", {}).get("securitySchemes", {})
        for name, scheme in self.mine["components"]["securitySchemes"].items():
            if not any(s.get("type") == scheme["type"] and s.get("scheme") == scheme.get("scheme")
                       for s in schemes.values()):
                problems.append(f"security {name}: the vendor accepts no {scheme}")
        for path, item in self.mine["paths"].items():
            theirs = self.theirs["paths"].get(path)
            if theirs is None:
                problems.append(f"{path}: not in the vendor's document")
                continue
            for method, op in item.items():
                problems += self._operation(f"{method.upper()} {path}", op, theirs.get(method))
        return problems

    def _operation(self, where: str, op: dict[str, Any], theirs: dict[str, Any] | None) -> list[str]:
        if theirs is None:
            return [f"{where}: not in the vendor's document"]
        problems = [f"{where}: status {s} is not declared by the vendor"
                    for s in op["responses"] if s not in theirs["responses"]]
        params = {(p["name"], p["in"]) for p in theirs.get("parameters") or []}
        problems += [f"{where}: parameter {p['name']} ({p['in']}) is not the vendor's"
                     for p in op.get("parameters") or [] if (p["name"], p["in"]) not in params]
        if "requestBody" in op:
            mine = op["requestBody"]["content"][_JSON]["schema"]
            body = self.deref(self.theirs, theirs.get("requestBody"))
            problems += self.compare(mine, body["content"][_JSON]["schema"], f"{where} body", request=True)
        for status, response in op["responses"].items():
            if status in theirs["responses"]:
                m = self.deref(self.mine, response)["content"][_JSON]["schema"]
                t = self.deref(self.theirs, theirs["responses"][status])["content"][_JSON]["schema"]
                problems += self.compare(m, t, f"{where} {status}", request=False)
        return problems


@pytest.fixture(scope="module")
def docs(vendor: Path) -> Docs:
    return Docs(_load(FIXTURE), _load(vendor))


def test_every_operation_status_parameter_and_field_is_the_vendors(docs: Docs) -> None:
    assert docs.operation_problems() == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["paths"]["/api/v1/ssh-keys"]["post"]["requestBody"]["content"][_JSON]["schema"]["properties"]
         .update(pubkey={"type": "string"}), "body.pubkey: the vendor's schema has no such field"),
        (lambda d: d["paths"]["/api/v1/ssh-keys"]["post"]["requestBody"]["content"][_JSON]["schema"]["properties"]
         ["name"].update(maxLength=128), "maxLength 128 is looser than the vendor's 64"),
        (lambda d: d["paths"]["/api/v1/instance-operations/launch"]["post"]["requestBody"]["content"][_JSON]
         ["schema"]["required"].remove("ssh_key_names"), "the vendor requires ['ssh_key_names']"),
        (lambda d: d["paths"]["/api/v1/instances"]["get"]["responses"].update({"429": {}}),
         "status 429 is not declared by the vendor"),
        (lambda d: d["components"]["schemas"]["Instance"]["properties"].update(gpu_count={"type": "integer"}),
         "gpu_count: the vendor's schema has no such field"),
        (lambda d: d["components"]["schemas"]["InstanceType"]["properties"]["price_cents_per_hour"]
         .update(type="number"), "type ['number'] but the vendor says ['integer']"),
        (lambda d: d["components"]["schemas"]["SSHKey"]["required"].append("created"),
         "promises ['created'], which the vendor may leave out"),
    ],
)
def test_the_comparison_catches_a_drifted_contract(docs: Docs, edit: Any, expected: str) -> None:
    drifted = copy.deepcopy(docs.mine)
    edit(drifted)
    problems = Docs(drifted, docs.theirs).operation_problems()
    assert any(expected in p for p in problems), problems


def _validator(vendor: Path, docs: Docs, method: str, path: str, status: str | None) -> Any:
    op = docs.theirs["paths"][path][method]
    node = op["requestBody"] if status is None else op["responses"][status]
    schema = docs.deref(docs.theirs, node)["content"][_JSON]["schema"]
    return jsonschema.Draft202012Validator(strict_schema(vendor, schema))


def test_the_contracts_examples_are_valid_under_the_vendors_schemas(vendor: Path, docs: Docs) -> None:
    problems = []
    for path, item in docs.mine["paths"].items():
        for method, op in item.items():
            media = (op.get("requestBody") or {}).get("content", {}).get(_JSON, {})
            checks = [(None, media.get("example"))] if "example" in media else []
            for status, response in op["responses"].items():
                example = docs.deref(docs.mine, response).get("content", {}).get(_JSON, {}).get("example")
                checks += [(status, example)] if example is not None else []
            for status, example in checks:
                for error in _validator(vendor, docs, method, path, status).iter_errors(example):
                    problems.append(f"{method.upper()} {path} {status or 'body'}: {error.message}")
    assert problems == []


def test_the_state_models_answers_are_in_the_vendors_shapes(vendor: Path, docs: Docs) -> None:
    """What the conformance and contract tests feed the adapter is what Lambda documents sending."""
    twin = LambdaLabsTwin()
    ids = list(twin.instances)
    answers = [
        ("get", "/api/v1/instances", twin.fill(("instances", [twin.instance(i) for i in ids]), None)),
        ("post", "/api/v1/instance-operations/launch", twin.fill(("launched", ids[:1]), None)),
        ("post", "/api/v1/instance-operations/terminate", twin.fill(("terminated", [twin.instance(ids[0])]), None)),
        ("get", "/api/v1/instance-types", twin.fill(("types", None), None)),
        ("get", "/api/v1/ssh-keys", twin.fill(("keys", None), None)),
        ("post", "/api/v1/ssh-keys", twin.fill(("key", next(iter(twin.keys))), None)),
        ("delete", "/api/v1/ssh-keys/{id}", twin.fill(("empty", None), None)),
    ]
    problems = [f"{m} {p}: {e.message}" for m, p, body in answers
                for e in _validator(vendor, docs, m, p, "200").iter_errors(body)]
    for code in (429, 503):
        problems += [f"injected {code}: {e.message}" for e in
                     _validator(vendor, docs, "get", "/api/v1/instances", "400").iter_errors(twin.injected_body(code))
                     if e.validator != "const"]
    assert problems == []


@pytest.fixture(scope="module")
def vendor_server(vendor: Path) -> Iterator[PrismServer]:
    """Prism serving Lambda's own document (read where it lies; never copied)."""
    with serve_fixture(vendor) as server:
        yield server


@pytest.fixture
async def adapter(
    vendor_server: PrismServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[LambdaLabsAdapter, RecordingTransport]]:
    transport = LambdaLabsTwin().attach(RecordingTransport())
    with pointed_at(monkeypatch, "lambdalabs", vendor_server.base_url, TOKEN, SOPHIA_LAMBDALABS_SSH_KEY=SSH_KEY):
        async with aclosing(LambdaLabsAdapter(transport=transport, sleep=Sleeps())) as a:
            yield a, transport


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_the_adapter_speaks_the_vendors_own_document(
    action: str, adapter: tuple[LambdaLabsAdapter, RecordingTransport]
) -> None:
    lambdalabs, transport = adapter
    target, params, mutating = CASES[action]
    await lambdalabs.configure(spec_for(action).call(target, params))
    assert [(ex.request.method, ex.request.url.path) for ex in transport.exchanges if ex.request.method != "GET"] \
        == mutating
    assert assert_no_request_violations(transport.exchanges) >= 3

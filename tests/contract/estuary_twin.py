"""Estuary test set-up: the hand-written contract served by Prism, Estuary's GraphQL schema, a state model.

No Estuary control plane can run here. :class:`EstuaryTwin` stands in for it, in two halves:

* **GraphQL** (``POST /api/graphql``, answered by :class:`EstuaryTransport` without Prism, which
  could judge only the envelope): the envelope is checked against the schema
  ``fixtures/estuary/openapi.yaml`` gives it, and the bearer; then the query is parsed and validated with ``graphql-core``
  against Estuary's production schema (``tests/contracts/vendor/estuary``) — a field the schema
  does not have is recorded in :attr:`EstuaryTwin.validation_errors` and answered 400 — and
  executed over the twin's live specs (resolvers only for the root fields the adapter uses);
* **PostgREST** (drafts, draft specs, publications, the token exchange): Prism judges each
  request against the hand-written contract (unknown body fields refused); the twin checks the
  query string (Prism ignores undeclared names: :attr:`EstuaryTwin.query_problems`), checks
  ``apikey`` and the bearer, applies the change and fills its rows into Prism's answer.

A publication is a job, as Estuary's is: ``queued`` for :attr:`EstuaryTwin.polls` status reads
by id (or until :meth:`EstuaryTwin.finish`), then it ends as :attr:`EstuaryTwin.outcome` says
(default ``success``): the draft's specs become live with a new ``lastPubId`` (refused with
``expectPubIdMismatch`` when a spec's ``expect_pub_id`` is stale) and the draft is deleted; a
failed one leaves the draft and a ``draft_errors`` row.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from .handwritten import FaultInjection
from .prism import Exchange, PrismServer, RecordingTransport
from .provision import ensure_prism, vendor_document
from .twins import _Twin

__all__ = [
    "ACCESS",
    "FIXTURE",
    "KEY",
    "REFRESH",
    "EstuaryTransport",
    "EstuaryTwin",
    "estuary_schema",
    "shared_server",
]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "estuary" / "openapi.yaml"
KEY = "supabase-anon-key-for-tests"
REFRESH_ID, REFRESH_SECRET = "0a:0b:0c:0d:0e:0f:10:11", "s3cret-refresh-value"
#: A refresh token as the dashboard gives it: base64 of {"id", "secret"}.
REFRESH = base64.b64encode(json.dumps({"id": REFRESH_ID, "secret": REFRESH_SECRET}).encode()).decode()
#: The access token the exchange issues (a JWT whose exp is far away).
ACCESS = (
    "eyJhbGciOiJIUzI1NiJ9." + base64.urlsafe_b64encode(b'{"exp":4102444800}').decode().rstrip("=") + ".c2ln"
)

_SHARED: dict[str, PrismServer] = {}


def shared_server(config: pytest.Config) -> PrismServer:
    """One Prism on the contract for the whole session (stopped at its end); skips without Prism."""
    server = _SHARED.get("estuary")
    if server is None:
        server = PrismServer(FIXTURE, binary=ensure_prism())
        server.launch()
        server.wait_ready()
        _SHARED["estuary"] = server
        config.add_cleanup(lambda: _SHARED.pop("estuary").stop())
    return server


@cache
def estuary_schema() -> Any:
    """Estuary's GraphQL schema, built once per session."""
    from graphql import build_schema

    return build_schema(
        vendor_document("estuary", "control-plane-api.schema.graphql").read_text(encoding="utf-8")
    )


@cache
def _query_rules() -> tuple[tuple[str, re.Pattern[str], dict[str, tuple[bool, Any]]], ...]:
    doc = yaml.safe_load(FIXTURE.read_text())
    found = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            params = [
                doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
                for p in op.get("parameters", [])
            ]
            rules = {p["name"]: (bool(p.get("required")), p["schema"]) for p in params if p["in"] == "query"}
            found.append((method.upper(), re.compile(re.escape(path)), rules))
    return tuple(found)


@cache
def _graphql_envelope() -> dict[str, Any]:
    doc = yaml.safe_load(FIXTURE.read_text())
    schema: dict[str, Any] = doc["paths"]["/api/graphql"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return schema


def query_problems(method: str, path: str, params: httpx.QueryParams) -> list[str]:
    """Undeclared, missing, repeated or invalid query parameters, by the contract."""
    for op_method, regex, rules in _query_rules():
        if op_method != method or not regex.fullmatch(path):
            continue
        where = f"{method} {path}"
        problems = [f"{where}: {name} is not declared" for name in params if name not in rules]
        for name, (required, schema) in rules.items():
            values = params.get_list(name)
            if not values:
                problems += [f"{where}: {name} is required"] if required else []
            elif len(values) > 1:
                problems.append(f"{where}: {name} is given {len(values)} times")
            else:
                validator = jsonschema.Draft7Validator(schema)
                problems += [f"{where}: {name}: {e.message}" for e in validator.iter_errors(values[0])]
        return problems
    return []


def _model(kind: str, disabled: bool) -> dict[str, Any]:
    model: dict[str, Any] = {
        "endpoint": {
            "connector": {"image": f"ghcr.io/estuary/{kind}-postgres:v1", "config": {"sops": {"enc": "x"}}}
        },
        "bindings": [
            {"resource": {"table": "orders"}, ("target" if kind == "capture" else "source"): "acmeCo/orders"}
        ],
    }
    if disabled:
        model["shards"] = {"disable": True}
    return model


class EstuaryTwin(FaultInjection, _Twin):
    """Live specs of tenant ``acmeCo/``, drafts, publications, and queued faults.

    Seeded: capture ``acmeCo/postgres-orders`` (enabled), capture ``acmeCo/hubspot-source``
    (disabled), materialization ``acmeCo/snowflake-orders`` (enabled), materialization
    ``acmeCo/warehouse-sync`` (disabled), collection ``acmeCo/orders``; ``otherCo/secret-capture``
    exists but the token has no grant to it (``userCapability: null``).
    """

    document = FIXTURE

    def __init__(self) -> None:
        super().__init__()
        self.faults: list[list[Any]] = []
        self.ids = itertools.count(0x1000)
        self.specs: dict[str, dict[str, Any]] = {}
        for name, kind, disabled in [
            ("acmeCo/postgres-orders", "capture", False),
            ("acmeCo/hubspot-source", "capture", True),
            ("acmeCo/snowflake-orders", "materialization", False),
            ("acmeCo/warehouse-sync", "materialization", True),
            ("otherCo/secret-capture", "capture", False),
        ]:
            self.specs[name] = {"type": kind, "model": _model(kind, disabled), "pub": self.new_id()}
        self.specs["acmeCo/orders"] = {"type": "collection", "model": {"key": ["/id"]}, "pub": self.new_id()}
        self.drafts: dict[str, dict[str, Any]] = {}
        self.publications: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, list[dict[str, str]]] = {}
        self.polls = 1
        #: End a queued publication as soon as anything looks it up by its draft (a fast agent).
        self.eager = False
        self.outcome = "success"
        self.validation_errors: list[str] = []
        self.query_problems: list[str] = []
        self.operations: list[str] = []
        self.exchanges = 0

    def new_id(self) -> str:
        """A fresh Flow id, ':'-separated as PostgREST shows a ``flowid``."""
        raw = f"{next(self.ids):016x}"
        return ":".join(raw[i : i + 2] for i in range(0, 16, 2))

    def disabled(self, name: str) -> bool:
        """Whether the live model of ``name`` has ``shards.disable``."""
        return self.specs[name]["model"].get("shards", {}).get("disable") is True

    # -- publications ----------------------------------------------------------------------

    def finish(self) -> None:
        """End every queued publication now, as :attr:`outcome` says."""
        for pub_id, pub in self.publications.items():
            if pub["status"] == "queued":
                self._end(pub_id, pub)

    def _end(self, pub_id: str, pub: dict[str, Any]) -> None:
        draft = self.drafts.get(pub["draft_id"])
        if draft is None:
            pub["status"] = "emptyDraft"
            return
        outcome = self.outcome
        if outcome == "success":
            stale = [
                r
                for r in draft["specs"].values()
                if r.get("expect_pub_id")
                and r["expect_pub_id"].replace(":", "")
                != self.specs.get(r["catalog_name"], {}).get("pub", "").replace(":", "")
            ]
            if stale:
                outcome = "expectPubIdMismatch"
        if outcome != "success":
            pub["status"] = outcome
            self.errors[pub["draft_id"]] = [{"scope": "flow://capture", "detail": f"twin says {outcome}"}]
            return
        for row in draft["specs"].values():
            self.specs[row["catalog_name"]].update(model=copy.deepcopy(row["spec"]), pub=pub_id)
        pub["status"] = "success"
        del self.drafts[pub["draft_id"]]

    # -- routing ---------------------------------------------------------------------------

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        self.query_problems += query_problems(method, path, request.url.params)
        code = self._fault(method, path)
        if code is not None:
            return self.forced(method, path, code)
        bearer = request.headers.get("authorization", "")
        if request.headers.get("apikey") != KEY:
            return "401", None
        if path == "/rest/v1/rpc/generate_access_token":
            self.exchanges += 1
            if (body or {}).get("refresh_token_id") != REFRESH_ID or body.get("secret") != REFRESH_SECRET:
                return "400", None
            return None, ("raw", {"access_token": ACCESS})
        if bearer != f"Bearer {ACCESS}":
            return "401", None
        query = request.url.params
        table = path.removeprefix("/rest/v1/")
        if table == "drafts":
            return self._drafts(method, query, body)
        if table == "draft_specs" and isinstance(body, dict):
            draft = self.drafts.get(body.get("draft_id", ""))
            if draft is None:
                return "409", None
            draft["specs"][body["catalog_name"]] = copy.deepcopy(body)
            return None, ("raw", [{"catalog_name": body["catalog_name"]}])
        if table == "publications":
            return self._publications(method, query, body)
        if table == "draft_errors":
            return None, (
                "raw",
                copy.deepcopy(self.errors.get(query.get("draft_id", "").removeprefix("eq."), [])),
            )
        return None, None

    def _drafts(self, method: str, query: httpx.QueryParams, body: Any) -> tuple[str | None, Any]:
        detail = query.get("detail", "").removeprefix("eq.")
        if method == "POST":
            draft_id = self.new_id()
            self.drafts[draft_id] = {"detail": body["detail"], "specs": {}}
            return None, ("raw", [{"id": draft_id}])
        matching = [
            i
            for i, d in self.drafts.items()
            if (detail and d["detail"] == detail) or query.get("id") == f"eq.{i}"
        ]
        if method == "DELETE":
            for draft_id in matching:
                del self.drafts[draft_id]
            return None, None
        return None, ("raw", [{"id": i} for i in matching])

    def _publications(self, method: str, query: httpx.QueryParams, body: Any) -> tuple[str | None, Any]:
        if method == "POST":
            pub_id = self.new_id()
            self.publications[pub_id] = {"draft_id": body["draft_id"], "status": "queued", "left": self.polls}
            return None, ("raw", [{"id": pub_id}])
        wanted = query.get("id", "").removeprefix("eq.")
        drafts = set(re.findall(r'"([^"]+)"', query.get("draft_id", "")))
        rows = []
        for pub_id, pub in self.publications.items():
            if pub_id == wanted:
                if pub["status"] == "queued" and pub["left"] <= 0:
                    self._end(pub_id, pub)
                pub["left"] -= 1
            if self.eager and pub["draft_id"] in drafts and pub["status"] == "queued":
                self._end(pub_id, pub)
            if pub_id == wanted or pub["draft_id"] in drafts:
                rows.append({"id": pub_id, "job_status": {"type": pub["status"]}})
        return None, ("raw", rows)

    def fill(self, note: Any, body: Any) -> Any:
        if isinstance(note, tuple) and note[0] == "raw":
            return copy.deepcopy(note[1])
        return body

    def transport(self) -> EstuaryTransport:
        """A recording transport to Prism for PostgREST, answering GraphQL here, steered by this twin."""
        transport = EstuaryTransport(twin=self)
        self.attach(transport)
        return transport

    def answer_graphql(self, request: httpx.Request) -> httpx.Response:
        """``POST /api/graphql``: the contract's envelope, the bearer, queued faults, then the query."""
        code = self._fault(request.method, "/api/graphql")
        if code is not None:
            return httpx.Response(int(code), json={"message": f"HTTP {code}"})
        try:
            body = json.loads(request.content)
        except ValueError:
            body = None
        envelope = jsonschema.Draft7Validator(_graphql_envelope())
        problems = (
            [e.message for e in envelope.iter_errors(body)] if request.method == "POST" else ["not a POST"]
        )
        if problems:
            self.validation_errors.extend(f"envelope: {p}" for p in problems)
            return httpx.Response(400, json={"errors": [{"message": p} for p in problems]})
        if request.headers.get("authorization") != f"Bearer {ACCESS}":
            return httpx.Response(401, json={"message": "invalid bearer token"})
        return self._graphql(body)

    def injected_body(self, code: int) -> Any:
        return {"message": f"HTTP {code}"}

    # -- GraphQL ---------------------------------------------------------------------------

    def _graphql(self, body: dict[str, Any]) -> httpx.Response:
        from graphql import GraphQLError, execute, parse, validate

        try:
            document = parse(body["query"])
        except GraphQLError as exc:
            self.validation_errors.append(exc.message)
            return httpx.Response(400, json={"errors": [exc.formatted]})
        problems = validate(estuary_schema(), document)
        if problems:
            self.validation_errors.extend(p.message for p in problems)
            return httpx.Response(400, json={"errors": [p.formatted for p in problems]})
        self.operations.append(str(body.get("operationName")))
        result = execute(
            estuary_schema(),
            document,
            root_value=_Root(self),
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
        )
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        return httpx.Response(200, json=answer)

    def ref(self, name: str) -> dict[str, Any]:
        """A ``LiveSpecRef`` as the schema shapes it (everything null without a grant)."""
        spec = self.specs.get(name)
        if spec is None or not name.startswith("acmeCo/"):
            return {"catalogName": name, "userCapability": None, "liveSpec": None}
        return {
            "catalogName": name,
            "userCapability": "admin",
            "liveSpec": {
                "catalogName": name,
                "catalogType": spec["type"],
                "isDisabled": self.disabled(name) if spec["type"] != "collection" else False,
                "lastPubId": spec["pub"].replace(":", ""),
                "model": copy.deepcopy(spec["model"]),
            },
        }


@dataclass
class EstuaryTransport(RecordingTransport):
    """:class:`RecordingTransport` that answers ``/api/graphql`` through its twin instead of Prism.

    Prism can judge only the GraphQL envelope, which the twin checks against the same contract
    schema; the query itself is judged by Estuary's schema. Skipping Prism there halves the
    round trips of every read (the suite budget).
    """

    twin: EstuaryTwin | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.twin is not None and request.url.path.endswith("/api/graphql"):
            response = self.twin.answer_graphql(request)
            response.request = request
            self.exchanges.append(Exchange(request, response))
            return response
        return await super().handle_async_request(request)


_PAGE = {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None, "startCursor": None}


class _Root:
    """Root resolvers for the fields the adapter queries (graphql-core calls them with the args)."""

    def __init__(self, twin: EstuaryTwin) -> None:
        self.twin = twin

    def liveSpecs(self, info: Any, by: dict[str, Any], first: int | None = None, **_: Any) -> Any:
        if by.get("names"):
            names = list(by["names"])
        else:
            names = sorted(n for n in self.twin.specs if n.startswith(by.get("prefix") or "\x00"))
        edges = [{"cursor": n, "node": self.twin.ref(n)} for n in names[: first or 100]]
        return {"edges": edges, "pageInfo": _PAGE}

    def prefixes(self, info: Any, by: dict[str, Any], first: int | None = None, **_: Any) -> Any:
        node = {"prefix": "acmeCo/", "capabilities": [], "userCapability": "admin"}
        return {"edges": [{"cursor": "acmeCo/", "node": node}], "pageInfo": _PAGE}

"""Strict contract mode bites: a misspelt body field fails the contract check.

Prism accepts body properties its contract doesn't declare, so an adapter that sent
``auto_suspnd`` instead of ``auto_suspend`` used to pass every contract test (Snowflake would
answer 400, or worse, ignore it). The harness now also validates each request body against the
operation's request-body schema with unknown properties refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from adapters.catalog import ActionCall
from adapters.data.snowflake import SnowflakeAdapter

from .common import pointed_at
from .prism import PrismPool, RecordingTransport, assert_no_request_violations, request_violations
from .steered import Sleeps
from .strict import forget, register, strict_schema, strict_violations

PRISM_SPECS = [("snowflake", "sqlapi.yaml"), ("snowflake", "warehouse.yaml")]

pytestmark = pytest.mark.anyio

TOKEN = "sf-strict-token-0b1c2d3e4f5a6b7c"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prism: PrismPool) -> Iterator[RecordingTransport]:
    sql, wh = prism.serve("snowflake", "sqlapi.yaml", "warehouse.yaml")
    monkeypatch.delenv("SOPHIA_SNOWFLAKE_ROLE", raising=False)
    with pointed_at(
        monkeypatch, "snowflake", sql.base_url, TOKEN, SOPHIA_SNOWFLAKE_TOKEN_TYPE="PROGRAMMATIC_ACCESS_TOKEN"
    ):
        yield RecordingTransport(routes={"/api/v2/warehouses": wh.base_url}, edit_json=_default_flags)


def _default_flags(request: Any, body: Any) -> Any:
    """Prism's canned warehouse with Snowflake's default query-acceleration flag (as in the contract test)."""
    if request.method == "GET" and isinstance(body, dict) and "enable_query_acceleration" in body:
        return {**body, "enable_query_acceleration": "false"}
    return body


@pytest.fixture
async def adapter(env: RecordingTransport) -> AsyncIterator[SnowflakeAdapter]:
    async with aclosing(SnowflakeAdapter(transport=env, sleep=Sleeps())) as a:
        yield a


async def test_a_misspelt_body_field_fails_the_contract_check(
    adapter: SnowflakeAdapter, env: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def misspelt(self: SnowflakeAdapter, call: ActionCall, before: Any) -> Any:
        return await self._alter_warehouse(call, auto_suspnd=call.params["seconds"])

    monkeypatch.setattr(SnowflakeAdapter, "do_warehouse_set_auto_suspend", misspelt)
    await adapter.configure(
        ActionCall(action="snowflake.warehouse.set_auto_suspend", target="ETL_WH", params={"seconds": 120})
    )
    put = next(ex for ex in env.exchanges if ex.request.method == "PUT")
    assert b'"auto_suspnd"' in put.request.content
    assert request_violations(put.response) == [], "Prism alone lets the misspelt field through"
    with pytest.raises(AssertionError, match=r"request\.body: .*'auto_suspnd' was unexpected"):
        assert_no_request_violations(env.exchanges)


# -- the rewriting rules, on small documents (no Prism) ------------------------------------


def _validator(tmp_path: Path, schema: dict[str, Any], version: str = "3.0.3") -> Draft202012Validator:
    doc = {"openapi": version, "components": {"schemas": {**SCHEMAS, "Under": schema}}}
    text = json.dumps(doc)
    spec = (
        tmp_path / f"spec-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"
    )  # documents are cached by path
    spec.write_text(text)
    return Draft202012Validator(strict_schema(spec, {"$ref": "#/components/schemas/Under"}))


SCHEMAS: dict[str, Any] = {
    "Named": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    "Sized": {"type": "object", "properties": {"size": {"type": "integer", "nullable": True}}},
    "Tree": {
        "type": "object",
        "properties": {"label": {"type": "string"}, "child": {"$ref": "#/components/schemas/Tree"}},
    },
}


def _ok(validator: Draft202012Validator, body: Any) -> bool:
    return not list(validator.iter_errors(body))


def test_unknown_properties_are_refused_at_every_depth(tmp_path: Path) -> None:
    v = _validator(
        tmp_path, {"type": "object", "properties": {"inner": {"$ref": "#/components/schemas/Named"}}}
    )
    assert _ok(v, {"inner": {"name": "a"}})
    assert not _ok(v, {"inner": {"name": "a", "nmae": "b"}}) and not _ok(v, {"innr": {}})


def test_explicitly_open_and_free_form_objects_stay_open(tmp_path: Path) -> None:
    v = _validator(
        tmp_path,
        {
            "type": "object",
            "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "meta": {"type": "object"},
                "any": {"type": "object", "properties": {"a": {}}, "additionalProperties": True},
            },
        },
    )
    assert _ok(v, {"labels": {"x": "y"}, "meta": {"whatever": 1}, "any": {"a": 1, "b": 2}})
    assert not _ok(v, {"labels": {"x": 1}})


def test_all_of_allows_the_union_of_its_members(tmp_path: Path) -> None:
    v = _validator(
        tmp_path,
        {"allOf": [{"$ref": "#/components/schemas/Named"}, {"$ref": "#/components/schemas/Sized"}]},
    )
    assert _ok(v, {"name": "a", "size": 3})
    assert not _ok(v, {"name": "a", "size": 3, "colour": "red"})


def test_one_of_needs_one_strict_branch_with_the_siblings_allowed(tmp_path: Path) -> None:
    v = _validator(
        tmp_path,
        {
            "type": "object",
            "properties": {"kind": {"type": "string"}},
            "oneOf": [{"$ref": "#/components/schemas/Named"}, {"$ref": "#/components/schemas/Sized"}],
        },
    )
    assert _ok(v, {"kind": "k", "name": "a"}) and _ok(v, {"kind": "k", "size": 1})
    assert not _ok(v, {"kind": "k", "name": "a", "typo": 1})


def test_nullable_and_type_arrays(tmp_path: Path) -> None:
    v30 = _validator(tmp_path, {"$ref": "#/components/schemas/Sized"})
    assert _ok(v30, {"size": None}) and not _ok(v30, {"size": "big"})
    enum30 = _validator(tmp_path, {"type": "string", "enum": ["a"], "nullable": True})
    assert _ok(enum30, None) and not _ok(enum30, "b")
    v31 = _validator(
        tmp_path, {"type": "object", "properties": {"n": {"type": ["integer", "null"]}}}, "3.1.0"
    )
    assert _ok(v31, {"n": None}) and _ok(v31, {"n": 1}) and not _ok(v31, {"n": "1"})
    assert not _ok(v31, {"m": 1})


def test_recursive_references_terminate(tmp_path: Path) -> None:
    v = _validator(tmp_path, {"$ref": "#/components/schemas/Tree"})
    assert _ok(v, {"label": "a", "child": {"label": "b"}})
    assert not _ok(v, {"label": "a", "lable": "b"})


def test_an_allow_list_entry_waives_only_its_unknown_properties(specs_root: Path) -> None:
    """Portkey's updateConfig documents ``config`` as ``{virtual_key}`` only (see ``strict.ALLOWED``)."""
    register(PORTKEY_PORT, specs_root / "portkey" / "openapi.yaml")
    try:

        def found(body: dict[str, Any]) -> list[str]:
            request = httpx.Request("PUT", f"http://127.0.0.1:{PORTKEY_PORT}/configs/pc-1", json=body)
            return [
                ".".join(v["location"]) + " " + ",".join(v["unexpected"]) for v in strict_violations(request)
            ]

        assert found({"config": {"retry": {"attempts": 3}, "strategy": {"mode": "fallback"}}}) == []
        assert found({"config": {}, "nmae": "x"}) == ["request.body nmae"]
        assert found({"config": {"virtual_key": 5}}) == ["request.body.config.virtual_key "]
    finally:
        forget(PORTKEY_PORT)


PORTKEY_PORT = 9  # never connected to: strict mode only reads the port to find the document

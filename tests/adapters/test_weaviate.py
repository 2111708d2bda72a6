"""Weaviate adapter logic on answers captured from Prism serving Weaviate's contract.

The requests are judged in tests/contract/test_weaviate_contract.py, and the conformance suite
(apply → read back → undo) runs in tests/contract/test_weaviate_conformance.py against Prism plus
a state model. These tests need neither: they take the vendor-shaped answers Prism served and
check, as plain functions, that each reversible action's derived inverse predicts the
before-state again from the prediction, and that plan-time checks refuse what can't work.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.ai.weaviate import WeaviateAdapter, _object_counts, collection_name, collection_state
from adapters.registry import adapter_class, spec_for
from orchestrator.errors import NotFoundError, ValidationFailedError

#: GET /schema/{className}, as Prism serves Weaviate's contract (trimmed to the fields read).
CAPTURED_CLASS: dict[str, Any] = {
    "class": "string",
    "vectorConfig": {
        "property1": {"vectorizer": {}, "vectorIndexType": "string", "vectorIndexConfig": {}},
        "property2": {"vectorizer": {}, "vectorIndexType": "string", "vectorIndexConfig": {}},
    },
    "vectorIndexType": "string",
    "vectorIndexConfig": {},
    "shardingConfig": {},
    "description": "string",
    "vectorizer": "string",
    "moduleConfig": {},
    "properties": [],
}
#: GET /nodes?output=verbose, as Prism serves it.
CAPTURED_NODES: dict[str, Any] = {
    "nodes": [
        {
            "name": "string",
            "status": "HEALTHY",
            "version": "string",
            "gitHash": "string",
            "stats": {"shardCount": 0, "objectCount": -9007199254740991},
            "shards": [
                {
                    "name": "string",
                    "class": "string",
                    "objectCount": -9007199254740991,
                    "vectorIndexingStatus": "string",
                    "loaded": True,
                }
            ],
        }
    ]
}
#: The body the adapter sends for `create Articles, 768 dims, dot` (see the contract test).
SENT_CLASS: dict[str, Any] = {
    "class": "Articles",
    "description": "Vector index managed by sophia-iac [dimension=768]",
    "vectorizer": "none",
    "vectorIndexType": "hnsw",
    "vectorIndexConfig": {"distance": "dot"},
}


@pytest.fixture
def adapter() -> WeaviateAdapter:
    return WeaviateAdapter()


def test_registered() -> None:
    assert adapter_class("weaviate") is WeaviateAdapter


def test_state_from_the_captured_class_and_from_what_create_sends() -> None:
    assert collection_state("String", CAPTURED_CLASS, 0) == {
        "name": "String",
        "dimension": None,
        "metric": "cosine",
        "rows": 0,
    }
    assert collection_state("Articles", SENT_CLASS, 0) == {
        "name": "Articles",
        "dimension": 768,
        "metric": "dot",
        "rows": 0,
    }
    named = {"class": "Docs", "vectorConfig": {"default": {"vectorIndexConfig": {"distance": "l2-squared"}}}}
    assert collection_state("Docs", named, None)["metric"] == "l2-squared"


def test_object_counts_ignore_garbage() -> None:
    assert _object_counts(CAPTURED_NODES) == {"string": 0}, "a negative count is not a count"
    assert _object_counts(
        {
            "nodes": [
                {
                    "shards": [
                        {"class": "A", "objectCount": 3},
                        {"class": "A", "objectCount": 4},
                        {"class": "B", "objectCount": "x"},
                    ]
                },
                "junk",
            ]
        }
    ) == {"A": 7}
    assert _object_counts(["not", "a", "dict"]) == {} and _object_counts(None) == {}


@pytest.mark.parametrize(
    ("target", "name"),
    [("articles", "Articles"), ("Support_Docs2", "Support_Docs2"), ("  tickets ", "Tickets")],
)
def test_names_follow_weaviates_rule(target: str, name: str) -> None:
    assert collection_name(target) == name


@pytest.mark.parametrize("target", ["", "support-docs", "_x", "a b", "x" * 300])
def test_invalid_names_are_refused(target: str) -> None:
    with pytest.raises(ValidationFailedError, match="not a valid collection name"):
        collection_name(target)


def test_create_predicts_what_a_read_of_the_sent_body_shows_and_undoes_by_delete(
    adapter: WeaviateAdapter,
) -> None:
    call = spec_for("weaviate.index.create").call("articles", {"dimension": 768, "metric": "dotproduct"})
    adapter.precheck(call, None)
    expected = adapter.predict(call, None)
    assert adapter.reached(call, expected, collection_state("Articles", SENT_CLASS, 0))
    assert not adapter.reached(
        call, expected, collection_state("Articles", {**SENT_CLASS, "vectorIndexConfig": {}}, 0)
    )
    inverse = spec_for(call.action).derive_inverse(call, None, expected)
    assert inverse is not None and inverse.action == "weaviate.index.delete"
    adapter.precheck(inverse, expected)
    assert adapter.predict(inverse, expected) is None, "the undo leaves the collection absent, as before"


def test_refusals(adapter: WeaviateAdapter) -> None:
    existing = collection_state("String", CAPTURED_CLASS, 12)
    with pytest.raises(ValidationFailedError, match="already exists \\(12 objects\\)"):
        adapter.precheck(spec_for("weaviate.index.create").call("String", {"dimension": 8}), existing)
    with pytest.raises(NotFoundError, match="'Ghost' not found"):
        adapter.precheck(spec_for("weaviate.index.delete").call("ghost"), None)
    assert not spec_for("weaviate.index.delete").reversible

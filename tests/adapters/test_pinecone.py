"""Pinecone adapter logic as plain functions: state from index models, settings, names, plan checks.

The requests are judged against the hand-written contract in
tests/contract/test_pinecone_contract.py, and apply → wait → read back → undo runs in
tests/contract/test_pinecone_conformance.py. These need neither Prism nor a network: the index
models below have the shapes Pinecone's API reference documents (2026-04).
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.ai.pinecone import PineconeAdapter, _settled, deployment_spec, index_name, index_state
from adapters.credentials import credential_for
from adapters.registry import adapter_class, spec_for
from orchestrator.errors import ConfigError, NotFoundError, ValidationFailedError

POD: dict[str, Any] = {
    "name": "support-kb",
    "dimension": 768,
    "metric": "cosine",
    "deletion_protection": "disabled",
    "spec": {
        "pod": {"environment": "us-east-1-aws", "pod_type": "p1.x1", "pods": 2, "replicas": 2, "shards": 1}
    },
    "status": {"ready": True, "state": "Ready"},
}
DEDICATED: dict[str, Any] = {
    "name": "recs",
    "dimension": 384,
    "metric": "euclidean",
    "deletion_protection": "enabled",
    "spec": {
        "serverless": {
            "cloud": "aws",
            "region": "us-east-1",
            "read_capacity": {
                "mode": "Dedicated",
                "dedicated": {"node_type": "t1", "scaling": "Manual", "manual": {"shards": 2, "replicas": 3}},
                "status": {"state": "Scaling", "current_replicas": 2, "current_shards": 2},
            },
        }
    },
    "status": {"ready": True, "state": "Ready"},
}
ON_DEMAND: dict[str, Any] = {
    "name": "docs",
    "dimension": 1536,
    "metric": "dotproduct",
    "spec": {"serverless": {"cloud": "gcp", "region": "us-central1", "read_capacity": {"mode": "OnDemand"}}},
    "status": {"ready": False, "state": "Initializing"},
}


@pytest.fixture
def adapter() -> PineconeAdapter:
    return PineconeAdapter()


def test_registered_with_an_api_key_header() -> None:
    assert adapter_class("pinecone") is PineconeAdapter
    headers = credential_for(
        "pinecone", environ={"SOPHIA_PINECONE_TOKEN": "pcsk_unit_1234567890"}
    ).auth_headers()
    assert headers == {"Api-Key": "pcsk_unit_1234567890"}


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        (POD, {"replicas": 2, "deployment": "pod", "deletion_protection": "disabled"}),
        (DEDICATED, {"replicas": 3, "deployment": "dedicated", "deletion_protection": "enabled"}),
        (ON_DEMAND, {"replicas": None, "deployment": "serverless", "deletion_protection": "disabled"}),
        ({"name": "b", "spec": {"byoc": {"environment": "aws-us-east-1-b921"}}}, {"deployment": "byoc"}),
        ({"name": "junk", "spec": "not a spec"}, {"deployment": None, "replicas": None}),
    ],
)
def test_state_from_index_models(raw: dict[str, Any], state: dict[str, Any]) -> None:
    observed = index_state(raw)
    assert set(observed) == {"name", "dimension", "metric", "replicas", "deployment", "deletion_protection"}
    assert {k: observed[k] for k in state} == state


def test_settled_needs_ready_state_and_settled_read_capacity() -> None:
    assert _settled(POD)
    assert not _settled(DEDICATED), "dedicated read nodes still scaling"
    assert not _settled(ON_DEMAND)
    assert not _settled({**POD, "status": {"ready": True, "state": "ScalingUp"}})


@pytest.mark.parametrize(
    ("env", "spec"),
    [
        ({}, {"serverless": {"cloud": "aws", "region": "us-east-1"}}),
        (
            {"SOPHIA_PINECONE_CLOUD": " Azure ", "SOPHIA_PINECONE_REGION": "EastUS2"},
            {"serverless": {"cloud": "azure", "region": "eastus2"}},
        ),
        (
            {"SOPHIA_PINECONE_POD_ENVIRONMENT": "us-west1-gcp", "SOPHIA_PINECONE_CLOUD": "aws"},
            {"pod": {"environment": "us-west1-gcp", "pod_type": "p1.x1", "pods": 1}},
        ),
    ],
)
def test_deployment_spec_from_settings(env: dict[str, str], spec: dict[str, Any]) -> None:
    assert deployment_spec(env) == spec


@pytest.mark.parametrize(
    "env",
    [
        {"SOPHIA_PINECONE_CLOUD": "oracle"},
        {"SOPHIA_PINECONE_POD_ENVIRONMENT": "us-west1-gcp", "SOPHIA_PINECONE_POD_TYPE": "p1.x16"},
    ],
)
def test_impossible_settings_name_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="SOPHIA_PINECONE_"):
        deployment_spec(env)


@pytest.mark.parametrize(
    ("target", "name"), [("recs", "recs"), (" Support-KB ", "support-kb"), ("a" * 45, "a" * 45)]
)
def test_names(target: str, name: str) -> None:
    assert index_name(target) == name


@pytest.mark.parametrize("target", ["", None, "-kb", "kb-", "k b", "kb_v2", "a" * 46, "ünï"])
def test_invalid_names_are_refused(target: str | None) -> None:
    with pytest.raises(ValidationFailedError, match="not a valid index name"):
        index_name(target)


def test_configure_predicts_the_read_back_and_its_inverse_predicts_the_before_state(
    adapter: PineconeAdapter,
) -> None:
    before = index_state(POD)
    call = spec_for("pinecone.index.configure").call("support-kb", {"replicas": 5})
    adapter.precheck(call, before)
    expected = adapter.predict(call, before)
    after = index_state({**POD, "spec": {"pod": {**POD["spec"]["pod"], "replicas": 5, "pods": 5}}})
    assert adapter.reached(call, expected, after)
    assert not adapter.reached(call, expected, before)
    inverse = spec_for(call.action).derive_inverse(call, before, after)
    assert inverse is not None and inverse.params == {"replicas": 2}
    assert adapter.predict(inverse, after) == before


def test_create_predicts_serverless_or_pod_and_undoes_by_delete(
    adapter: PineconeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPHIA_PINECONE_POD_ENVIRONMENT", raising=False)
    call = spec_for("pinecone.index.create").call("KB", {"dimension": 8, "metric": "l2"})
    adapter.precheck(call, None)
    assert adapter.predict(call, None) == {
        "name": "kb",
        "dimension": 8,
        "metric": "euclidean",
        "replicas": None,
        "deployment": "serverless",
    }
    monkeypatch.setenv("SOPHIA_PINECONE_POD_ENVIRONMENT", "us-east-1-aws")
    expected = adapter.predict(call, None)
    assert expected is not None and expected["replicas"] == 1 and expected["deployment"] == "pod"
    inverse = spec_for(call.action).derive_inverse(call, None, expected)
    assert inverse is not None and inverse.action == "pinecone.index.delete"
    assert adapter.predict(inverse, expected) is None


def test_refusals(adapter: PineconeAdapter) -> None:
    with pytest.raises(
        ValidationFailedError, match="'support-kb' already exists \\(768 dimensions, cosine\\)"
    ):
        adapter.precheck(
            spec_for("pinecone.index.create").call("support-kb", {"dimension": 8}), index_state(POD)
        )
    with pytest.raises(NotFoundError, match="'ghost' not found"):
        adapter.precheck(spec_for("pinecone.index.delete").call("ghost"), None)
    with pytest.raises(NotFoundError, match="'ghost' not found"):
        adapter.precheck(spec_for("pinecone.index.configure").call("ghost", {"replicas": 2}), None)
    with pytest.raises(ValidationFailedError, match="deletion protection enabled"):
        adapter.precheck(spec_for("pinecone.index.delete").call("recs"), index_state(DEDICATED))
    with pytest.raises(ValidationFailedError, match="serverless index without replicas"):
        adapter.precheck(
            spec_for("pinecone.index.configure").call("docs", {"replicas": 2}), index_state(ON_DEMAND)
        )
    assert not spec_for("pinecone.index.delete").reversible


def test_replica_bodies(adapter: PineconeAdapter) -> None:
    assert adapter._replicas_body("support-kb", POD, 4) == {"spec": {"pod": {"replicas": 4}}}
    body = adapter._replicas_body("recs", DEDICATED, 1)
    assert body["spec"]["serverless"]["read_capacity"]["dedicated"] == {
        "node_type": "t1",
        "scaling": "Manual",
        "manual": {"shards": 2, "replicas": 1},
    }
    with pytest.raises(ValidationFailedError, match="no replica count"):
        adapter._replicas_body("docs", ON_DEMAND, 2)

"""Pinecone actions: serverless/pod indexes.

Before-state for an index: ``{"name", "dimension", "metric", "replicas"}``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, NoParams, Params, Risk, inverse_same_target, restore_fields

__all__ = ["ACTIONS", "IndexConfigureParams", "IndexCreateParams"]

Metric = Literal["cosine", "euclidean", "dotproduct"]
_METRIC_ALIASES = {
    "cos": "cosine", "cosine": "cosine", "angular": "cosine",
    "euclidean": "euclidean", "euclid": "euclidean", "l2": "euclidean",
    "dotproduct": "dotproduct", "dot_product": "dotproduct", "dot": "dotproduct", "ip": "dotproduct",
    "inner_product": "dotproduct",
}


class IndexCreateParams(Params):
    """``pinecone.index.create`` params."""

    dimension: int = Field(ge=1, le=20000, description="vector dimension (1 to 20000)")
    metric: Metric = "cosine"

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, value: object) -> object:
        return _METRIC_ALIASES.get(str(value).strip().lower().replace(" ", "_").replace("-", "_"), value)


class IndexConfigureParams(Params):
    """``pinecone.index.configure`` params (pod-based indexes)."""

    replicas: int = Field(ge=1, le=20, description="replica count (1 to 20)")


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="pinecone.index.create",
        summary="Create an index",
        params=IndexCreateParams,
        target="index name",
        inverse=inverse_same_target("pinecone.index.delete"),
        inverse_hint="index.delete",
        examples=(
            "create a pinecone index product-search with 1536 dimensions",
            "new pinecone index support-kb, dim 768, dotproduct metric",
            "make a pinecone index called recs with dimension 384 using euclidean",
        ),
    ),
    ActionSpec(
        id="pinecone.index.configure",
        summary="Change an index's replica count",
        params=IndexConfigureParams,
        target="index name",
        inverse=restore_fields("pinecone.index.configure", {"replicas": "replicas"}),
        inverse_hint="configure to the before replicas",
        examples=(
            "scale the pinecone index product-search to 3 replicas",
            "set replicas on pinecone index support-kb to 2",
            "give recs 4 replicas in pinecone",
        ),
    ),
    ActionSpec(
        id="pinecone.index.delete",
        summary="Delete an index and its vectors",
        params=NoParams,
        risk=Risk.DESTRUCTIVE,
        target="index name",
        inverse_hint="none: the vectors are gone",
        examples=(
            "delete the pinecone index product-search",
            "drop pinecone index support-kb",
            "remove the recs index from pinecone",
        ),
    ),
)

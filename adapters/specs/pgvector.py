"""pgvector actions: vector indexes (a table with a ``vector(n)`` column and an HNSW index)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, NoParams, Params, Risk, inverse_same_target, restore_fields

__all__ = ["ACTIONS", "IndexConfigureParams", "IndexCreateParams"]

Metric = Literal["cosine", "l2", "inner_product"]

_METRIC_ALIASES = {
    "cos": "cosine", "cosine": "cosine", "angular": "cosine",
    "l2": "l2", "euclidean": "l2", "euclid": "l2",
    "ip": "inner_product", "inner_product": "inner_product", "inner-product": "inner_product",
    "dot": "inner_product", "dotproduct": "inner_product", "dot_product": "inner_product",
}


class IndexCreateParams(Params):
    """``pgvector.index.create`` params."""

    dimension: int = Field(ge=1, le=16000, description="vector dimension (pgvector HNSW: 1 to 16000)")
    metric: Metric = "cosine"
    m: int = Field(default=16, ge=2, le=100, description="HNSW max connections per layer")
    ef_construction: int = Field(default=64, ge=4, le=1000, description="HNSW build candidate list size")

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, value: object) -> object:
        return _METRIC_ALIASES.get(str(value).strip().lower().replace(" ", "_"), value)


class IndexConfigureParams(Params):
    """``pgvector.index.configure`` params (the HNSW build parameters)."""

    m: int = Field(ge=2, le=100, description="HNSW max connections per layer")
    ef_construction: int = Field(ge=4, le=1000, description="HNSW build candidate list size")


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="pgvector.index.create",
        summary="Create a vector index (table + HNSW index) in PostgreSQL",
        params=IndexCreateParams,
        target="index name",
        inverse=inverse_same_target("pgvector.index.delete"),
        inverse_hint="index.delete",
        examples=(
            "create a vector index called support-docs with 384 dimensions",
            "make a pgvector index docs-embeddings, 1536 dims, cosine",
            "new vector index faq with dimension 768 using l2",
        ),
    ),
    ActionSpec(
        id="pgvector.index.configure",
        summary="Change an index's HNSW parameters (m, ef_construction); rebuilds the index",
        params=IndexConfigureParams,
        target="index name",
        inverse=restore_fields("pgvector.index.configure", {"m": "m", "ef_construction": "ef_construction"}),
        inverse_hint="configure to the before values",
        examples=(
            "set m to 32 and ef_construction to 128 on the support-docs index",
            "tune vector index faq: m 24, ef construction 200",
            "reconfigure pgvector index docs-embeddings with m=48 and ef_construction=256",
        ),
    ),
    ActionSpec(
        id="pgvector.index.delete",
        summary="Delete a vector index and its rows",
        params=NoParams,
        risk=Risk.DESTRUCTIVE,
        target="index name",
        inverse_hint="none: the table and its vectors are gone",
        examples=(
            "delete the vector index support-docs",
            "drop pgvector index faq",
            "remove the docs-embeddings index from postgres",
        ),
    ),
)

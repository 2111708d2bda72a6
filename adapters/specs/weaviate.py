"""Weaviate actions: collections (called "index" in the catalog) with a vector index.

Before-state for a collection: ``{"name", "dimension", "metric", "rows"}`` (``rows``: its
object count, named like pgvector's so state comparisons treat it as volatile).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, NoParams, Params, Risk, inverse_same_target

__all__ = ["ACTIONS", "IndexCreateParams"]

Metric = Literal["cosine", "dot", "l2-squared", "hamming", "manhattan"]
_METRIC_ALIASES = {
    "cos": "cosine", "cosine": "cosine",
    "dot": "dot", "dotproduct": "dot", "dot_product": "dot", "ip": "dot", "inner_product": "dot",
    "l2": "l2-squared", "l2-squared": "l2-squared", "l2_squared": "l2-squared", "euclidean": "l2-squared",
    "hamming": "hamming", "manhattan": "manhattan",
}


class IndexCreateParams(Params):
    """``weaviate.index.create`` params."""

    dimension: int = Field(ge=1, le=65535, description="vector dimension (1 to 65535)")
    metric: Metric = "cosine"

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, value: object) -> object:
        return _METRIC_ALIASES.get(str(value).strip().lower().replace(" ", "_"), value)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="weaviate.index.create",
        summary="Create a collection with a vector index",
        params=IndexCreateParams,
        target="collection name",
        inverse=inverse_same_target("weaviate.index.delete"),
        inverse_hint="index.delete",
        examples=(
            "create a weaviate collection Articles with 768 dimensions",
            "new weaviate index Products, dimension 1536, dot metric",
            "make a weaviate class called Tickets with 384 dims",
        ),
    ),
    ActionSpec(
        id="weaviate.index.delete",
        summary="Delete a collection and its objects",
        params=NoParams,
        risk=Risk.DESTRUCTIVE,
        target="collection name",
        inverse_hint="none: the objects are gone",
        examples=(
            "delete the weaviate collection Articles",
            "drop weaviate index Products",
            "remove the Tickets class from weaviate",
        ),
    ),
)

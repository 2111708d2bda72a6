"""Plain reads are answered, not asked back (issue 16): recent changes, what happened, who touched it."""

from __future__ import annotations

import pytest

from orchestrator.parsing.offline import OfflineParser


@pytest.mark.parametrize(("text", "fields"), [
    ("show me the last changes", {}),
    ("pull up the latest 5 changes", {}),
    ("anything changed on snowflake today?", {"platform": "snowflake", "since": "today"}),
    ("what happened with the portkey keys this week", {"platform": "portkey", "since": "7d"}),
    ("has anyone touched ETL_WH since 9am?", {"platform": "snowflake", "target": "ETL_WH", "since": "09:00"}),
])
def test_history_reads(text: str, fields: dict[str, str]) -> None:
    parsed = OfflineParser().parse(text).expect_shape()
    assert parsed == {"intent": "history", **fields}


@pytest.mark.parametrize(("text", "inventory", "fields"), [
    ("what's the status of the stripe-events capture?", {}, {"platform": "estuary", "target": "stripe-events"}),
    ("how's the temp articles collection doing", {"weaviate.index": ["Articles", "TempArticles"]},
     {"platform": "weaviate", "target": "TempArticles"}),
    ("how's the estuary capture doing", {}, {"platform": "estuary"}),
])
def test_status_of_a_resource_named_by_its_kind(text: str, inventory: dict[str, list[str]], fields: dict[str, str]) -> None:
    assert OfflineParser().parse(text, inventory).expect_shape() == {"intent": "status", **fields}

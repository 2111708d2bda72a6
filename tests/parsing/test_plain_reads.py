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

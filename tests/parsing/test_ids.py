"""Run and change ids in the shapes people paste them (issue 16): recognised by the parser, settled by the store."""

from __future__ import annotations

import pytest

from orchestrator.parsing import extract as ex
from orchestrator.parsing.offline import OfflineParser


@pytest.mark.parametrize(("text", "want"), [
    ("approve run r-91bc", "r-91bc"),
    ("reject run_5d17aa", "run_5d17aa"),
    ("approve run_5f3a9c1e2b7d", "run_5f3a9c1e2b7d"),
    ("pls approve `run_7e22a1`", "run_7e22a1"),
    ("approve run 5d17aa", "5d17aa"),
    ("lgtm, approve https://ops.example.com/runs/run_c0ffee1 thanks", "run_c0ffee1"),
    ("REJECT RUN-9A8B7C", "run-9a8b7c"),
])
def test_run_ids(text: str, want: str) -> None:
    assert ex.run_ids(text) == [want]
    parsed = OfflineParser().parse(text)
    assert parsed.intent.value in ("approve", "reject") and parsed.run_id == want


@pytest.mark.parametrize(("text", "want"), [
    ("roll back change 77", "77"),
    ("undo chg_0XK3M2QX7AB1", "chg_0xk3m2qx7ab1"),
    ("undo chg_5ccb8df97b01", "chg_5ccb8df97b01"),
    ("revert change #1042 please", "1042"),
    ("can you undo chg-01jf3k9m2qx7", "chg-01jf3k9m2qx7"),
])
def test_change_ids(text: str, want: str) -> None:
    assert ex.change_ids(text) == [want]
    parsed = OfflineParser().parse(text)
    assert parsed.intent.value == "undo" and parsed.change_id == want


@pytest.mark.parametrize("text", [
    "run the dbt job", "a change of plan", "the run failed", "change the size to large",
    "run every command in this file", "scale ETL_WH to large", "chg is short for change",
])
def test_words_are_not_ids(text: str) -> None:
    assert ex.run_ids(text) == [] and ex.change_ids(text) == []

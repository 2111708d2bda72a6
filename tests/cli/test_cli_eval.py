"""`sophia-iac eval` and `parse` on any file in the DESIGN.md format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.interfaces.cli", *args], check=False, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_eval_scores_any_dataset_and_writes_predictions(tmp_path: Path) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps(c) for c in [
        {"id": "a", "text": "create a vector index called kb with 768 dimensions",
         "expect": {"intent": "action", "actions": [{"action": "pgvector.index.create", "target": "KB",
                                                     "params": {"dimension": 768}}]}},
        {"id": "b", "text": "how is pgvector doing?", "expect": {"intent": "status", "platform": "pgvector"}},
        {"id": "c", "text": "make the analytics warehouse bigger",
         "inventory": {"snowflake.warehouse": ["ANALYTICS_WH", "ANALYTICS_DEV_WH"]}, "expect": {"intent": "clarify"}},
    ]) + "\n")
    out = tmp_path / "pred.jsonl"
    res = _cli("eval", "--dataset", str(data), "--parser", "offline", "--json", "--predictions", str(out))
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["cases"] == 3
    for key in ("exact_match", "action_accuracy", "param_accuracy", "unsafe_executions"):
        assert key in summary
    assert summary["unsafe_executions"] == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [p["id"] for p in lines] == ["a", "b", "c"]
    assert lines[0]["predicted"]["actions"][0]["params"]["dimension"] == 768


def test_eval_rejects_a_malformed_dataset(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "hi"}\nnot json\n')
    res = _cli("eval", "--dataset", str(bad))
    assert res.returncode == 4 and "bad.jsonl:1" in res.stderr


def test_parse_json_is_one_parsed_command() -> None:
    res = _cli("parse", "scale ETL_WH to x-large", "--json")
    parsed = json.loads(res.stdout)
    assert parsed["intent"] == "action"
    assert parsed["actions"] == [{"action": "snowflake.warehouse.scale", "target": "ETL_WH",
                                  "params": {"size": "XLARGE"}}]

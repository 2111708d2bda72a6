"""The MCP tool list and plan tokens, without a transport (the transports: test_mcp.py)."""

from __future__ import annotations

import copy

import pytest

from orchestrator.interfaces.mcp_calls import RateLimiter
from orchestrator.interfaces.mcp_results import ToolFailure
from orchestrator.interfaces.mcp_tokens import PlanChangedError, check_token, plan_token
from orchestrator.interfaces.mcp_tools import select_tools


def test_platforms_and_read_only_choose_the_tools() -> None:
    from adapters.registry import known_platforms, platform_specs

    full = select_tools()
    assert len(full) == sum(len(platform_specs(p)) for p in known_platforms()) + 6
    pg = select_tools(platforms=["pgvector"])
    assert [t.name for t in pg][:3] == ["pgvector_index_create", "pgvector_index_configure", "pgvector_index_delete"]
    assert len(pg) == 9
    reads = select_tools(read_only=True)
    assert reads and all(t.read and t.annotations["readOnlyHint"] for t in reads)
    assert {t.name for t in reads} == {t.name for t in full if t.read}
    assert {t.name for t in select_tools(role="viewer")} == {t.name for t in reads}
    with pytest.raises(Exception, match="unknown platform"):
        select_tools(platforms=["nope"])


PLAN = {"digest": "d1", "steps": [{"call": {"action": "pgvector.index.configure", "target": "kb",
                                            "params": {"m": 32, "ef_construction": 64}},
                                   "before": {"name": "kb", "m": 16, "rows": 10}, "undo_of": None}]}


def test_a_plan_token_binds_the_calls_the_before_state_and_the_caller() -> None:
    token = plan_token(PLAN, "api:agent")
    check_token(token, PLAN, "api:agent")
    rows_moved = copy.deepcopy(PLAN)
    rows_moved["steps"][0]["before"]["rows"] = 11  # volatile: the executor ignores it too
    check_token(token, rows_moved, "api:agent")
    changed = copy.deepcopy(PLAN)
    changed["steps"][0]["before"]["m"] = 24
    other_params = copy.deepcopy(PLAN)
    other_params["digest"] = "d2"
    other_params["steps"][0]["call"]["params"]["m"] = 48
    for plan, actor in ((changed, "api:agent"), (other_params, "api:agent"), (PLAN, "api:someone-else")):
        with pytest.raises(PlanChangedError) as err:
            check_token(token, plan, actor)
        assert err.value.code == "plan_changed" and err.value.hint


def test_the_rate_limit_counts_per_session() -> None:
    limiter = RateLimiter(per_minute=2)
    limiter.check("a")
    limiter.check("a")
    limiter.check("b")
    with pytest.raises(ToolFailure) as err:
        limiter.check("a")
    assert err.value.error["code"] == "rate_limited" and err.value.error["details"]["retry_after"] >= 1

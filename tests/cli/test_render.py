"""Text output that a person reads: only what says something."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.interfaces.render import render_status


def _status(platform: str, circuit: dict[str, Any] | None, configured: bool = True) -> dict[str, Any]:
    return {"platform": platform, "healthy": configured, "configured": configured, "message": f"{platform} ok",
            "inventory": {}, "details": {"circuit": circuit}, "drift": []}


def test_status_mentions_a_circuit_breaker_only_when_it_has_news(capsys: pytest.CaptureFixture[str]) -> None:
    quiet = {"state": "closed", "failures": 0, "calls": 0, "retry_in_seconds": 0.0}
    render_status([_status(f"p{i}", quiet) for i in range(10)])
    assert "circuit" not in capsys.readouterr().out
    render_status([_status("github", {"state": "open", "failures": 5, "calls": 6, "retry_in_seconds": 30}),
                   _status("vercel", {"state": "closed", "failures": 2, "calls": 9, "retry_in_seconds": 0.0})])
    out = capsys.readouterr().out
    assert "circuit breaker open (5/6 failed in the window, probe in 30 s)" in out
    assert "circuit breaker closed (2/9 failed in the window)" in out


def test_unconfigured_platforms_share_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    render_status([_status("pgvector", None), *(_status(p, None, configured=False) for p in ("figma", "github"))])
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if "figma" in line] == [line for line in lines if "not configured" in line]
    assert len([line for line in lines if "not configured" in line]) == 1 and "github" in lines[-1]

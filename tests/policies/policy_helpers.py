"""Helpers for the policy tests: packs from text, contexts from a few keywords.

A plain module (not conftest) so test modules can import it by a name no other test folder uses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policies.context import ActorInfo, ChangeInfo, Freeze, PolicyContext, RunInfo
from policies.engine import PolicyEngine
from policies.loader import DEFAULT_PACK, load_pack

PACKS = Path(__file__).parent / "packs"
WEDNESDAY = datetime(2026, 11, 18, 10, 30, tzinfo=UTC)
OPERATOR = ActorInfo(id="alice", roles=("operator",), groups=("platform",), source="cli:alice")


def make_ctx(
    action: str = "snowflake.warehouse.scale",
    target: str | None = "ETL_WH",
    params: dict[str, Any] | None = None,
    *,
    risk: str = "change",
    reversible: bool = True,
    actor: ActorInfo = OPERATOR,
    env: str = "prod",
    now: datetime = WEDNESDAY,
    steps: int = 1,
    surface: str = "cli",
    freezes: tuple[Freeze, ...] = (),
    before: dict[str, Any] | None = None,
) -> PolicyContext:
    """A context for one change; defaults: an operator scaling ETL_WH in prod on a Wednesday morning."""
    return PolicyContext(
        change=ChangeInfo(action=action, target=target, params=params or {}, risk=risk, reversible=reversible),
        before=before,
        actor=actor,
        env=env,
        now=now,
        run=RunInfo(id="run-test", steps=steps, surface=surface),
        freezes=freezes,
    )


def engine_from_text(text: str, *, with_default: bool = False, counter: Any = None) -> PolicyEngine:
    """Compile a pack given as YAML text (asserting it has no errors) into an engine."""
    packs = [load_pack(DEFAULT_PACK)] if with_default else []
    packs.append(load_pack("inline.yaml", text=text))
    errors = [p for pack in packs for p in pack.problems if p.level == "error"]
    assert not errors, errors
    return PolicyEngine([r for pack in packs for r in pack.rules], recent_changes=counter)

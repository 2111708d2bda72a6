"""Pins each policies module's public names (habit 1: a rename shows up in review)."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "policies": ["approvals", "context", "durations", "engine", "environments", "expressions", "freezes", "gate",
                 "identity", "loader", "rules", "timeparse"],
    "policies.approvals": ["Answer", "ApprovalAnswer", "ApprovalRequest", "Judgement", "authorize", "judge",
                           "new_request"],
    "policies.freezes": ["LEDGER_PLATFORM", "lift_freeze", "start_freeze"],
    "policies.gate": ["PolicyGate"],
    "policies.timeparse": ["FOREVER", "parse_until"],
    "policies.context": ["ActorInfo", "ChangeInfo", "Freeze", "PolicyContext", "RunInfo"],
    "policies.engine": ["DEFAULT_ALLOW", "PolicyEngine", "combine", "merge_decisions", "unavailable"],
    "policies.environments": ["EnvironmentMap", "EnvironmentMapping"],
    "policies.expressions": ["CEL_FUNCTIONS", "CEL_VARIABLES", "ExpressionError", "Program", "compile_expression",
                             "glob_match", "make_context"],
    "policies.identity": ["Identity", "IdentityDirectory", "IdentityPattern", "Role", "load_identities", "may_approve", "may_freeze",
                          "may_mutate", "may_unfreeze"],
    "policies.loader": ["DEFAULT_PACK", "LoadedPack", "PolicyPackError", "Problem", "check_pack", "load_engine",
                        "load_pack", "pack_paths"],
    "policies.rules": ["BUILTINS", "AutonomyRule", "BuiltinRule", "EvalInputs", "ExpressionRule", "Finding",
                       "PackDefaults", "Rule", "RuleConfigError", "RuleSpec", "Tier", "build_rule"],
    "policies.durations": ["parse_duration"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module: str) -> None:
    """`__all__` is exactly the pinned list and every name exists."""
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_builtins_are_one_module_each() -> None:
    """Every built-in named in BUILTINS lives in its own module under policies.rules."""
    from policies.rules import BUILTINS

    modules = {cls.__module__ for cls in BUILTINS.values()}
    assert len(modules) == len(BUILTINS) == 8
    assert set(BUILTINS) == {"roles", "autonomy", "freeze", "protected", "four_eyes", "spend_cap", "rate_limit",
                             "change_window"}

"""The iac package's public names, pinned (a rename shows up here in review)."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "iac.adapter": ["IacAdapter", "iac_adapter"],
    "iac.errors": ["CLI_TESTED", "INSTALL_HINT", "CliMissingError", "IacError", "PassphraseError",
                   "PendingOperationsError", "PluginMissingError", "StackBusyError", "StackNotFoundError", "classify"],
    "iac.routing": ["managed_for", "managed_resources"],
    "iac.runner": ["PASSPHRASE", "AutomationWorkspace", "DriftReport", "IacRunner", "PlanSummary", "ResourceChange",
                   "RollbackStore", "StackView", "UpdateReport", "Workspace"],
    "iac.programs.base": ["PROGRAMS", "Program", "ProgramContext", "Spec", "Transition", "program_for"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert getattr(mod, name) is not None

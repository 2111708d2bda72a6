"""Pulumi failures → sophia-iac error codes, fed with the CLI's real texts.

Each stderr below is the text the Pulumi CLI prints (sources: pulumi/pulumi
``sdk/python/lib/pulumi/automation/errors.py`` and its tests, ``pkg/backend/diy/lock.go``,
the plugin-loader tests in ``sdk/go/common/workspace``, ``printPendingOperationsError`` and the
interrupted-update docs). They go through the SDK's own ``create_command_error`` first, so the
exception we classify is exactly the one the Automation API would raise.
"""

from __future__ import annotations

import pytest
from pulumi.automation import ConcurrentUpdateError, StackNotFoundError
from pulumi.automation.errors import CommandError, InlineSourceRuntimeError

from adapters.credentials import SCRUBBER
from iac.errors import (
    CLI_TESTED,
    CliMissingError,
    IacError,
    PassphraseError,
    PendingOperationsError,
    PluginMissingError,
    StackBusyError,
    classify,
)
from iac.errors import StackNotFoundError as OurStackNotFound
from tests.iac.fakes import command_error

STACK = "sophia-snowflake/prod"

CLOUD_CONFLICT = "error: [409] Conflict: Another update is currently in progress.\n"
DIY_LOCK = (
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete "
    "the lock file with `pulumi cancel`.\n"
    "  file:///srv/sophia/pulumi/state/.pulumi/locks/organization/sophia-snowflake/prod/"
    "22d8693a-7bae-4563-bc98-27045e703b9f.json: created by alice@ci-runner-7 (pid 4242) at 2026-11-24T10:30:00Z\n"
)
PLUGIN = (
    "error: could not load plugin for snowflake provider "
    "'urn:pulumi:prod::sophia-snowflake::pulumi:providers:snowflake::default_2_22_0': no resource plugin "
    "'pulumi-resource-snowflake' found in the workspace at version v2.22.0 or on your $PATH, install the plugin "
    "using `pulumi plugin install resource snowflake v2.22.0`\n"
)
PLUGIN_DOWNLOAD = (
    "error: Could not automatically download and install resource plugin 'pulumi-resource-github' at version "
    "v6.15.0, install the plugin using `pulumi plugin install resource github v6.15.0`.\n"
    "Underlying error: 403 HTTP error fetching plugin from https://get.pulumi.com/releases/plugins/\n"
)
NO_STACK = "error: no stack named 'prod' found\n"
PENDING_ERROR = (
    "error: the current deployment has 1 resource(s) with pending operations:\n"
    "  * urn:pulumi:prod::sophia-snowflake::snowflake:index/warehouse:Warehouse::warehouse-etl_wh, "
    "interrupted while updating\n\n"
    "These resources are in an unknown state because the Pulumi CLI was interrupted while\n"
    "waiting for changes to these resources to complete. You should confirm whether or not the\n"
    "operations listed completed successfully by checking the state of the appropriate provider.\n"
    "For example, if you are using AWS, you can confirm using the AWS Console.\n\n"
    "Once you have confirmed the status of the interrupted operations, you can repair your stack\n"
    "using 'pulumi stack export' to export your stack to a file. For each operation that succeeded,\n"
    "remove that operation from the \"pending_operations\" section of the file. Once this is complete,\n"
    "use 'pulumi stack import' to import the repaired stack.\n\nrefusing to proceed\n"
)
PENDING_WARNING = (
    "Diagnostics:\n  pulumi:pulumi:Stack (sophia-pgvector-prod):\n"
    "    warning: Attempting to deploy or update resources with 1 pending operations from previous deployment.\n"
    "      * urn:pulumi:prod::sophia-pgvector::pulumi-python:dynamic:Resource::index-docs, interrupted while creating\n"
    "    These resources are in an unknown state because the Pulumi CLI was interrupted while waiting for changes\n"
)
PASSPHRASE = (
    "error: getting secrets manager: failed to decrypt: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to "
    "the correct passphrase or set PULUMI_CONFIG_PASSPHRASE_FILE to a file containing the passphrase\n"
)


def test_the_sdk_sorts_conflicts_and_missing_stacks_the_way_we_rely_on() -> None:
    assert isinstance(command_error(CLOUD_CONFLICT), ConcurrentUpdateError)
    assert isinstance(command_error(DIY_LOCK), ConcurrentUpdateError)
    assert isinstance(command_error(NO_STACK), StackNotFoundError)
    assert type(command_error(PLUGIN)) is CommandError
    assert CLI_TESTED == "3.272.0"


@pytest.mark.parametrize("stderr", [CLOUD_CONFLICT, DIY_LOCK], ids=["cloud-409", "diy-lock"])
def test_concurrent_update_is_busy_and_names_the_stack(stderr: str) -> None:
    err = classify(command_error(stderr), stack=STACK)
    assert isinstance(err, StackBusyError)
    assert (err.code, err.exit_code) == ("busy", 6)
    assert err.message == f"busy: another update on stack {STACK}"
    assert "pulumi cancel" in err.hint and "never cancels" in err.hint


def test_diy_lock_holder_is_reported() -> None:
    err = classify(command_error(DIY_LOCK), stack=STACK)
    (holder,) = err.details["holders"]
    assert holder == {"lock": holder["lock"], "user": "alice", "host": "ci-runner-7", "pid": 4242,
                      "since": "2026-11-24T10:30:00Z"}
    assert holder["lock"].endswith("/prod/22d8693a-7bae-4563-bc98-27045e703b9f.json")


@pytest.mark.parametrize(("stderr", "name", "version", "line"), [
    (PLUGIN, "snowflake", "2.22.0", "pulumi plugin install resource snowflake v2.22.0"),
    (PLUGIN_DOWNLOAD, "github", "6.15.0", "pulumi plugin install resource github v6.15.0"),
])
def test_missing_plugin_names_the_install_line(stderr: str, name: str, version: str, line: str) -> None:
    err = classify(command_error(stderr), stack=STACK, operation="preview")
    assert isinstance(err, PluginMissingError) and err.code == "config_error"
    assert (err.details["plugin"], err.details["version"]) == (name, version)
    assert line in err.hint


def test_stack_not_found() -> None:
    err = classify(command_error(NO_STACK), stack=STACK)
    assert isinstance(err, OurStackNotFound) and err.code == "not_found" and "'prod'" in err.message


@pytest.mark.parametrize("stderr", [PENDING_ERROR, PENDING_WARNING], ids=["error-older-cli", "warning-newer-cli"])
def test_pending_operations_mean_needs_reconcile_never_cancel(stderr: str) -> None:
    err = classify(command_error(stderr), stack=STACK)
    assert isinstance(err, PendingOperationsError) and err.code == "needs_reconcile"
    (op,) = err.details["pending_operations"]
    assert op["urn"].startswith("urn:pulumi:prod::sophia-") and op["interrupted_while"] in ("updating", "creating")
    assert "never `pulumi cancel`" in err.hint


def test_wrong_passphrase_names_our_variable() -> None:
    err = classify(command_error(PASSPHRASE), stack=STACK)
    assert isinstance(err, PassphraseError) and "SOPHIA_PULUMI_CONFIG_PASSPHRASE" in err.hint


def test_missing_cli_is_a_config_error_naming_how_to_install() -> None:
    """The real exception: the Automation API runs ``pulumi version`` and the binary isn't there."""
    from pulumi import automation as auto

    with pytest.raises(FileNotFoundError) as raised:
        auto.create_or_select_stack("prod", project_name="sophia-test", program=lambda: None)
    err = classify(raised.value, stack=STACK)
    assert isinstance(err, CliMissingError) and err.code == "config_error" and err.exit_code == 12
    assert "not installed" in err.message and "get.pulumi.com" in err.hint and "SOPHIA_IAC_MANAGED" in err.hint


def test_too_old_cli_is_a_config_error() -> None:
    from pulumi.automation._cmd import _parse_and_validate_pulumi_version
    from semver import VersionInfo

    with pytest.raises(Exception) as raised:
        _parse_and_validate_pulumi_version(VersionInfo.parse("3.100.0"), "3.1.0", False)
    err = classify(raised.value, stack=STACK)
    assert isinstance(err, CliMissingError) and "Minimum version requirement failed" in err.message


def test_other_file_not_found_is_not_mistaken_for_a_missing_cli() -> None:
    err = classify(FileNotFoundError(2, "No such file or directory", "/srv/x/Pulumi.yaml"), stack=STACK)
    assert isinstance(err, IacError) and not isinstance(err, CliMissingError)


def test_anything_else_keeps_the_clis_words_without_secrets() -> None:
    SCRUBBER.register("sf-token-abcdef123456")
    exc = command_error("error: 1 error occurred:\n\t* 390100 (08004): Incorrect username or password was "
                        "specified. token=sf-token-abcdef123456\n")
    err = classify(exc, stack=STACK, operation="update")
    assert isinstance(err, IacError) and err.code == "platform_error"
    assert "Incorrect username or password" in err.message and "sf-token-abcdef123456" not in err.message
    inline = classify(InlineSourceRuntimeError.__new__(InlineSourceRuntimeError), stack=STACK)
    assert isinstance(inline, IacError)

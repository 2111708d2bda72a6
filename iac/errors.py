"""Pulumi failures as sophia-iac errors, each with a code and a next step.

The Automation API runs the ``pulumi`` CLI and sorts its failures by matching stderr text
(``pulumi.automation.errors.create_command_error``); we sort them further, on the same texts
(the CLI version the tests were written against is pinned in :data:`CLI_TESTED`):

=================================  =========================================================
CLI says                           we raise
=================================  =========================================================
``FileNotFoundError`` 'pulumi'     :class:`CliMissingError` (config_error): how to install it
CLI older than the SDK needs       :class:`CliMissingError` (config_error): update it
``[409] Conflict: Another …`` /    :class:`StackBusyError` (busy): another update holds the
``the stack is currently locked``  stack; the runner retries a bounded number of times
``no resource plugin '…' found``   :class:`PluginMissingError` (config_error): the install line
``no stack named '…' found``       :class:`StackNotFoundError` (not_found)
``… pending operations …``         :class:`PendingOperationsError` (needs_reconcile): refresh,
                                   never ``pulumi cancel`` automatically
passphrase missing / incorrect     :class:`PassphraseError` (config_error)
anything else                      :class:`IacError` (platform_error) with the CLI's own words
=================================  =========================================================

Importing this module does not import ``pulumi``: classification is by class name and text.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.credentials import scrub
from orchestrator.errors import AdapterError, BusyError, ConfigError, NotFoundError, SophiaError

__all__ = [
    "CLI_TESTED",
    "INSTALL_HINT",
    "CliMissingError",
    "IacError",
    "PassphraseError",
    "PendingOperationsError",
    "PluginMissingError",
    "StackBusyError",
    "StackNotFoundError",
    "classify",
]

#: The Pulumi SDK/CLI version whose error texts the mapping was checked against.
CLI_TESTED = "3.272.0"

INSTALL_HINT = (
    "install the Pulumi CLI (https://www.pulumi.com/docs/iac/download-install/: "
    "`curl -fsSL https://get.pulumi.com | sh`, or `brew install pulumi/tap/pulumi`) and check "
    "`pulumi version`; only resources listed in SOPHIA_IAC_MANAGED need it"
)

_CONFLICT = ("[409] Conflict: Another update is currently in progress", "the stack is currently locked by")
_LOCK_HOLDER = re.compile(r"^\s*(\S+): created by (\S+)@(\S+) \(pid (\d+)\) at (\S+)", re.MULTILINE)
_PLUGIN = re.compile(
    r"no (\w+) plugin '(?:pulumi-\w+-)?([\w.-]+)' found in the workspace(?: at version v?([\w.+-]+))?"
    r"|Could not automatically download and install (\w+) plugin '(?:pulumi-\w+-)?([\w.-]+)'(?: at version v?([\w.+-]+))?"
)
_NO_STACK = re.compile(r"no stack named '([^']+)' found")
_PENDING = re.compile(
    r"the current deployment has (\d+) resource\(s\) with pending operations"
    r"|Attempting to deploy or update resources with (\d+) pending operations"
)
_PENDING_OP = re.compile(r"\*\s+(urn:pulumi:\S+?),? interrupted while (\w+)")
_PASSPHRASE = re.compile(r"incorrect passphrase|passphrase must be set with PULUMI_CONFIG_PASSPHRASE")


class IacError(AdapterError):
    """A Pulumi operation failed; the message carries the CLI's own words."""


class CliMissingError(ConfigError):
    """The ``pulumi`` CLI is not installed, not on PATH, or too old for the SDK."""


class PluginMissingError(ConfigError):
    """A resource plugin the program needs is not installed (and could not be fetched)."""


class PassphraseError(ConfigError):
    """The stack's passphrase is missing or wrong."""


class StackBusyError(BusyError):
    """Another update holds the stack (a Pulumi Cloud lease or a DIY-backend lock file)."""


class StackNotFoundError(NotFoundError):
    """The stack does not exist in the backend."""


class PendingOperationsError(AdapterError):
    """A crashed update left operations pending: the resources are in an unknown state."""

    code = "needs_reconcile"


def _tail(text: str, lines: int = 6) -> str:
    kept = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip()][-lines:]
    return scrub("\n".join(kept))


def _texts(exc: BaseException) -> tuple[str, str]:
    """(stderr, stdout) of a CommandError, else (str(exc), "")."""
    result = getattr(exc, "command_result", None)
    if result is not None:
        return str(result.stderr or ""), str(result.stdout or "")
    text = str(exc)
    if "\n stderr: " in text:  # CommandError's str: "\n code: …\n stdout: …\n stderr: …"
        head, _, stderr = text.partition("\n stderr: ")
        return stderr, head.partition("\n stdout: ")[2]
    return text, ""


def classify(exc: BaseException, *, stack: str, operation: str = "update") -> SophiaError:
    """The sophia-iac error for a failure of ``operation`` on ``stack`` (``project/stack``)."""
    if isinstance(exc, SophiaError):
        return exc
    if isinstance(exc, FileNotFoundError) and "pulumi" in str(exc.filename or ""):
        return CliMissingError(
            "the pulumi CLI is not installed or not on PATH, so infrastructure managed as code can't be planned or changed",
            hint=INSTALL_HINT, details={"stack": stack},
        )
    if type(exc).__name__ == "InvalidVersionError":
        return CliMissingError(f"the pulumi CLI can't be used: {exc}", hint=INSTALL_HINT, details={"stack": stack})
    stderr, stdout = _texts(exc)
    both = f"{stderr}\n{stdout}"
    details: dict[str, Any] = {"stack": stack, "operation": operation, "pulumi_error": type(exc).__name__}
    if type(exc).__name__ == "ConcurrentUpdateError" or any(text in both for text in _CONFLICT):
        holders = [{"lock": m[0], "user": m[1], "host": m[2], "pid": int(m[3]), "since": m[4]}
                   for m in _LOCK_HOLDER.findall(both)]
        return StackBusyError(
            f"busy: another update on stack {stack}",
            hint="wait for it to finish; if no update is running (a crashed run left its lock), check the "
                 "holder and run `pulumi cancel` by hand — sophia-iac never cancels an update itself",
            details=details | {"holders": holders},
        )
    pending = _PENDING.search(both)
    if pending:
        operations = [{"urn": urn, "interrupted_while": op} for urn, op in _PENDING_OP.findall(both)]
        return PendingOperationsError(
            f"stack {stack} has {pending.group(1) or pending.group(2)} operation(s) left pending by an interrupted "
            "update: those resources are in an unknown state",
            hint="check those resources on the platform; an update refreshes the stack first and applies nothing "
                 "while operations are pending (never `pulumi cancel` while an update may still be running)",
            details=details | {"pending_operations": operations},
        )
    plugin = _PLUGIN.search(both)
    if plugin:
        kind = plugin.group(1) or plugin.group(4)
        name = plugin.group(2) or plugin.group(5)
        version = plugin.group(3) or plugin.group(6)
        line = f"pulumi plugin install {kind} {name}" + (f" v{version}" if version else "")
        return PluginMissingError(
            f"the Pulumi {kind} plugin '{name}'{' v' + version if version else ''} is not installed",
            hint=f"run `{line}` (this machine could not download it)",
            details=details | {"plugin": name, "version": version, "kind": kind},
        )
    missing = _NO_STACK.search(both)
    if missing or type(exc).__name__ == "StackNotFoundError":
        name = missing.group(1) if missing else stack
        return StackNotFoundError(
            f"no Pulumi stack {name!r} in the backend",
            hint="check SOPHIA_IAC_BACKEND_URL and the environment name; sophia-iac creates stacks on first use",
            details=details,
        )
    if _PASSPHRASE.search(both):
        return PassphraseError(
            f"the secrets passphrase for stack {stack} is missing or wrong",
            hint="set SOPHIA_PULUMI_CONFIG_PASSPHRASE (or SOPHIA_PULUMI_CONFIG_PASSPHRASE_FILE) to the stack's passphrase",
            details=details,
        )
    said = _tail(stderr) or _tail(stdout) or scrub(f"{type(exc).__name__}: {exc}")
    return IacError(
        f"pulumi {operation} on {stack} failed: {said}",
        hint="see the Pulumi output above; the stack was exported before the update and can be restored",
        details=details,
    )

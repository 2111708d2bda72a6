"""One error hierarchy with stable codes and a next step.

Surfaces map :attr:`SophiaError.code` to an exit code (CLI), an HTTP status (REST) or a
Slack message; they never show a traceback for these.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AdapterError",
    "ApprovalError",
    "BusyError",
    "ConfigError",
    "IrreversibleError",
    "LedgerTamperedError",
    "NotFoundError",
    "NotUnderstoodError",
    "PolicyDeniedError",
    "SophiaError",
    "StoreUnavailableError",
    "ValidationFailedError",
]


class SophiaError(Exception):
    """Base error: a stable ``code``, a message, and what to do about it.

    Attributes:
        code: stable identifier (``busy``, ``validation_failed`` …) surfaces switch on.
        exit_code: the CLI's exit status for this error.
        http_status: the REST status for this error.
        hint: the next step for the user.
        details: machine-readable extras (field errors, candidates, lock holder …).
    """

    code: ClassVar[str] = "internal_error"
    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, hint: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"code", "message", "hint", "details"}``."""
        return {"code": self.code, "message": self.message, "hint": self.hint, "details": self.details}

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class NotUnderstoodError(SophiaError):
    """The command could not be turned into a catalog action or built-in intent."""

    code = "not_understood"
    exit_code = 3
    http_status = 422


class ValidationFailedError(SophiaError):
    """Params or a plan failed validation against the catalog."""

    code = "validation_failed"
    exit_code = 4
    http_status = 422


class PolicyDeniedError(SophiaError):
    """Policy said no (or could not answer, which is the same thing)."""

    code = "policy_denied"
    exit_code = 5
    http_status = 403


class BusyError(SophiaError):
    """Another writer holds the lock on the resource."""

    code = "busy"
    exit_code = 6
    http_status = 409


class NotFoundError(SophiaError):
    """A run, change or resource that does not exist."""

    code = "not_found"
    exit_code = 7
    http_status = 404


class IrreversibleError(SophiaError):
    """An undo of a change that can't be undone."""

    code = "irreversible"
    exit_code = 8
    http_status = 409


class ApprovalError(SophiaError):
    """An approval that is void: wrong run, expired, plan changed, not allowed to decide."""

    code = "approval_invalid"
    exit_code = 9
    http_status = 409


class StoreUnavailableError(SophiaError):
    """The state store (database) can't be reached; nothing was changed."""

    code = "store_unavailable"
    exit_code = 10
    http_status = 503


class AdapterError(SophiaError):
    """A platform call failed; the message names the platform and action."""

    code = "platform_error"
    exit_code = 11
    http_status = 502


class ConfigError(SophiaError):
    """Configuration is missing or wrong (a credential, a URL, a setting)."""

    code = "config_error"
    exit_code = 12
    http_status = 500


class LedgerTamperedError(SophiaError):
    """``ledger verify`` found an edited, inserted or deleted row."""

    code = "ledger_tampered"
    exit_code = 13
    http_status = 500

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
    "outcome_unknown",
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


#: ``details["outcome"]`` on an error from a platform call: what the caller may assume.
#: ``unsent`` — nothing reached the platform; ``refused`` — it answered and did not act;
#: ``unknown`` — the request may have reached it and been applied (a lost answer, a 5xx,
#: an unreadable body, a 404/409 on a retry of a request that may already have landed).
OUTCOMES = ("unsent", "refused", "unknown")

#: Errors that are raised before anything is sent, or that say the request was refused.
_DEFINITE = (ValidationFailedError, ConfigError, PolicyDeniedError, BusyError, ApprovalError,
             NotUnderstoodError, StoreUnavailableError)


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a failed platform call may nonetheless have changed the platform.

    Only an error that says so (``details["outcome"]`` of ``unsent``/``refused``) or one raised
    before anything is sent counts as "nothing changed"; anything else — an unexpected
    exception, an adapter error that doesn't say — may have landed, and is settled by reading
    the platform back.
    """
    if not isinstance(exc, SophiaError):
        return True
    said = exc.details.get("outcome")
    if said in ("unsent", "refused"):
        return False
    if said == "unknown":
        return True
    return not isinstance(exc, _DEFINITE)

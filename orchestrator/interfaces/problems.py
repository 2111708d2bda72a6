"""RFC 9457 problem details: every REST error is ``application/problem+json`` with a stable code.

The body is ``{type, title, status, detail, code, hint, details, instance}``; ``code`` is the
:class:`~orchestrator.errors.SophiaError` code (``busy``, ``not_found``, ``policy_denied`` …),
the same one the CLI prints and exits with.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PROBLEM_TYPE_BASE", "ProblemResponse", "UnexpectedErrors", "install_error_handlers", "problem"]

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://sophia-iac.dev/problems/"

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "validation_failed", 429: "rate_limited", 500: "internal_error", 503: "unavailable",
}


class ProblemResponse(JSONResponse):
    """A JSON response with the problem+json media type."""

    media_type = "application/problem+json"


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, code: str, detail: str, *, hint: str = "", details: dict[str, Any] | None = None,
            instance: str | None = None, headers: dict[str, str] | None = None) -> ProblemResponse:
    """A problem+json response."""
    body = {
        "type": PROBLEM_TYPE_BASE + code, "title": _title(status), "status": status, "detail": detail,
        "code": code, "hint": hint, "details": _jsonable(details or {}),
    }
    if instance:
        body["instance"] = instance
    return ProblemResponse(body, status_code=status, headers=headers)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def install_error_handlers(app: FastAPI) -> None:
    """Map SophiaError, validation errors, HTTP errors and anything unexpected to problems."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from orchestrator.errors import SophiaError

    async def sophia_error(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, SophiaError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        return problem(exc.http_status, exc.code, exc.message, hint=exc.hint, details=exc.details,
                       instance=request.url.path, headers=headers)

    async def validation_error(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""),
                   "type": e.get("type", "")} for e in exc.errors()]
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        return problem(422, "validation_failed", f"{first['location']}: {first['message']}",
                       hint="fix the request and send it again", details={"errors": errors},
                       instance=request.url.path)

    async def http_error(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = HTTP_CODES.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        return problem(exc.status_code, code, str(exc.detail), instance=request.url.path, headers=headers or None)

    app.add_exception_handler(SophiaError, sophia_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(UnexpectedErrors)


class UnexpectedErrors:
    """Pure ASGI middleware: anything unhandled becomes a logged 500 problem, not a traceback.

    (Starlette's own server-error handler answers and then re-raises, which logs everything
    twice and fails the request in test clients; this one answers and stops there.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            from adapters.credentials import scrub

            log.error("unhandled error on %s %s: %s", scope.get("method"), scope.get("path"),
                      scrub(f"{type(exc).__name__}: {exc}"), exc_info=exc)
            if started:
                raise
            response = problem(500, "internal_error", "an unexpected error occurred",
                               hint="the server logged it; report it with the time of the request",
                               instance=str(scope.get("path", "")))
            await response(scope, receive, send)

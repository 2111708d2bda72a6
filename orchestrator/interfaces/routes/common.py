"""What every route shares: the app context, authentication by role, idempotency keys.

Authentication: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. No key (or an
unknown/revoked one) → 401; a key whose role does not include the route's → 403.

Idempotency: a mutating POST may carry ``Idempotency-Key`` (≤ 255 characters). The same key
with the same body replays the first response (``Idempotent-Replayed: true``) and the work is
done once; with a different body → 422 ``idempotency_key_reused``; while the first request is
still running → 409 ``idempotency_key_in_flight``. 5xx outcomes are not stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Header
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orchestrator.errors import SophiaError
from orchestrator.interfaces.problems import ProblemResponse, problem
from orchestrator.interfaces.schemas import Problem
from state.identities import Identity

if TYPE_CHECKING:
    from orchestrator.interfaces.host import ServiceHost
    from orchestrator.interfaces.metrics import Metrics
    from orchestrator.interfaces.slack import SlackApp
    from state.store import Store

__all__ = [
    "PROBLEMS",
    "AppContext",
    "Approver",
    "IdempotencyKey",
    "Operator",
    "Viewer",
    "ctx",
    "idempotent",
    "json_response",
    "require",
]


@dataclass
class AppContext:
    """Everything the routes need, hung on ``app.state.ctx`` by :func:`~orchestrator.interfaces.api.create_app`."""

    host: ServiceHost
    store: Store
    metrics: Metrics
    slack: SlackApp | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def ctx(request: Request) -> AppContext:
    """The app context of the request's app."""
    context: AppContext = request.app.state.ctx
    return context


def _problem_doc(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


#: Error responses documented on every authenticated route.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem_doc("The body is not valid JSON (code `bad_request`)."),
    401: _problem_doc("No API key, or an unknown or revoked one (code `unauthorized`)."),
    403: _problem_doc("The key's role does not allow this (code `forbidden`)."),
    422: _problem_doc("The request is invalid (code `validation_failed` and others)."),
    503: _problem_doc("The state store is unreachable (code `store_unavailable`); nothing was changed."),
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """:data:`PROBLEMS` plus extra documented statuses."""
    docs = {404: "Not found (code `not_found`).", 409: "Conflict (codes `approval_invalid`, `busy`, "
            "`idempotency_key_in_flight`, …).", 400: "Bad request."}
    return PROBLEMS | {c: _problem_doc(docs.get(c, "Error.")) for c in codes}


_bearer = HTTPBearer(auto_error=False, description="An API key from `sophia-iac keys create`.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (alternative header).")


class AuthError(SophiaError):
    """No usable credential."""

    code = "unauthorized"
    http_status = 401
    exit_code = 1


class ForbiddenError(SophiaError):
    """Authenticated, but the role does not allow this."""

    code = "forbidden"
    http_status = 403
    exit_code = 1


def require(role: str) -> Callable[..., Awaitable[Identity]]:
    """A dependency that authenticates the caller and checks that its role includes ``role``."""

    async def dependency(request: Request,
                         bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                         api_key: Annotated[str | None, Depends(_api_key)]) -> Identity:
        from state.identities import ApiKeys

        key = (bearer.credentials if bearer else None) or api_key
        if not key:
            raise AuthError("an API key is required", hint="send `Authorization: Bearer <key>`; "
                            "create one with `sophia-iac keys create --role R --name N`")
        who = await run_in_threadpool(ApiKeys(ctx(request).store).authenticate, key.strip())
        if who is None:
            raise AuthError("the API key is unknown or revoked", hint="check the key, or create a new one")
        if not who.allows(role):
            raise ForbiddenError(f"{who.name} has role {who.role}; this needs {role}",
                                 hint=f"use a key with role {role} or higher")
        request.state.identity = who
        return who

    return dependency


#: The authenticated caller, by the least role a route needs.
Viewer = Annotated[Identity, Depends(require("viewer"))]
Operator = Annotated[Identity, Depends(require("operator"))]
Approver = Annotated[Identity, Depends(require("approver"))]

IdempotencyKey = Header(default=None, alias="Idempotency-Key", min_length=1, max_length=255,
                        description="Makes the request safe to retry: the same key and body get the first "
                                    "response back, and the work is done once.")


def json_response(data: Any, status: int = 200) -> JSONResponse:
    """A JSON response."""
    return JSONResponse(data, status_code=status)


async def _run(work: Callable[[], Awaitable[Response]], request: Request) -> Response:
    try:
        return await work()
    except SophiaError as exc:
        return problem(exc.http_status, exc.code, exc.message, hint=exc.hint, details=exc.details,
                       instance=request.url.path)


async def idempotent(request: Request, who: Identity, key: str | None, fingerprint: Any,
                     work: Callable[[], Awaitable[Response]]) -> Response:
    """Run ``work`` once per (caller, key); replay its stored response to retries."""
    if not key:
        return await _run(work, request)
    from state.idempotency import IdempotencyStore

    store = IdempotencyStore(ctx(request).store)
    digest = hashlib.sha256(json.dumps([request.method, request.url.path, fingerprint], sort_keys=True,
                                       default=str).encode()).hexdigest()
    principal = who.actor or who.name
    begin = await run_in_threadpool(store.begin, key, principal, digest)
    if begin.outcome == "mismatch":
        return problem(422, "idempotency_key_reused", "this Idempotency-Key was used with a different request",
                       hint="use a new key for a new request", instance=request.url.path)
    if begin.outcome == "in_flight":
        return problem(409, "idempotency_key_in_flight", "a request with this Idempotency-Key is still running",
                       hint="wait for it to finish, then retry to get its response", instance=request.url.path)
    if begin.outcome == "replay":
        status = begin.status or 200
        media = "application/problem+json" if status >= 400 else "application/json"
        return Response(begin.body or "", status_code=status, media_type=media,
                        headers={"Idempotent-Replayed": "true"})
    try:
        response = await _run(work, request)
    except BaseException:
        await run_in_threadpool(store.abandon, key, principal)
        raise
    if response.status_code >= 500:
        await run_in_threadpool(store.abandon, key, principal)
    else:
        body = bytes(response.body).decode() if isinstance(response, (JSONResponse, ProblemResponse)) else ""
        await run_in_threadpool(store.finish, key, principal, response.status_code, body)
    return response

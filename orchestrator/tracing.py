"""OpenTelemetry traces: a span per run, graph node, adapter call, HTTP attempt and webhook.

Tracing is off unless something turns it on, and off costs nothing measurable: :func:`span`
returns a shared no-op context manager after one global check, and ``opentelemetry`` is never
imported (the CLI's read path must not pay for it). Two things turn it on:

* ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) in the
  environment: the first span builds a ``TracerProvider`` that batches spans to that endpoint
  over OTLP/HTTP (``opentelemetry-exporter-otlp-proto-http``, the ``otel`` extra; the SDK reads
  the other standard ``OTEL_*`` variables itself, and ``OTEL_SERVICE_NAME`` names the service,
  ``sophia-iac`` by default; ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` keep it
  off). Without the exporter package, an error is logged once and tracing stays off: telemetry
  never stops a change;
* :func:`use_exporter` (tests: the SDK's ``InMemorySpanExporter``), which wins over the env.

The tree: ``sophia.run`` (``sophia.run_id``) → ``node.<name>`` → ``apply.step`` (the change
id and its settled ledger status) → ``adapter.<op>`` (``sophia.platform``, ``sophia.action``,
``sophia.target``, ``sophia.outcome``) → ``HTTP <METHOD>`` (client kind, OTel HTTP semantic
conventions). Webhooks: ``webhook.receive`` at the door, ``webhook.process`` in the worker. In
the server, FastAPI's own request span (its native telemetry, given this provider: see
:func:`orchestrator.interfaces.api.create_app`) is the parent of everything a request does, and
carries an incoming W3C ``traceparent``.

**Secrets.** Attributes carry names only — platform, action, target, ids, statuses — never param
values. A failure sets the span's status to error with an ``exception`` event whose message is
scrubbed (:func:`adapters.credentials.scrub`) and has the call's secret-param literals masked.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

    from adapters.catalog import ActionCall

__all__ = [
    "ENDPOINT_VARS",
    "adapter_span",
    "carry",
    "enabled",
    "mark_error",
    "provider",
    "reset",
    "span",
    "traced_node",
    "traced_observe",
    "use_exporter",
]

log = logging.getLogger(__name__)

#: Either turns OTLP export on.
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
TRACER_NAME = "sophia-iac"
_NOOP: AbstractContextManager[None] = nullcontext()
_UNSET: Any = object()
_lock = threading.Lock()
_tracer: Tracer | None = _UNSET
_provider: TracerProvider | None = None

F = TypeVar("F", bound=Callable[..., Any])


def _resolve() -> Tracer | None:
    """The tracer, built on first use from the environment (None: tracing is off)."""
    global _tracer, _provider
    with _lock:
        if _tracer is not _UNSET:
            return _tracer
        if not any(os.environ.get(var, "").strip() for var in ENDPOINT_VARS) or _switched_off():
            _tracer = None
            return None
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.error("%s is set but opentelemetry-exporter-otlp-proto-http is not installed: no traces are "
                      "exported (pip install 'sophia-iac[otel]')", ENDPOINT_VARS[0])
            _tracer = None
            return None
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        _provider = _new_provider()
        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _tracer = _provider.get_tracer(TRACER_NAME)
        return _tracer


def _switched_off() -> bool:
    """The standard off switches: ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``."""
    return (os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
            or os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none")


def _new_provider() -> TracerProvider:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    name = os.environ.get("OTEL_SERVICE_NAME", "").strip() or TRACER_NAME
    return TracerProvider(resource=Resource.create({"service.name": name}))


def enabled() -> bool:
    """Whether spans are recorded in this process."""
    tracer = _tracer if _tracer is not _UNSET else _resolve()
    return tracer is not None


def provider() -> TracerProvider | None:
    """The tracer provider spans go to (None: tracing is off); FastAPI's request spans use it too."""
    return _provider if enabled() else None


def use_exporter(exporter: SpanExporter) -> TracerProvider:
    """Record every span to ``exporter`` synchronously, whatever the environment says (tests).

    Returns the provider; :func:`reset` forgets it.
    """
    global _tracer, _provider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    with _lock:
        made = _new_provider()
        made.add_span_processor(SimpleSpanProcessor(exporter))
        _provider, _tracer = made, made.get_tracer(TRACER_NAME)
        return made


def reset() -> None:
    """Flush and forget the tracer; the next span reads the environment again."""
    global _tracer, _provider
    with _lock:
        if _provider is not None:
            _provider.shutdown()
        _provider, _tracer = None, _UNSET


def span(name: str, attributes: dict[str, Any] | None = None, *, kind: str = "internal",
         call: ActionCall | None = None) -> AbstractContextManager[Span | None]:
    """A span around a block, current for the block; a shared no-op when tracing is off.

    ``kind``: ``internal``, ``client`` or ``server``. An exception leaving the block marks the
    span as an error (:func:`mark_error`, masking ``call``'s secret params) and is re-raised;
    LangGraph's interrupt (a pause for confirmation or approval) is not an error.
    """
    tracer = _tracer if _tracer is not _UNSET else _resolve()
    if tracer is None:
        return _NOOP
    return _span(tracer, name, attributes, kind, call)


@contextmanager
def _span(tracer: Tracer, name: str, attributes: dict[str, Any] | None, kind: str,
          call: ActionCall | None) -> Iterator[Span]:
    from opentelemetry.trace import SpanKind

    with tracer.start_as_current_span(name, kind=SpanKind[kind.upper()], attributes=_clean(attributes),
                                      record_exception=False, set_status_on_exception=False) as current:
        try:
            yield current
        except BaseException as exc:
            if _is_pause(exc):
                current.set_attribute("sophia.interrupted", True)
            else:
                mark_error(current, exc, call)
            raise


def _clean(attributes: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: v for k, v in attributes.items() if v is not None} if attributes else None


def _is_pause(exc: BaseException) -> bool:
    """LangGraph's interrupt bubbling up (checked by name: this module never imports LangGraph)."""
    return any(cls.__name__ == "GraphBubbleUp" for cls in type(exc).__mro__)


def mark_error(current: Span | None, exc: BaseException, call: ActionCall | None = None) -> None:
    """Set error status, ``error.type`` and an ``exception`` event (message scrubbed) on ``current``."""
    if current is None:
        return
    from opentelemetry.trace import Status, StatusCode

    message = safe_message(exc, call)
    kind = getattr(exc, "code", None)
    error_type = kind if isinstance(kind, str) else f"{type(exc).__module__}.{type(exc).__qualname__}"
    current.set_attribute("error.type", error_type)
    current.add_event("exception", {"exception.type": f"{type(exc).__module__}.{type(exc).__qualname__}",
                                    "exception.message": message})
    current.set_status(Status(StatusCode.ERROR, message[:200]))


def safe_message(exc: BaseException, call: ActionCall | None = None) -> str:
    """``str(exc)`` scrubbed of known secrets and of ``call``'s secret-param literals."""
    from adapters.credentials import scrub

    message = str(exc)
    if call is not None and call.params:
        from adapters.credentials import REDACTED
        from orchestrator.secret_params import is_reference

        try:
            from adapters.registry import spec_for

            secret = spec_for(call.action).secret_params
        except Exception:  # noqa: BLE001 - an unknown action: treat every string param as secret
            secret = frozenset(call.params)
        for key in secret:
            value = call.params.get(key)
            if isinstance(value, str) and value and not is_reference(value):
                message = message.replace(value, REDACTED)
    return scrub(message)


def adapter_span(op: str, platform: str, call: ActionCall | None = None,
                 **extra: Any) -> AbstractContextManager[Span | None]:
    """The span of one adapter call: ``adapter.<op>`` with platform, action and target.

    Set ``sophia.outcome`` inside the block with :func:`outcome` when there is more to say
    than ``ok`` (the default on success) or the error code (on failure).
    """
    attributes: dict[str, Any] = {"sophia.platform": platform, "sophia.operation": op, **extra}
    if call is not None:
        attributes["sophia.action"] = call.action
        attributes["sophia.target"] = call.target
    return _outcome_span(f"adapter.{op}", attributes, call) if enabled() else _NOOP


@contextmanager
def _outcome_span(name: str, attributes: dict[str, Any], call: ActionCall | None) -> Iterator[Span | None]:
    with span(name, attributes, call=call) as current:
        try:
            yield current
        except BaseException as exc:
            if current is not None and not _is_pause(exc):
                kind = getattr(exc, "code", None)
                current.set_attribute("sophia.outcome", kind if isinstance(kind, str) else "error")
            raise
        if current is not None and "sophia.outcome" not in (getattr(current, "attributes", None) or {}):
            current.set_attribute("sophia.outcome", "ok")


def carry() -> Callable[[], AbstractContextManager[None]]:
    """What is current here — the span and the log ids — to re-enter on another thread or loop.

    Call it where the work is handed over; use the result as ``with carried():`` where it runs
    (the service host runs a REST/Slack request's run on its own loop, whose tasks don't inherit
    the request's context).
    """
    from orchestrator.logs import bind, current_ids

    ids = current_ids()
    parent = None
    if enabled():
        from opentelemetry import context

        parent = context.get_current()

    @contextmanager
    def carried() -> Iterator[None]:
        token = None
        if parent is not None:
            from opentelemetry import context

            token = context.attach(parent)
        try:
            with bind(**ids):
                yield
        finally:
            if token is not None:
                from opentelemetry import context

                context.detach(token)

    return carried


def traced_node(name: str, node: F) -> F:
    """``node`` (a graph node, sync or async) wrapped in a ``node.<name>`` span.

    The wrapper keeps the node's signature and annotations (``functools.wraps``): LangGraph reads
    them to pass ``runtime`` and to draw the node's exits.
    """
    from inspect import iscoroutinefunction

    attributes = {"sophia.node": name}
    if iscoroutinefunction(node):
        @wraps(node)
        async def run_async(state: Any, *args: Any, **kwargs: Any) -> Any:
            with span(f"node.{name}", attributes):
                return await node(state, *args, **kwargs)

        return run_async  # type: ignore[return-value]

    @wraps(node)
    def run_sync(state: Any, *args: Any, **kwargs: Any) -> Any:
        with span(f"node.{name}", attributes):
            return node(state, *args, **kwargs)

    return run_sync  # type: ignore[return-value]



async def traced_observe(adapter: Any, call: ActionCall) -> Any:
    """``await adapter.observe(call)`` inside an ``adapter.observe`` span."""
    with adapter_span("observe", call.platform, call):
        return await adapter.observe(call)

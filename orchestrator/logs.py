"""Structured logs: the ids a line belongs to, from context, and one JSON formatter.

:func:`bind` sets ``run_id`` / ``change_id`` / ``delivery_id`` for the block (context variables,
so concurrent runs on one event loop, and the worker threads ``asyncio.to_thread`` starts,
each see their own). :class:`ContextFilter` copies them — and the active span's ``trace_id`` /
``span_id``, when a span is recording — onto every record; :class:`JsonFormatter` renders a
record as one JSON object a line.

:func:`configure_logging` is what ``sophia-iac serve`` (and so its inbox worker) calls:
``SOPHIA_LOG_FORMAT=json`` selects JSON lines, anything else (the default, ``text``) the
readable format. Both carry the ids (text shows them as ``key=value`` after the message), and
both scrub secrets (:class:`adapters.credentials.ScrubbingFilter`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = ["IDS", "ContextFilter", "JsonFormatter", "TextFormatter", "bind", "configure_logging", "current_ids"]

#: The ids a log line can belong to, in the order they are shown.
IDS = ("run_id", "change_id", "delivery_id")
_VARS: dict[str, ContextVar[str | None]] = {name: ContextVar(f"sophia_{name}", default=None) for name in IDS}
#: Record attributes that are not extra fields.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "trace_id", "span_id", "color_message", *IDS}  # color_message: uvicorn's ANSI copy


@contextmanager
def bind(**ids: str | None) -> Iterator[None]:
    """Set some of ``run_id``, ``change_id``, ``delivery_id`` for the block (None values are skipped)."""
    tokens = [(_VARS[name], _VARS[name].set(value)) for name, value in ids.items() if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_ids() -> dict[str, str]:
    """The ids bound here, without the unset ones."""
    return {name: value for name, var in _VARS.items() if (value := var.get()) is not None}


def _span_ids() -> dict[str, str]:
    """The current span's ids, if OpenTelemetry is loaded and a span is recording."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return {}
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


class ContextFilter(logging.Filter):
    """Puts the bound ids and the span's ids on each record (install it on the handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (current_ids() | _span_ids()).items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts``, ``level``, ``logger``, ``message``, the ids, extras, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in (*IDS, "trace_id", "span_id"):
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        from adapters.credentials import SCRUBBER

        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = SCRUBBER.scrub_obj(value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """The readable format, with the ids as ``key=value`` after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = " ".join(f"{name}={value}" for name in (*IDS, "trace_id") if (value := getattr(record, name, None)))
        return f"{text} [{ids}]" if ids else text


def configure_logging(level: str = "info", fmt: str | None = None, stream: Any = None) -> logging.Handler:
    """Log to ``stream`` (stderr) from the root logger, as JSON or text, ids and scrubbing included.

    ``fmt``: ``json`` or ``text``; default ``SOPHIA_LOG_FORMAT`` (unset: ``text``). Replaces the
    root's handlers; returns the one installed.
    """
    from adapters.credentials import ScrubbingFilter

    chosen = (fmt or os.environ.get("SOPHIA_LOG_FORMAT", "") or "text").strip().lower()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ScrubbingFilter())
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler

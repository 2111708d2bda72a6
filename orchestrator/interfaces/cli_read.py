"""The CLI's quick path for read-only commands, and their text output.

``history``, ``runs``, ``approvals`` and a cached ``status`` answer from the state file
(:mod:`orchestrator.readonly`) when they may, and start the service otherwise; either way the
answer, its JSON and its errors are the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from state.reader import StateReader

__all__ = ["ago", "answer", "echo_runs", "printable", "quick", "render_approvals", "render_cached_status"]

T = TypeVar("T")


def quick(as_json: bool, fn: Callable[[StateReader], T]) -> tuple[bool, T | None]:
    """``(True, fn(reader))`` when the quick path may answer, else ``(False, None)``."""
    import sqlite3

    from orchestrator.interfaces import cli

    def from_file() -> tuple[bool, T | None]:
        from orchestrator.config import get_settings
        from orchestrator.readonly import open_reader

        try:
            reader = open_reader(get_settings())
        except sqlite3.Error:
            return False, None
        if reader is None:
            return False, None
        try:
            return True, fn(reader)
        except sqlite3.Error:  # locked past the timeout, damaged: the service says so properly
            return False, None
        finally:
            reader.close()

    return cli._mapped(as_json, from_file)


def answer(as_json: bool, fast: Callable[[StateReader], T], slow: Callable[[Any], Awaitable[T]]) -> T:
    """``fast(reader)`` when the quick path may answer, else ``slow(service)`` on a started service."""
    from orchestrator.interfaces import cli

    answered, result = quick(as_json, fast)
    return result if answered else cli._with_service(as_json, slow)  # type: ignore[return-value]


def printable(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN``: a command's text is untrusted, and
    an escape sequence in it must not reach the terminal as one."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def echo_runs(rows: list[dict[str, Any]]) -> None:
    """One line per run: id, time, status, actor, command."""
    for r in rows:
        print(f"{r['id']}  {r['created_at'][:19]}  {r['status']:<22} {printable(r['actor']):<16} "
              f"{printable(r['text'][:60])}", flush=True)


def render_approvals(pending: list[dict[str, Any]]) -> None:
    """Runs awaiting approval as a table: who asked, what, who may decide, what's needed, expiry, why."""
    if not pending:
        print("no run awaits approval", flush=True)
        return
    from rich.markup import escape
    from rich.table import Table

    from orchestrator.interfaces.render import _console

    table = Table(title="Awaiting approval")
    for col in ("run", "requested by", "command", "approvers", "needs", "expires (UTC)", "why"):
        table.add_column(col)
    for p in pending:
        needs = f"{len(p.get('approvals') or [])}/{p.get('min_approvals', 1)}" + (" 4-eyes" if p.get("four_eyes") else "")
        expires = str(p.get("expires_at", ""))[:16].replace("T", " ") + (" EXPIRED" if p.get("expired") else "")
        why = "; ".join(r["rule"] for r in p.get("reasons", []))
        table.add_row(p["run_id"], escape(str(p.get("requester", ""))), escape(printable(p.get("text", "")[:60])),
                      escape(", ".join(p.get("approvers") or []) or "any"), needs, expires, escape(why))
    _console().print(table)


def ago(iso: str | None, now: datetime | None = None) -> str:
    """``just now``, ``42 s ago``, ``5 min ago``, ``3 h ago``, ``2 d ago`` (or ``never``)."""
    if not iso:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - datetime.fromisoformat(iso)).total_seconds())
    if seconds < 5:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def render_cached_status(statuses: list[dict[str, Any]]) -> None:
    """The cached status: each platform with the age of its last check, then how to check now."""
    from orchestrator.interfaces.render import render_status

    render_status(statuses, ages={s["platform"]: ago(s.get("checked_at")) for s in statuses})
    newest = max((s["checked_at"] for s in statuses if s.get("checked_at")), default=None,
                 key=datetime.fromisoformat)
    oldest = min((s["checked_at"] for s in statuses if s.get("checked_at")), default=None,
                 key=datetime.fromisoformat)
    span = ago(oldest) if oldest == newest else f"{ago(newest)} to {ago(oldest)}"
    print(f"cached: checked {span}; `sophia-iac status --refresh` checks the platforms now", flush=True)

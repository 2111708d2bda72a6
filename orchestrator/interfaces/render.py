"""Terminal rendering for the CLI (Rich, imported only when something is printed)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

__all__ = ["change_status", "diff_text", "print_error", "print_json", "render_actions", "render_changes", "render_run", "render_status"]


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _console(stderr: bool = False) -> Any:
    """A console as wide as the terminal, or as ``COLUMNS`` says; 160 columns into a pipe or file."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS", "").isdigit() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def print_error(err: dict[str, Any]) -> None:
    """A user error on stderr: message, then what to do."""
    from rich.markup import escape

    con = _console(stderr=True)
    con.print(f"[bold red]error[/] [dim]({escape(err.get('code', 'error'))})[/]: {escape(err.get('message', ''))}")
    if err.get("hint"):
        con.print(f"  [yellow]→[/] {escape(err['hint'])}")
    hint = err.get("hint") or ""
    for candidate in err.get("details", {}).get("candidates", []):
        if candidate not in hint:  # the hint may name them already ("closest actions: …")
            con.print(f"    • {escape(candidate)}")


def diff_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """``size: SMALL → LARGE`` lines; ``(absent) → created`` / ``→ (absent)`` for create/delete."""
    if before is None and after is None:
        return "(no state)"
    if before is None:
        return "(absent) → " + ", ".join(f"{k}={v}" for k, v in (after or {}).items() if k != "name")
    if after is None:
        return ", ".join(f"{k}={v}" for k, v in before.items() if k != "name") + " → (absent)"
    changed = [f"{k}: {before.get(k)} → {v}" for k, v in after.items() if before.get(k) != v]
    return "; ".join(changed) or "(no change)"


def render_plan(plan: dict[str, Any], decision: dict[str, Any] | None) -> None:
    """The plan as a table, then the policy verdict."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Plan", show_lines=False)
    for col in ("#", "action", "target", "risk", "before → after"):
        table.add_column(col)
    for step in plan.get("steps", []):
        call = step["call"]
        table.add_row(str(step["seq"]), call["action"], escape(str(call.get("target") or "")), step["risk"],
                      escape(diff_text(step.get("before"), step.get("expected"))))
    con = _console()
    con.print(table)
    if decision:
        reasons = "; ".join(f"{r['rule']}: {r['message']}" for r in decision.get("reasons", []))
        con.print(f"Policy: [bold]{decision['effect']}[/] — {escape(reasons)}")


def change_status(change: dict[str, Any]) -> str:
    """A change's status as shown: ``applied (unverified)`` when it could not be read back."""
    if change.get("status") == "applied" and change.get("verified") is False and not change.get("undo_of"):
        return "applied (unverified)"
    return str(change["status"])


def render_changes(changes: list[dict[str, Any]], title: str = "Changes") -> None:
    """Change records as a table."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title)
    for col in ("change", "when (UTC)", "action", "target", "status", "actor", "before → after"):
        table.add_column(col)
    for c in changes:
        after = c.get("after") if c.get("status") != "pending" else c.get("expected")
        note = f" (undo of {c['undo_of']})" if c.get("undo_of") else ""
        table.add_row(c["id"], str(c["created_at"])[5:19].replace("T", " "), c["action"] + note,
                      escape(str(c.get("target") or "")), change_status(c), escape(c["actor"]),
                      escape(diff_text(c.get("before"), after)))
    _console().print(table)


def render_status(statuses: list[dict[str, Any]], ages: dict[str, str] | None = None) -> None:
    """Platform health and inventory; ``ages``: how long ago each platform was checked (a cached answer).

    The circuit breaker is shown only when it has something to say (open, half-open, or failures
    in its window); with several platforms, the unconfigured ones share one line.
    """
    from rich.markup import escape

    con = _console()
    unconfigured = [st["platform"] for st in statuses if st.get("configured") is False] if len(statuses) > 1 else []
    for st in statuses:
        if st["platform"] in unconfigured:
            continue
        mark = {True: "[green]●[/]", None: "[dim]○[/]"}.get(st["healthy"], "[red]●[/]")
        age = (ages or {}).get(st["platform"], "never")
        when = f" [dim](checked {age})[/]" if age != "never" else ""
        con.print(f"{mark} [bold]{st['platform']}[/]: {escape(st.get('message') or '')}{when}")
        circuit = (st.get("details") or {}).get("circuit")
        if circuit and (circuit["state"] != "closed" or circuit["failures"]):
            colour = {"closed": "green", "open": "red"}.get(circuit["state"], "yellow")
            con.print(f"    circuit breaker [{colour}]{circuit['state']}[/] "
                      f"({circuit['failures']}/{circuit['calls']} failed in the window"
                      + (f", probe in {circuit['retry_in_seconds']} s" if circuit["state"] == "open" else "") + ")")
        for rtype, items in (st.get("inventory") or {}).items():
            for item in items:
                attrs = ", ".join(f"{k}={v}" for k, v in item.items() if k != "name")
                con.print(f"    {rtype} [cyan]{escape(str(item['name']))}[/] {escape(attrs)}")
        if st.get("drift"):
            con.print(f"    [yellow]drift recorded:[/] {', '.join(st['drift'])} (see `sophia-iac drift list`)")
    if unconfigured:
        con.print(f"[dim]○[/] not configured: {', '.join(unconfigured)} "
                  "[dim](`sophia-iac status PLATFORM` names the settings each needs)[/]")


def render_actions(rows: list[dict[str, Any]]) -> None:
    """The catalog as a table whose action ids are never cut.

    The id column is as wide as the longest id; params and inverse wrap in what is left, and
    the columns that don't fit the terminal are left out (target below 100 columns, inverse
    below 130), saying so. Widths are set here, so Rich needn't measure every cell.
    """
    from rich.table import Table
    from rich.text import Text

    con = _console()
    cells = [{"action": r["id"], "target": r["target"], "risk": r["risk"], "inverse": r["inverse"] or "—",
              "params": ", ".join(f"{k}{'' if k in r['required'] else '?'}" for k in r["params"])} for r in rows]

    def natural(col: str) -> int:
        return max((len(c[col]) for c in cells), default=len(col))

    columns = ["action", "risk", "params"]
    if con.width >= natural("action") + 64:
        columns.insert(1, "target")
    if con.width >= natural("action") + 94:
        columns.append("inverse")
    widths = {col: max(natural(col), len(col)) for col in ("action", "risk")}
    widths["target"] = min(natural("target"), 20)
    room = con.width - 3 * len(columns) - 1 - sum(widths[c] for c in columns if c in widths)
    flexible = [c for c in ("params", "inverse") if c in columns]
    for col in flexible:
        widths[col] = max(min(natural(col), room // len(flexible)), len(col))
    if "inverse" in columns:  # what params leaves, inverse may use
        widths["inverse"] = max(room - widths["params"], len("inverse"))
    table = Table(title="Actions")
    for col in columns:
        table.add_column(col, width=widths[col], no_wrap=col in ("action", "risk"), overflow="fold")
    for c in cells:
        table.add_row(*(Text(c[col]) for col in columns))
    con.print(table)
    missing = sorted({r["platform"] for r in rows if not r["installed"]})
    if missing:
        con.print(f"[dim]no adapter yet (a command for them plans, but nothing is applied):[/] {', '.join(missing)}",
                  soft_wrap=False)
    left_out = [c for c in ("target", "inverse") if c not in columns]
    if left_out:
        con.print(f"[dim]{' and '.join(left_out)} left out at {con.width} columns: "
                  "`sophia-iac actions --json` has every field[/]", soft_wrap=False)


def _approval_note(view: dict[str, Any]) -> str:
    """``: by bob — "use a smaller size"`` from the approver's answer (or why it was void)."""
    from rich.markup import escape

    answer = (view.get("result") or {}).get("approval") or {}
    if answer.get("problem"):
        return f": {escape(answer['problem'])}"
    who = f" by {escape(answer['actor'])}" if answer.get("actor") else ""
    said = f' — "{escape(answer["comment"])}"' if answer.get("comment") else ""
    return f"{who}{said}"


def render_run(view: dict[str, Any], *, show_plan: bool = True) -> None:
    """A run: its plan (unless ``show_plan`` is False: it was shown before asking), verdict and outcome."""
    con = _console()
    status = view["status"]
    if view.get("plan") and show_plan:
        render_plan(view["plan"], view.get("decision"))
    if view.get("changes"):
        render_changes(view["changes"], title=f"Run {view['run_id']}")
    result = view.get("result") or {}
    if "help" in result:
        con.print(result["help"])
    verified = result.get("verified") or {}
    for change_id, ok in verified.items():
        con.print(f"undo of {change_id}: " + ("[green]verified[/] — the platform matches its before-state"
                                              if ok else "[red]not verified[/] — the read-back differs from the before-state,"
                                                 " or the platform has no read-back"))
    for comp in result.get("compensations") or []:
        con.print(f"compensation of {comp['change_id']}: {comp['status']}")
    line = {
        "applied": "[green]applied[/]",
        "dry_run": "[cyan]dry run[/] — nothing was changed",
        "awaiting_approval": f"[yellow]awaiting approval[/] — an approver runs `sophia-iac approve {view['run_id']}`",
        "rejected": "[red]rejected[/]" + _approval_note(view),
        "changes_requested": "[yellow]changes requested[/]" + _approval_note(view),
        "expired": "[red]approval expired[/]" + _approval_note(view),
        "cancelled": "cancelled — nothing was changed",
        "answered": "",
    }.get(status, f"[bold]{status}[/]")
    if line:
        con.print(f"run {view['run_id']}: {line}")

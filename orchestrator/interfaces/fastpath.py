"""The ``sophia-iac`` entry point, and its fast path for everyday read-only commands.

``history``, ``runs``, ``approvals``, a cached ``status`` and ``actions`` are asked dozens of
times a day. Through Typer, each pays for Typer and pydantic (Typer converts every argument with
pydantic) and pydantic-settings before it reads a row — most of a second. Here they read the
state file with the standard library (:mod:`orchestrator.readonly`) and print with the very
functions the Typer commands use.

The fast path answers only what it is sure of: the exact arguments below (``--opt value`` or
``--opt=value``, each at most once, no value starting with ``-``), a state URL read without
``Settings`` (:mod:`orchestrator.settings_env`), and a store the quick path may read. Anything
else — ``--help``, a typo, a bad value, an error, a store to migrate or reconcile — goes to the
Typer CLI (:mod:`orchestrator.interfaces.cli`), which answers or explains as it always has.
Nothing is printed before the answer is complete, so stepping aside never leaves half an answer.
``tests/cli/test_fast_path.py`` checks that both paths print the same for every command.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from state.reader import StateReader

__all__ = ["answer", "main"]


@dataclass(frozen=True)
class _Grammar:
    """One command's arguments: options that take a value, and how many positional arguments."""

    options: tuple[str, ...] = ()
    positional: int = 0
    ints: dict[str, tuple[int, int]] = field(default_factory=dict)


GRAMMARS: dict[str, _Grammar] = {
    "history": _Grammar(("--platform", "--target", "--since", "--limit", "--before"), ints={"--limit": (1, 1000)}),
    "runs": _Grammar(("--status",), positional=1),
    "approvals": _Grammar(),
    "status": _Grammar(positional=1),
    "actions": _Grammar(("--platform",)),
}


def parse(argv: list[str]) -> tuple[str, dict[str, Any], list[str], bool] | None:
    """``(command, options, positionals, as_json)``, or None when the Typer CLI should read ``argv``."""
    if not argv or argv[0] not in GRAMMARS:
        return None
    grammar = GRAMMARS[argv[0]]
    options: dict[str, Any] = {}
    positionals: list[str] = []
    as_json = False
    rest = argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg == "--json" and not as_json:
            as_json = True
            continue
        name, eq, value = arg.partition("=")
        if name in grammar.options and name not in options:
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            if not value or value.startswith("-"):
                return None
            if name in grammar.ints:
                low, high = grammar.ints[name]
                if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
                    return None
                options[name] = int(value)
            else:
                options[name] = value
            continue
        if arg.startswith("-") or len(positionals) >= grammar.positional:
            return None
        positionals.append(arg)
    return argv[0], options, positionals, as_json


def _read(url: str, fn: Callable[[StateReader], Any]) -> Any:
    """``fn(reader)``, or None when the quick path may not answer."""
    from orchestrator.readonly import open_reader

    reader = open_reader(url)
    if reader is None:
        return None
    try:
        return fn(reader)
    finally:
        reader.close()


def answer(argv: list[str]) -> Callable[[], None] | None:
    """What printing the answer to ``argv`` takes, or None when the Typer CLI must answer.

    Everything is read before this returns; the printer only prints.
    """
    parsed = parse(argv)
    if parsed is None:
        return None
    from orchestrator.settings_env import state_url_from_env

    url = state_url_from_env()
    if url is None:
        return None
    command, options, positionals, as_json = parsed
    try:
        return _ANSWERS[command](url, options, positionals, as_json)
    except Exception:  # noqa: BLE001 - the Typer CLI gives the error its code, hint and exit status
        return None


def _printer(as_json: bool, data: Any, render: Callable[[Any], None]) -> Callable[[], None]:
    def show() -> None:
        if as_json:
            from orchestrator.interfaces.render import print_json

            print_json(data)
        else:
            render(data)

    return show


def _history(url: str, options: dict[str, Any], _: list[str], as_json: bool) -> Callable[[], None] | None:
    from orchestrator import readonly
    from orchestrator.interfaces.render import render_changes

    changes = _read(url, lambda r: readonly.history(
        r, platform=options.get("--platform"), target=options.get("--target"), since=options.get("--since"),
        limit=options.get("--limit", 20), before=options.get("--before")))
    return None if changes is None else _printer(as_json, changes, render_changes)


def _runs(url: str, options: dict[str, Any], positionals: list[str], as_json: bool) -> Callable[[], None] | None:
    from orchestrator import readonly
    from orchestrator.interfaces import cli_read
    from orchestrator.interfaces.render import render_run

    if positionals:
        view = _read(url, lambda r: readonly.view(r, positionals[0]))
        return None if view is None else _printer(as_json, view, render_run)
    rows = _read(url, lambda r: readonly.runs(r, status=options.get("--status")))
    return None if rows is None else _printer(as_json, rows, cli_read.echo_runs)


def _approvals(url: str, _: dict[str, Any], __: list[str], as_json: bool) -> Callable[[], None] | None:
    from orchestrator import readonly
    from orchestrator.interfaces import cli_read

    pending = _read(url, readonly.approvals)
    return None if pending is None else _printer(as_json, pending, cli_read.render_approvals)


def _status(url: str, _: dict[str, Any], positionals: list[str], as_json: bool) -> Callable[[], None] | None:
    from adapters.registry import known_platforms
    from orchestrator import readonly
    from orchestrator.interfaces import cli_read

    platform = positionals[0] if positionals else None
    known = [platform] if platform else known_platforms()
    cached = _read(url, lambda r: readonly.cached_status(r, platform, known))
    return None if cached is None else _printer(as_json, cached, cli_read.render_cached_status)


def _actions(_: str, options: dict[str, Any], __: list[str], as_json: bool) -> Callable[[], None] | None:
    from orchestrator.interfaces.catalog_rows import catalog_rows
    from orchestrator.interfaces.render import render_actions

    rows = catalog_rows(options.get("--platform"))
    return _printer(as_json, rows, render_actions)


_ANSWERS: dict[str, Callable[[str, dict[str, Any], list[str], bool], Callable[[], None] | None]] = {
    "history": _history, "runs": _runs, "approvals": _approvals, "status": _status, "actions": _actions,
}


def main() -> None:
    """Console-script entry point: the fast path when it can answer, else the Typer CLI."""
    show = answer(sys.argv[1:])
    if show is None:
        from orchestrator.interfaces.cli import main as typer_main

        typer_main()
        return
    try:
        show()
    except BrokenPipeError:  # `sophia-iac history | head` left early: say nothing more (Python's own recipe)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None

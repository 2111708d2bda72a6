"""The ``sophia-iac`` command line: convert arguments, call OrchestratorService, render.

Heavy libraries (LangGraph, SQLAlchemy, Rich, adapters) load inside the commands that need
them, so ``sophia-iac --help`` starts fast. Every command takes ``--json`` (one JSON document
on stdout). Errors carry a stable code, a next step, and a distinct exit code.
"""

import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="sophia-iac",
    help="Change and inspect your SaaS and cloud stack in plain English: plan, policy, approval, apply, undo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation.")]
AsOpt = Annotated[str | None, typer.Option(
    "--as", help="Act as this actor: needs an act_as grant in SOPHIA_IDENTITIES, and never counts as a second "
                 "approver for you (default: you, i.e. SOPHIA_ACTOR or cli:<OS user>).")]

EXIT_CONFIRMATION_REQUIRED = 15
EXIT_NOT_APPLIED = {"clarify": 3, "refuse": 3, "denied": 5, "rejected": 9, "cancelled": 15,
                    "changes_requested": 9, "expired": 9}


def _fail(err: dict[str, Any], as_json: bool, exit_code: int) -> NoReturn:
    from orchestrator.interfaces.render import print_error, print_json

    if as_json:
        print_json({"error": err})
    else:
        print_error(err)
    raise typer.Exit(exit_code)


def _mapped(as_json: bool, call: Callable[[], T]) -> T:
    """``call()`` with errors mapped to codes, hints and exit statuses."""
    from orchestrator.errors import SophiaError

    try:
        return call()
    except SophiaError as exc:
        _fail(exc.to_dict(), as_json, exc.exit_code)
    except KeyboardInterrupt:
        _fail({"code": "interrupted", "message": "interrupted", "hint": "nothing further was sent"}, as_json, 130)
    except typer.Exit:
        raise
    except Exception as exc:
        if os.environ.get("SOPHIA_DEBUG"):
            raise
        _fail({"code": "internal_error", "message": f"{type(exc).__name__}: {exc}",
               "hint": "re-run with SOPHIA_DEBUG=1 for a traceback, and report it"}, as_json, 1)


def _with_service(as_json: bool, body: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``body(service)`` with errors mapped to codes, hints and exit statuses.

    The service is lazy: a command that doesn't run the pipeline never loads LangGraph.
    """
    import asyncio

    async def runner() -> T:
        from orchestrator.service import OrchestratorService

        async with OrchestratorService(lazy=True) as service:
            return await body(service)

    return _mapped(as_json, lambda: asyncio.run(runner()))


def _actor(as_actor: str | None) -> str:
    """The actor named, unchecked: only for what-if questions (``policy explain --as``)."""
    from orchestrator.config import get_settings

    return as_actor or get_settings().default_actor()


def _who(as_actor: str | None) -> Any:
    """The actor to record and the real principal (raises PolicyDeniedError if ``--as`` isn't granted)."""
    from orchestrator.principal import resolve_cli_actor

    return resolve_cli_actor(as_actor)


def _finish(view: dict[str, Any], as_json: bool, *, plan_shown: bool = False) -> None:
    """Render a run (its plan only if it wasn't shown when asking) and exit with the status's code."""
    from orchestrator.interfaces.render import print_json, render_run

    status = view["status"]
    if status in ("clarify", "refuse"):
        parsed = view.get("parsed") or {}
        if parsed.get("errors"):
            from orchestrator.errors import ValidationFailedError

            _fail({"code": ValidationFailedError.code, "message": parsed.get("message", "invalid params"),
                   "hint": "fix the value and run the command again", "details": {"errors": parsed["errors"]}},
                  as_json, ValidationFailedError.exit_code)
        err = {"code": "not_understood" if status == "clarify" else "refused",
               "message": parsed.get("message") or ("didn't understand that" if status == "clarify" else "refused"),
               "hint": "closest actions: " + ", ".join(parsed.get("candidates", [])) if parsed.get("candidates")
               else "try `sophia-iac actions` or `sophia-iac do help`",
               "details": {"candidates": parsed.get("candidates", []), "run_id": view["run_id"]}}
        _fail(err, as_json, EXIT_NOT_APPLIED[status])
    if as_json:
        print_json(view)
    else:
        render_run(view, show_plan=not plan_shown)
    if view.get("error"):
        err = view["error"]
        if not as_json:
            from orchestrator.interfaces.render import print_error

            print_error(err)
        from orchestrator.errors import SophiaError

        codes = {cls.code: cls.exit_code for cls in _all_error_classes(SophiaError)}
        raise typer.Exit(codes.get(err.get("code", ""), 1))
    if status in EXIT_NOT_APPLIED:
        raise typer.Exit(EXIT_NOT_APPLIED[status])


def _all_error_classes(base: type) -> list[type]:
    out = [base]
    for sub in base.__subclasses__():
        out += _all_error_classes(sub)
    return out


async def _confirm_or_cancel(service: Any, view: dict[str, Any], yes: bool, as_json: bool,
                             shown: list[bool] | None = None) -> dict[str, Any]:
    """Show the plan and ask; without a terminal and without --yes, cancel and say how to proceed.

    ``shown`` gets True appended when the plan was printed here, so the outcome doesn't print it again.
    """
    if view["status"] != "awaiting_confirmation":
        return view
    if not as_json:
        from orchestrator.interfaces.render import render_plan

        render_plan(view["plan"], view.get("decision"))
        if shown is not None:
            shown.append(True)
    if yes:
        return dict(await service.confirm(view["run_id"], True))
    if as_json or not sys.stdin.isatty():
        await service.confirm(view["run_id"], False)
        needs_approval = (view.get("decision") or {}).get("effect") == "require_approval"
        then = "to ask for approval (the run to approve is printed)" if needs_approval else "to apply"
        _fail({"code": "confirmation_required", "message": "this command changes infrastructure and needs confirmation",
               "hint": f"re-run with --yes {then}, or --dry-run to only see the plan"},
              as_json, EXIT_CONFIRMATION_REQUIRED)
    ok = typer.confirm("Apply this plan?", default=False)
    return dict(await service.confirm(view["run_id"], ok))


@app.command()
def do(
    text: Annotated[str, typer.Argument(help='What to do, e.g. "create a vector index called docs with 384 dimensions".')],
    yes: YesOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan (before → after); change nothing.")] = False,
    parser: Annotated[str | None, typer.Option(help="offline, llm or hybrid (default: from settings).")] = None,
    as_actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a command: parse → plan → policy → (approval) → apply → ledger."""
    from orchestrator.state import Request

    async def body(service: Any) -> dict[str, Any]:
        who = _who(as_actor)
        request = Request(text=text, actor=who.actor, principal=who.principal, surface="cli", dry_run=dry_run,
                          confirmed=yes or dry_run, parser=parser)
        view = await service.submit(request)
        return await _confirm_or_cancel(service, view, yes, as_json, shown)

    shown: list[bool] = []
    _finish(_with_service(as_json, body), as_json, plan_shown=bool(shown))


@app.command()
def status(
    platform: Annotated[str | None, typer.Argument(help="One platform (default: all installed).")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Check the platforms now (default: as last checked, "
                                                            "unless never).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Health and inventory of the platforms, as last checked (--refresh: check now)."""
    from orchestrator.interfaces import cli_read
    from orchestrator.interfaces.render import print_json, render_status

    def cached(reader: Any) -> Any:
        from orchestrator.readonly import cached_status

        if platform:
            return cached_status(reader, platform, [platform])
        from adapters.registry import known_platforms

        return cached_status(reader, None, known_platforms())

    async def live(service: Any) -> list[dict[str, Any]]:
        return list(await service.status(platform))

    result = None if refresh else cli_read.quick(as_json, cached)[1]
    if result is None:
        result = _with_service(as_json, live)
        print_json(result) if as_json else render_status(result)
    else:
        print_json(result) if as_json else cli_read.render_cached_status(result)


@app.command()
def history(
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    target: Annotated[str | None, typer.Option(help="Only this resource.")] = None,
    since: Annotated[str | None, typer.Option(help="HH:MM (UTC), ISO time, or 30m / 2h / 1d.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    before: Annotated[str | None, typer.Option(help="Only changes older than this one (the last id of a page: "
                                                    "the next page).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recorded changes, newest first."""
    from orchestrator.interfaces import cli_read
    from orchestrator.interfaces.render import print_json, render_changes

    def quick(reader: Any) -> list[dict[str, Any]]:
        from orchestrator import readonly

        return readonly.history(reader, platform=platform, target=target, since=since, limit=limit, before=before)

    async def slow(service: Any) -> list[dict[str, Any]]:
        return list(service.history(platform=platform, target=target, since=since, limit=limit, before=before))

    changes = cli_read.answer(as_json, quick, slow)
    print_json(changes) if as_json else render_changes(changes)


@app.command()
def undo(
    change_id: Annotated[str | None, typer.Argument(help="The change to undo (default with --last).")] = None,
    last: Annotated[bool, typer.Option("--last", help="Undo the last change (optionally on --platform).")] = False,
    platform: Annotated[str | None, typer.Option(help="With --last or --since: only this platform.")] = None,
    since: Annotated[str | None, typer.Option(help="Undo everything on --platform since this time.")] = None,
    yes: YesOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    as_actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Undo a change through the same pipeline (a new recorded change that passes policy)."""
    if not change_id and not last and not since:
        _fail({"code": "usage", "message": "say which change to undo",
               "hint": "give a change id, --last, or --platform P --since T"}, as_json, 2)

    async def body(service: Any) -> dict[str, Any]:
        who = _who(as_actor)
        view = await service.undo(change_id=change_id, platform=platform, since=since, actor=who.actor,
                                  principal=who.principal, confirmed=yes or dry_run, dry_run=dry_run)
        return await _confirm_or_cancel(service, view, yes, as_json, shown)

    shown: list[bool] = []
    _finish(_with_service(as_json, body), as_json, plan_shown=bool(shown))


@app.command()
def approve(
    run_id: Annotated[str, typer.Argument(help="The run awaiting approval.")],
    comment: Annotated[str | None, typer.Option(help="A note for the requester.")] = None,
    as_actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve a run that awaits approval; it applies at once."""
    async def body(service: Any) -> dict[str, Any]:
        who = _who(as_actor)
        return dict(await service.approve(run_id, actor=who.actor, principal=who.principal, comment=comment))

    _finish(_with_service(as_json, body), as_json)


@app.command()
def reject(
    run_id: Annotated[str, typer.Argument(help="The run awaiting approval.")],
    comment: Annotated[str | None, typer.Option(help="Why, for the requester.")] = None,
    as_actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a run that awaits approval; nothing is changed."""
    async def body(service: Any) -> dict[str, Any]:
        who = _who(as_actor)
        return dict(await service.reject(run_id, actor=who.actor, principal=who.principal, comment=comment))

    _finish(_with_service(as_json, body), as_json)


@app.command()
def runs(
    run_id: Annotated[str | None, typer.Argument(help="Show one run in full.")] = None,
    status_filter: Annotated[str | None, typer.Option("--status", help="e.g. awaiting_approval")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recent runs, or one run with its plan and changes."""
    from orchestrator.interfaces import cli_read
    from orchestrator.interfaces.render import print_json, render_run

    def quick(reader: Any) -> Any:
        from orchestrator import readonly

        return readonly.view(reader, run_id) if run_id else readonly.runs(reader, status=status_filter)

    async def slow(service: Any) -> Any:
        return service.view(run_id) if run_id else service.runs(status=status_filter)

    data = cli_read.answer(as_json, quick, slow)
    if as_json:
        print_json(data)
    elif run_id:
        render_run(data)
    else:
        cli_read.echo_runs(data)


def _register_catalog_commands() -> None:
    """``actions``, ``parse`` and ``eval`` (orchestrator/interfaces/cli_catalog.py), listed here in ``--help``."""
    from orchestrator.interfaces.cli_catalog import register

    register(app)


_register_catalog_commands()


@app.command()
def version(as_json: JsonOpt = False) -> None:
    """Print the version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    try:
        found = pkg_version("sophia-iac")
    except PackageNotFoundError:
        found = "unknown (not installed)"
    if as_json:
        from orchestrator.interfaces.render import print_json

        print_json({"version": found})
    else:
        typer.echo(found)


def _register_policy_commands() -> None:
    from orchestrator.interfaces.cli_policy import register

    register(app)


_register_policy_commands()


def _register_ledger_commands() -> None:
    """``ledger verify``, ``ledger export-head`` and ``reconcile`` (orchestrator/interfaces/cli_ledger.py)."""
    from orchestrator.interfaces.cli_ledger import register

    register(app)


_register_ledger_commands()


def _register_surfaces() -> None:
    """``serve``, ``keys``, ``slack`` and ``webhooks`` (orchestrator/interfaces/cli_surfaces.py)."""
    from orchestrator.interfaces.cli_surfaces import register

    register(app)


_register_surfaces()
__import__("orchestrator.interfaces.cli_pg", fromlist=["register"]).register(app)  # `pg status`, `pg stop`


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()

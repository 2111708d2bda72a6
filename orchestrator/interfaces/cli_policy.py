"""CLI commands for policy: ``policy check`` / ``policy explain``, ``approvals``, ``request-changes``,
``freeze`` and ``unfreeze``. Registered on the main app by :func:`register`.

Like ``cli.py``, nothing heavy loads at import: the helpers of ``cli.py`` and the service are
imported inside the commands.
"""

from typing import Annotated, Any

import typer

__all__ = ["policy_app", "register"]

policy_app = typer.Typer(help="Policy packs: lint them, and see what they decide.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
AsOpt = Annotated[str | None, typer.Option(
    "--as", help="Act as this actor: needs an act_as grant in SOPHIA_IDENTITIES (for `policy explain`, a what-if "
                 "that needs none; default: you, i.e. SOPHIA_ACTOR or cli:<OS user>).")]


def _cli() -> Any:
    from orchestrator.interfaces import cli

    return cli


@policy_app.command("check")
def policy_check(
    pack: Annotated[str | None, typer.Argument(help="One pack file (default: the default pack and SOPHIA_POLICY_PATH).")]
    = None,
    as_json: JsonOpt = False,
) -> None:
    """Lint and type-check policy packs (and the identities file); non-zero exit on any error."""
    from orchestrator.config import get_settings
    from orchestrator.errors import ConfigError
    from orchestrator.interfaces.render import print_json
    from policies.loader import DEFAULT_PACK, PolicyPackError, Problem, load_engine, load_pack, pack_paths

    problems: list[Problem] = []
    checked: list[dict[str, Any]] = []
    settings = get_settings()
    try:
        files = [pack] if pack else [str(DEFAULT_PACK), *map(str, pack_paths(settings.policy_path))]
    except PolicyPackError as exc:
        files, problems = [], list(exc.problems)
    for file in files:
        loaded = load_pack(file)
        problems += loaded.problems
        checked.append({"file": file, "pack": loaded.name, "rules": len(loaded.rules), "ok": loaded.ok})
    if not pack and not any(p.level == "error" for p in problems):
        try:
            load_engine(settings.policy_path, default_environment=settings.default_environment)
        except PolicyPackError as exc:
            problems += exc.problems
        try:
            from policies.identity import load_identities

            load_identities(default_actor=settings.default_actor())
        except ConfigError as exc:
            problems.append(Problem("SOPHIA_IDENTITIES", 0, "", exc.message))
    errors = [p for p in problems if p.level == "error"]
    if as_json:
        print_json({"ok": not errors, "packs": checked, "problems": [p.to_dict() for p in problems]})
    else:
        for item in checked:
            mark = "ok" if item["ok"] else "REFUSED"
            typer.echo(f"{item['file']}: pack {item['pack']}, {item['rules']} rules — {mark}")
        for p in problems:
            typer.echo(f"{p.level}: {p}", err=True)
    if errors:
        raise typer.Exit(ConfigError.exit_code)


@policy_app.command("explain")
def policy_explain(
    text: Annotated[str, typer.Argument(help='A command, e.g. "drop the ETL_WH warehouse".')],
    env: Annotated[str | None, typer.Option("--env", help="Evaluate as if the resources were in ENV.")] = None,
    as_actor: AsOpt = None,
    parser: Annotated[str | None, typer.Option(help="offline, llm or hybrid (default: from settings).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What policy would decide for a command — allow / deny / require_approval — and why. Runs nothing."""
    cli = _cli()

    async def body(service: Any) -> dict[str, Any]:
        return dict(service.explain(text, actor=cli._actor(as_actor), env=env, parser=parser))

    result = cli._with_service(as_json, body)
    if as_json:
        from orchestrator.interfaces.render import print_json

        print_json(result)
        return
    _render_explain(result)


def _render_explain(result: dict[str, Any]) -> None:
    from rich.markup import escape

    con = _console()
    con.print(f"as [bold]{escape(result['identity'])}[/] (roles: {', '.join(result['roles']) or 'none'}; "
              f"groups: {', '.join(result['groups']) or 'none'})")
    for step in result.get("steps", []):
        con.print(f"  {step['seq']}. {step['action']} {escape(str(step.get('target') or ''))} "
                  f"[dim]({step['risk']}, env {escape(step['env'])})[/]")
    decision = result.get("decision")
    if decision is None:
        con.print(escape(result.get("note", "nothing to decide")))
        return
    colour = {"allow": "green", "deny": "red", "require_approval": "yellow"}[decision["effect"]]
    tier = f" [dim](tier {result['tier']})[/]" if result.get("tier") else ""
    con.print(f"decision: [bold {colour}]{decision['effect']}[/]{tier}")
    for reason in decision.get("reasons", []):
        step = f" [dim]step {reason['step']}[/]" if reason.get("step") else ""
        con.print(f"  • [bold]{escape(reason['rule'])}[/] ({reason.get('effect', '')}){step}: "
                  f"{escape(reason['message'])}")
    if decision["effect"] == "require_approval":
        who = ", ".join(decision.get("approvers") or []) or "any approver"
        eyes = "; not the requester" if decision.get("four_eyes") else ""
        con.print(f"  approval: {decision.get('min_approvals', 1)} from {escape(who)}{eyes}, "
                  f"valid {decision.get('ttl_seconds', 0) // 60} min")


def _console() -> Any:
    import sys

    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def approvals(as_json: JsonOpt = False) -> None:
    """Runs awaiting approval, with who may decide and when the request expires."""
    from orchestrator.interfaces import cli_read

    def quick(reader: Any) -> list[dict[str, Any]]:
        from orchestrator import readonly

        return readonly.approvals(reader)

    async def slow(service: Any) -> list[dict[str, Any]]:
        return list(service.approvals())

    pending = cli_read.answer(as_json, quick, slow)
    if as_json:
        from orchestrator.interfaces.render import print_json

        print_json(pending)
        return
    cli_read.render_approvals(pending)


def request_changes(
    run_id: Annotated[str, typer.Argument(help="The run awaiting approval.")],
    comment: Annotated[str, typer.Option(help="What to change; it goes back to the requester.")],
    as_actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a run back to its requester with a comment; nothing is changed."""
    cli = _cli()
    async def body(service: Any) -> dict[str, Any]:
        who = cli._who(as_actor)
        return dict(await service.request_changes(run_id, actor=who.actor, principal=who.principal, comment=comment))

    cli._finish(cli._with_service(as_json, body), as_json)


def freeze(
    environment: Annotated[str, typer.Argument(help="The environment (prod, staging, … or * for all).")],
    until: Annotated[str | None, typer.Option(help="18:00, 5pm, tomorrow, friday, 2h or ISO (default: until lifted).")]
    = None,
    reason: Annotated[str | None, typer.Option(help="Why; shown to everyone whose change is refused.")] = None,
    as_actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Freeze an environment: every change there is refused until the time, or until `unfreeze`."""
    cli = _cli()
    cli._finish(cli._with_service(
        as_json, lambda s: s.freeze(environment, until=until, reason=reason, actor=cli._who(as_actor).actor)), as_json)


def unfreeze(
    environment: Annotated[str, typer.Argument(help="The frozen environment.")],
    as_actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Lift the freeze on an environment (approvers and admins)."""
    cli = _cli()
    cli._finish(cli._with_service(as_json, lambda s: s.unfreeze(environment, actor=cli._who(as_actor).actor)), as_json)


def register(app: typer.Typer) -> None:
    """Add the policy commands to the main CLI."""
    app.add_typer(policy_app, name="policy")
    app.command("approvals")(approvals)
    app.command("request-changes")(request_changes)
    app.command("freeze")(freeze)
    app.command("unfreeze")(unfreeze)

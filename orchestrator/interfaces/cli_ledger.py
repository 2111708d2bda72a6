"""The ledger's commands: ``ledger verify``, ``ledger export-head`` and ``reconcile``.

Like ``cli.py``, nothing heavy loads at import: the helpers of ``cli.py`` and the service are
imported inside the commands.
"""

from typing import Annotated, Any

import typer

__all__ = ["ledger_app", "register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]

ledger_app = typer.Typer(help="The hash-chained change ledger.", no_args_is_help=True)


def ledger_verify(
    anchor: Annotated[str | None, typer.Option(
        "--anchor", help="Also check the chain still holds this head (a file from `ledger export-head`).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the keyed hash chain; non-zero exit if any row was edited, inserted or deleted."""
    from orchestrator.errors import LedgerTamperedError, SophiaError
    from orchestrator.interfaces import cli
    from state.ledger import read_anchor

    anchored = None
    if anchor:
        try:
            anchored = read_anchor(anchor)
        except SophiaError as exc:
            cli._fail(exc.to_dict(), as_json, exc.exit_code)

    async def body(service: Any) -> Any:
        return service.verify_ledger(anchored)

    report = cli._with_service(as_json, body)
    data = {"ok": report.ok, "entries": report.entries, "changes": report.changes, "problems": report.problems,
            "warnings": report.warnings, "scheme": report.scheme, "key_id": report.key_id,
            "keyed_from": report.keyed_from, "head": report.head, "anchor": report.anchor}
    if as_json:
        from orchestrator.interfaces.render import print_json

        print_json(data)
        if not report.ok:
            raise typer.Exit(LedgerTamperedError.exit_code)
        return
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if report.ok:
        held = f"; holds the anchored entry {anchored['seq']}" if anchored else ""
        typer.echo(f"ledger ok: {report.entries} entries, {report.changes} changes, {report.scheme} chain intact"
                   f"{held}")
        return
    cli._fail({"code": LedgerTamperedError.code, "message": "the ledger was tampered with: " + "; ".join(report.problems),
           "hint": "restore the database from a backup and investigate who changed it"}, False,
          LedgerTamperedError.exit_code)


def ledger_export_head(
    file: Annotated[str, typer.Argument(help="Where to write the anchor (JSON); keep it outside the database. "
                                             "'-' prints it.")],
    as_json: JsonOpt = False,
) -> None:
    """Write the ledger's current head (seq, hash, time, key id) as an anchor for `ledger verify --anchor`."""
    from orchestrator.interfaces import cli
    from orchestrator.interfaces.render import print_json
    from state.ledger import write_anchor

    async def body(service: Any) -> Any:
        return service.ledger_head()

    head = cli._with_service(as_json, body)
    if file != "-":
        try:
            write_anchor(head, file)
        except OSError as exc:
            cli._fail({"code": "config_error", "message": f"can't write the anchor {file}: {exc.strerror or exc}",
                   "hint": "give a writable path"}, as_json, 12)
    if as_json or file == "-":
        print_json(head)
    else:
        typer.echo(f"ledger head {head['seq']} ({head['hash'][:16]}…) written to {file}; check it later with "
                   f"`sophia-iac ledger verify --anchor {file}`")


def reconcile(as_json: JsonOpt = False) -> None:
    """Read back every change whose outcome is unknown (pending, needs_reconcile) and settle it."""
    from orchestrator.interfaces import cli

    async def body(service: Any) -> list[dict[str, Any]]:
        return [*service.reconciled, *await service.reconcile()]

    settled = cli._with_service(as_json, body)
    if as_json:
        from orchestrator.interfaces.render import print_json

        print_json(settled)
        return
    if not settled:
        typer.echo("nothing to reconcile: every change's outcome is settled")
    for row in settled:
        was = f"{row['was']} → " if "was" in row else ""
        typer.echo(f"{row['change_id']}: {was}{row['status']}" + (f" ({row['error']})" if row.get("error") else ""))


def register(app: typer.Typer) -> None:
    """Add the ledger commands to the main CLI."""
    ledger_app.command("verify")(ledger_verify)
    ledger_app.command("export-head")(ledger_export_head)
    app.add_typer(ledger_app, name="ledger")
    app.command("reconcile")(reconcile)

"""``sophia-iac pg status`` and ``sophia-iac pg stop``: the embedded PostgreSQL of ``$SOPHIA_HOME``.

Like ``cli.py``, nothing heavy loads at import: settings and the server module are imported
inside the commands.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

__all__ = ["pg_app", "register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]

pg_app = typer.Typer(help="The embedded PostgreSQL (pgvector's zero-setup server): where it is, stop it.",
                     no_args_is_help=True)


def _server() -> tuple[Any, Any]:
    from orchestrator.config import get_settings
    from state.pgserver import EmbeddedPostgres

    settings = get_settings()
    return settings, EmbeddedPostgres.for_settings(settings)


def _since(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@pg_app.command("status")
def pg_status(as_json: JsonOpt = False) -> None:
    """Whether the home's embedded PostgreSQL runs: where its data is, port, pid, since when, its idle stop."""
    settings, server = _server()
    status = server.status()
    idle = status.idle_seconds if status.running else settings.pg_idle_seconds
    data = {**status.to_dict(), "since": _since(status.started_at), "home": str(settings.home),
            "idle_seconds": idle, "used_by_pgvector": not settings.pgvector_url}
    if as_json:
        from orchestrator.interfaces.render import print_json

        print_json(data)
        return
    if status.running:
        clients = "?" if status.connections is None else status.connections
        typer.echo(f"embedded PostgreSQL: running since {data['since']} (pid {status.pid}, port {status.port}, "
                   f"{clients} client connection(s))")
    else:
        typer.echo("embedded PostgreSQL: not running")
    where = status.data_dir if status.initialised else f"{status.data_dir} (created on first use)"
    typer.echo(f"data:      {where}")
    if status.running:
        typer.echo(f"runs as:   {status.run_as}")
        typer.echo(f"binaries:  {status.binaries}")
        typer.echo(f"log:       {status.log_file}")
    if not idle:
        typer.echo("idle stop: never (SOPHIA_PG_IDLE_SECONDS=0); `sophia-iac pg stop` stops it")
    else:
        watchdog = f", watchdog pid {status.watchdog_pid}" if status.watchdog_pid else ""
        typer.echo(f"idle stop: after {idle:g} s without client connections{watchdog}")
    if settings.pgvector_url:
        typer.echo("note:      pgvector uses SOPHIA_PGVECTOR_URL, not this server")


@pg_app.command("stop")
def pg_stop(as_json: JsonOpt = False) -> None:
    """Stop the home's embedded PostgreSQL now (fast shutdown: open sessions are ended); the next use starts it."""
    _settings, server = _server()
    data_dir = str(server.data_dir)
    stopped = server.stop()
    data = {"stopped": stopped is not None, "pid": stopped.pid if stopped else None,
            "port": stopped.port if stopped else None, "data_dir": data_dir}
    if as_json:
        from orchestrator.interfaces.render import print_json

        print_json(data)
    elif stopped:
        typer.echo(f"stopped the embedded PostgreSQL (pid {stopped.pid}, port {stopped.port}); data in {data_dir}")
    else:
        typer.echo(f"the embedded PostgreSQL was not running (data: {data_dir})")


def register(app: typer.Typer) -> None:
    """Add ``pg`` to the CLI."""
    app.add_typer(pg_app, name="pg")

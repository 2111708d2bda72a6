"""CLI commands for the server surfaces: ``serve``, ``mcp``, ``keys``, ``slack``, ``webhooks``.

Registered on the main ``sophia-iac`` app by :func:`register`. Like the rest of the CLI they
import heavy libraries only when run, take ``--json``, and map errors to codes and exit
statuses.
"""

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

__all__ = ["register"]

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]

keys_app = typer.Typer(help="REST API keys (stored hashed; each maps to an identity with a role).",
                       no_args_is_help=True)
slack_app = typer.Typer(help="The Slack app: map Slack users to identities; Socket Mode.", no_args_is_help=True)
webhooks_app = typer.Typer(help="The webhook inbox: list, dead letters, replay, run a worker.", no_args_is_help=True)


def _store_call(as_json: bool, body: Callable[[Any], T]) -> T:
    """Run ``body(store)`` on a migrated store, with errors mapped like every other command."""
    import os

    from orchestrator.config import get_settings
    from orchestrator.errors import SophiaError
    from orchestrator.interfaces.cli import _fail
    from state.store import Store

    try:
        store = Store(get_settings().state_url)
        try:
            store.setup()
            return body(store)
        finally:
            store.dispose()
    except SophiaError as exc:
        _fail(exc.to_dict(), as_json, exc.exit_code)
    except typer.Exit:
        raise
    except Exception as exc:
        if os.environ.get("SOPHIA_DEBUG"):
            raise
        _fail({"code": "internal_error", "message": f"{type(exc).__name__}: {exc}",
               "hint": "re-run with SOPHIA_DEBUG=1 for a traceback, and report it"}, as_json, 1)


def _print(data: Any, as_json: bool, text: Callable[[], None]) -> None:
    if as_json:
        from orchestrator.interfaces.render import print_json

        print_json(data)
    else:
        text()


# -- serve -------------------------------------------------------------------------------


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run an inbox worker in the server.")] = True,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the REST API, the Slack app and webhooks (zero config: SQLite, offline parser)."""
    from orchestrator.interfaces.api import serve as run

    run(host, port, worker=worker, log_level=log_level)


def mcp(
    platforms: Annotated[str | None, typer.Option(help="Only these platforms' actions, e.g. pgvector,github "
                                                       "(default: every platform with an adapter).")] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="List only read tools.")] = False,
    rate: Annotated[int, typer.Option(min=1, help="Calls a minute allowed per session.")] = 120,
) -> None:
    """Serve MCP on stdin/stdout as the configured identity (for an MCP client to launch)."""
    import asyncio

    from orchestrator.interfaces.cli import _mapped
    from orchestrator.interfaces.mcp_server import run_stdio

    chosen = [p.strip() for p in platforms.split(",") if p.strip()] if platforms else None
    _mapped(False, lambda: asyncio.run(run_stdio(platforms=chosen, read_only=read_only, per_minute=rate)))


# -- keys --------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="viewer, operator, approver or admin.")],
    name: Annotated[str, typer.Option(help="The identity the key acts as (recorded as the actor).")],
    as_json: JsonOpt = False,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    from orchestrator.config import get_settings
    from state.identities import ApiKeys

    row, key = _store_call(as_json, lambda s: ApiKeys(s).create(name=name, role=role,
                                                                created_by=get_settings().default_actor()))
    data = {"id": row.id, "name": row.name, "role": row.role, "key": key}

    def text() -> None:
        typer.echo(key)
        typer.echo(f"created {row.id} for {row.name} ({row.role}); this key is shown only now", err=True)

    _print(data, as_json, text)


@keys_app.command("list")
def keys_list(
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked keys.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Keys (never their values)."""
    from state.identities import ApiKeys

    rows = _store_call(as_json, lambda s: ApiKeys(s).list(include_revoked=revoked))
    data = [r.model_dump(mode="json", exclude={"key_hash"}) for r in rows]

    def text() -> None:
        for r in rows:
            state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
            typer.echo(f"{r.id}  {r.prefix}…  {r.name:<20} {r.role:<9} {state}")

    _print(data, as_json, text)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (key_…).")], as_json: JsonOpt = False) -> None:
    """Revoke a key at once."""
    from state.identities import ApiKeys

    row = _store_call(as_json, lambda s: ApiKeys(s).revoke(key_id))
    _print(row.model_dump(mode="json", exclude={"key_hash"}), as_json,
           lambda: typer.echo(f"revoked {row.id} ({row.name})"))


# -- slack -------------------------------------------------------------------------------


@slack_app.command("link")
def slack_link(
    user: Annotated[str, typer.Option(help="Slack user id (U…).")],
    identity: Annotated[str, typer.Option(help="The sophia identity (e.g. the same name as the user's API key).")],
    role: Annotated[str, typer.Option(help="viewer, operator, approver or admin.")],
    team: Annotated[str, typer.Option(help="Slack workspace id (T…); default: any workspace.")] = "*",
    as_json: JsonOpt = False,
) -> None:
    """Map a Slack user to an identity with a role (unmapped users can do nothing)."""
    from state.identities import SlackUsers

    row = _store_call(as_json, lambda s: SlackUsers(s).link(team_id=team, user_id=user, identity=identity, role=role))
    _print(row.model_dump(mode="json"), as_json,
           lambda: typer.echo(f"{row.user_id} ({row.team_id}) → {row.identity} ({row.role})"))


@slack_app.command("unlink")
def slack_unlink(
    user: Annotated[str, typer.Option(help="Slack user id (U…).")],
    team: Annotated[str, typer.Option(help="Slack workspace id (T…).")] = "*",
    as_json: JsonOpt = False,
) -> None:
    """Remove a Slack user's mapping."""
    from state.identities import SlackUsers

    removed = _store_call(as_json, lambda s: SlackUsers(s).unlink(team_id=team, user_id=user))
    _print({"removed": removed}, as_json, lambda: typer.echo("removed" if removed else "no such mapping"))


@slack_app.command("users")
def slack_users(as_json: JsonOpt = False) -> None:
    """Every Slack user mapping."""
    from state.identities import SlackUsers

    rows = _store_call(as_json, lambda s: SlackUsers(s).list())

    def text() -> None:
        for r in rows:
            typer.echo(f"{r.user_id:<12} {r.team_id:<12} {r.identity:<20} {r.role}")

    _print([r.model_dump(mode="json") for r in rows], as_json, text)


@slack_app.command("socket")
def slack_socket() -> None:
    """Run the Slack app over Socket Mode (no public URL needed; SOPHIA_SLACK_APP_TOKEN)."""
    from orchestrator.interfaces.slack_socket import run_socket_mode

    run_socket_mode()


# -- webhooks ----------------------------------------------------------------------------


@webhooks_app.command("list")
def webhooks_list(
    status: Annotated[str | None, typer.Option(help="pending, processing, done or dead.")] = None,
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Inbox rows, newest first."""
    from state.inbox import Inbox

    rows = _store_call(as_json, lambda s: Inbox(s).events(status=status, platform=platform, limit=limit))
    data = [r.model_dump(mode="json", exclude={"body", "headers"}) for r in rows]

    def text() -> None:
        for r in rows:
            typer.echo(f"{r.id:>6}  {r.received_at:%Y-%m-%d %H:%M:%S}  {r.platform:<10} {r.status:<10} "
                       f"{r.attempts}×  {r.event_type:<20} {(r.summary or r.last_error or '')[:60]}")

    _print(data, as_json, text)


@webhooks_app.command("dead")
def webhooks_dead(as_json: JsonOpt = False) -> None:
    """Dead letters: events whose handler kept failing."""
    from state.inbox import Inbox

    rows = _store_call(as_json, lambda s: Inbox(s).dead_letters())

    def text() -> None:
        for r in rows:
            replay = f"replayed {'ok' if r.replay_ok else 'failed'}" if r.replayed_at else "not replayed"
            typer.echo(f"{r.id:>6}  {r.platform:<10} {r.delivery_id[:36]:<36} {r.attempts}×  {replay}  "
                       f"{(r.last_error or '')[:60]}")

    _print([r.model_dump(mode="json") for r in rows], as_json, text)


def _with_worker(as_json: bool, body: Callable[[Any], Any]) -> Any:
    from orchestrator.config import get_settings

    def run(store: Any) -> Any:
        from orchestrator.deps import AdapterPool
        from orchestrator.inbox import InboxWorker, WorkerConfig

        async def go() -> Any:
            pool = AdapterPool(get_settings())
            try:
                return await body(InboxWorker(store, pool, notifier=_notifier(store),
                                              config=WorkerConfig.from_settings(get_settings())))
            finally:
                await pool.aclose()

        import asyncio

        return asyncio.run(go())

    return _store_call(as_json, run)


def _notifier(store: Any) -> Any:
    """The Slack app as drift notifier when Slack is configured (posting needs no service)."""
    from orchestrator.interfaces.slack import SlackPoster, SlackSettings

    settings = SlackSettings()
    if not settings.alerts_channel:
        return None

    class Notifier:
        async def notify_drift(self, drift: Any) -> bool:
            from orchestrator.interfaces.slack import render_drift

            text, blocks = render_drift(drift)
            await SlackPoster(settings).post(settings.alerts_channel or "", text, blocks)
            return True

    return Notifier()


@webhooks_app.command("replay")
def webhooks_replay(
    dead_id: Annotated[int, typer.Argument(help="The dead letter's id (see `webhooks dead`).")],
    as_json: JsonOpt = False,
) -> None:
    """Reprocess a dead letter once (a second replay is refused)."""
    from orchestrator.config import get_settings

    ok, summary = _with_worker(as_json, lambda w: w.replay(dead_id, get_settings().default_actor()))
    _print({"id": dead_id, "ok": ok, "summary": summary}, as_json,
           lambda: typer.echo(("replayed: " if ok else "replay failed: ") + summary))
    if not ok:
        raise typer.Exit(11)


@webhooks_app.command("work")
def webhooks_work(
    once: Annotated[bool, typer.Option("--once", help="Process what is due, then exit.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run an inbox worker (on PostgreSQL, run several: they never take the same event)."""

    async def body(worker: Any) -> dict[str, int]:
        if once:
            await worker.drain()
        else:
            import asyncio
            import threading

            stop = threading.Event()
            try:
                await worker.run(stop)
            except (KeyboardInterrupt, asyncio.CancelledError):
                stop.set()
        return {"processed": worker.processed, "failed": worker.failed}

    counts = _with_worker(as_json, body)
    _print(counts, as_json, lambda: typer.echo(f"processed {counts['processed']}, failed {counts['failed']}"))


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``mcp``, ``keys``, ``slack``, ``webhooks`` and ``drift`` to the main CLI."""
    app.command("serve")(serve)
    app.command("mcp")(mcp)
    app.add_typer(keys_app, name="keys")
    app.add_typer(slack_app, name="slack")
    app.add_typer(webhooks_app, name="webhooks")
    from orchestrator.interfaces.cli_drift import drift_app

    app.add_typer(drift_app, name="drift")

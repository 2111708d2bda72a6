"""CLI commands for drift: ``drift scan`` (compare platforms with the baseline) and ``drift list``.

Reverting stays where it is (``POST /v1/drift/{id}/revert``, the Slack button): it runs
through the pipeline like any other change.
"""

from typing import Annotated, Any

import typer

__all__ = ["drift_app"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]

drift_app = typer.Typer(help="Drift: changes platforms show that our ledger does not explain.", no_args_is_help=True)


def _line(d: dict[str, Any]) -> str:
    return (f"{d['id']}  {d['detected_at'][:19]}  {d['platform']:<10} {d['resource_type']:<10} "
            f"{d['name']:<24} {d['verb']:<8} {d['status']:<9} {d['revert_note']}")


@drift_app.command("scan")
def drift_scan(
    platform: Annotated[list[str] | None, typer.Argument(help="Platforms (default: every one in the inventory).")]
    = None,
    as_json: JsonOpt = False,
) -> None:
    """List every resource the platforms show, compare with the baseline and record drift."""
    from orchestrator.config import get_settings
    from orchestrator.interfaces.cli_surfaces import _notifier, _print, _store_call

    def run(store: Any) -> list[dict[str, Any]]:
        from orchestrator.deps import AdapterPool
        from orchestrator.drift_scan import scan

        async def go() -> list[dict[str, Any]]:
            pool = AdapterPool(get_settings())
            notifier = _notifier(store)
            try:
                reports = await scan(store, pool, platform, notify=notifier.notify_drift if notifier else None)
                return [r.to_json() for r in reports]
            finally:
                await pool.aclose()

        import asyncio

        return asyncio.run(go())

    reports = _store_call(as_json, run)

    def text() -> None:
        if not reports:
            typer.echo("nothing to scan: no platform in the inventory (run `sophia-iac status` or name one)")
        for r in reports:
            head = (f"{r['platform']}: {r['compared']} compared, {len(r['drift'])} new drift"
                    + (", baseline taken" if r["baseline_taken"] else ""))
            typer.echo(head + (f" — {r['error']}" if r["error"] else ""))
            for d in r["drift"]:
                typer.echo("  " + _line(d))

    _print(reports, as_json, text)


@drift_app.command("list")
def drift_list(
    status: Annotated[str | None, typer.Option(help="open, reverting, reverted or dismissed.")] = None,
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Recorded drift, newest first, with what a revert would run (or why there is none)."""
    from orchestrator.interfaces.cli_surfaces import _print, _store_call

    def rows(store: Any) -> list[dict[str, Any]]:
        from orchestrator.drift_revert import drift_view, settle_drift
        from state.inbox import Inbox

        return [drift_view(settle_drift(store, d))
                for d in Inbox(store).list_drift(status=status, platform=platform, limit=limit)]

    data = _store_call(as_json, rows)

    def text() -> None:
        for d in data:
            typer.echo(_line(d))

    _print(data, as_json, text)

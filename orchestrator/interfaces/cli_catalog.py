"""CLI commands for the catalog and the parser: ``actions``, ``parse`` and ``eval``.

Registered on the main app by :func:`register`, at the place in ``cli.py`` where ``--help``
lists them. Like the rest of the CLI they import heavy libraries only when run.
"""

import pathlib
import sys
from typing import Annotated, Any

import typer

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def cli() -> Any:
    """The main CLI module (its error helpers), imported when a command runs."""
    from orchestrator.interfaces import cli as main

    return main


def actions(
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The action catalog: every action with its target, params, risk and inverse."""
    from orchestrator.interfaces.catalog_rows import catalog_rows
    from orchestrator.interfaces.render import print_json, render_actions

    rows = catalog_rows(platform)
    if as_json:
        print_json(rows)
        return
    render_actions(rows)


def _parser_or_fail(name: str | None, as_json: bool) -> Any:
    """The named parser, or exit with the configuration error (e.g. no model set for ``llm``)."""
    from orchestrator.config import get_settings
    from orchestrator.errors import SophiaError
    from orchestrator.parsing import get_parser

    try:
        return get_parser(name, get_settings())
    except SophiaError as exc:
        cli()._fail(exc.to_dict(), as_json, exc.exit_code)


def parse(
    text: Annotated[str, typer.Argument(help="The command to parse (nothing is run).")],
    parser: Annotated[str | None, typer.Option(help="offline, llm or hybrid.")] = None,
    inventory: Annotated[str | None, typer.Option(help='JSON file: {"platform.type": ["NAME", ...]}.')] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show how a command parses (the ParsedCommand), without planning or running it."""
    import json

    from orchestrator.interfaces.render import print_json

    known: dict[str, list[str]] = {}
    if inventory:
        try:
            known = json.loads(pathlib.Path(inventory).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            cli()._fail({"code": "validation_failed", "message": f"can't read the inventory {inventory}: {exc}",
                         "hint": 'give a JSON object like {"snowflake.warehouse": ["ETL_WH"]}'}, as_json, 4)
    parsed = _parser_or_fail(parser, as_json).parse(text, known)
    if as_json:
        print_json(parsed.model_dump(mode="json"))
    else:
        typer.echo(f"[{parsed.parser}, confidence {parsed.confidence:.2f}]")
        print_json(parsed.expect_shape())


def eval_(
    dataset: Annotated[str, typer.Option(help="A JSONL dataset in the DESIGN.md eval format.")],
    parser: Annotated[str, typer.Option(help="offline, llm or hybrid.")] = "offline",
    predictions: Annotated[str | None, typer.Option(help="Write one JSON line per case here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score a parser on a dataset: exact match, per-field accuracy, unsafe executions, wrong changes."""
    import json

    from orchestrator.scoring.dataset import DatasetError, load_cases
    from orchestrator.scoring.runner import evaluate, summarise, write_predictions

    try:
        cases = load_cases(dataset)
    except (DatasetError, OSError) as exc:
        cli()._fail({"code": "validation_failed", "message": str(exc),
                     "hint": "each line must be a JSON case in the DESIGN.md eval format"}, as_json, 4)
    results = evaluate(cases, _parser_or_fail(parser, as_json))
    if predictions:
        write_predictions(results, predictions)
    summary = summarise(results) | {"dataset": dataset, "parser": parser}
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
        return
    for key in ("cases", "exact_match", "intent_accuracy", "action_accuracy", "target_accuracy",
                "param_accuracy", "unsafe_executions", "wrong_changes"):
        typer.echo(f"{key:>18}: {summary[key]}")
    typer.echo(f"{'latency_ms':>18}: {summary['latency_ms']}")
    for platform, row in summary["per_platform"].items():
        typer.echo(f"  {platform:<14} {row['exact']}/{row['cases']}  ({row['exact_match']:.0%})")
    for intent, row in summary["per_intent"].items():
        typer.echo(f"  {intent:<14} {row['exact']}/{row['cases']} exact, {row['wrong_changes']} wrong changes,"
                   f" {row['unsafe']} unsafe")


def register(app: typer.Typer) -> None:
    """Add ``actions``, ``parse`` and ``eval`` to the main CLI."""
    app.command("actions")(actions)
    app.command("parse")(parse)
    app.command("eval")(eval_)

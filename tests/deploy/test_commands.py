"""Every command the image runs is a real ``sophia-iac`` command, with exactly the arguments given.

The Dockerfile's CMD and each compose service's ``command`` are run as
``sophia-iac <arguments> --help`` through the installed console script (an unknown command or
option fails there, before ``--help`` is honoured), and parsed in-process by the CLI's own
Click command, which converts every value (a port out of range, a flag that takes none) without
running anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.deploy.files import DOCKERFILE, ENTRYPOINT, load_compose, parse_dockerfile, service_commands

COMMANDS = service_commands(load_compose(), parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8")))


def _console_script() -> list[str]:
    found = shutil.which(ENTRYPOINT, path=str(Path(sys.executable).parent)) or shutil.which(ENTRYPOINT)
    assert found, f"the {ENTRYPOINT} console script is not installed (pip install -e .)"
    return [found]


def _run_help(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_console_script(), *argv, "--help"], capture_output=True, text=True,
                          timeout=60, check=False, env=dict(os.environ))


def _parse(argv: list[str]) -> Any:
    """Parse ``argv`` down to its leaf command, converting every value, without invoking anything.

    Returns the leaf command's (Click) context. The arguments never carry group options, so each
    group only resolves its subcommand. (Typer ships its own copy of Click: no ``click`` import.)
    """
    from orchestrator.interfaces.cli import app

    command: Any = typer.main.get_command(app)
    name: str | None = ENTRYPOINT
    parent: Any = None
    rest = list(argv)
    while hasattr(command, "resolve_command"):
        ctx = command.context_class(command, info_name=name, parent=parent)
        name, command, rest = command.resolve_command(ctx, rest)
        parent = ctx
    assert command is not None and name is not None
    return command.make_context(name, rest, parent=parent)


def test_the_image_runs_serve_and_compose_the_worker() -> None:
    assert COMMANDS["image"][0] == "serve"
    assert COMMANDS["api"][0] == "serve"
    assert COMMANDS["worker"] == ["webhooks", "work"]


@pytest.mark.parametrize("where", sorted(COMMANDS))
def test_command_is_real(where: str) -> None:
    argv = COMMANDS[where]
    res = _run_help(argv)
    assert res.returncode == 0, f"{where}: `{ENTRYPOINT} {' '.join(argv)} --help` failed:\n{res.stdout}{res.stderr}"
    assert "Usage:" in res.stdout
    ctx = _parse(argv)
    assert ctx.command_path == " ".join([ENTRYPOINT, *argv[:len(ctx.command_path.split()) - 1]])
    if argv[0] == "serve":
        assert ctx.params["host"] == "0.0.0.0" and ctx.params["port"] == 8000
        assert ctx.params["worker"] is (where == "image")  # compose runs the worker as its own service


def test_a_command_that_does_not_exist_fails() -> None:
    """The checks above can fail: `webhooks worker` is not the worker command, `--no-workers` no option."""
    res = _run_help(["webhooks", "worker"])
    assert res.returncode != 0 and "worker" in res.stderr, res.stderr
    with pytest.raises(Exception, match="--no-workers") as caught:
        _parse(["serve", "--host", "0.0.0.0", "--no-workers"])
    assert type(caught.value).__name__ == "NoSuchOption"
    with pytest.raises(Exception, match="65535") as caught:
        _parse(["serve", "--port", "70000"])
    assert type(caught.value).__name__ == "BadParameter"

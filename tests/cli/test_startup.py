"""CLI start-up stays light: heavy libraries load only inside the commands that need them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("langgraph", "sqlalchemy", "sqlmodel", "psycopg", "alembic", "langchain_openai", "pulumi", "fastapi")


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys; from orchestrator.interfaces.cli import app; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert res.stdout.strip() == "", f"imported at start-up: {res.stdout.strip()}"


def test_help_lists_the_commands() -> None:
    res = subprocess.run([sys.executable, "-m", "orchestrator.interfaces.cli", "--help"], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    for command in ("do", "status", "history", "undo", "approve", "reject", "actions", "ledger"):
        assert command in res.stdout

"""Schemathesis over the served OpenAPI document: no server errors, and responses match it.

The server is real (uvicorn on a loopback port, SQLite state, pgvector on PostgreSQL); the
fuzzer authenticates as an admin. ``positive_data_acceptance`` is left out on purpose: a
well-formed command can still be a 422 by meaning (text that isn't understood, an
Idempotency-Key reused with another body), which a schema can't express.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.config import Settings
from tests.interfaces.live import LiveServer

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.slow
def test_schemathesis_finds_no_server_errors(settings: Settings, hooks: None, secrets: None, tmp_path: Path) -> None:
    if not SCHEMATHESIS.exists():
        pytest.fail(f"schemathesis is a test dependency: pip install schemathesis ({SCHEMATHESIS} missing)")
    from orchestrator.interfaces.api import create_app
    from state.identities import ApiKeys

    app = create_app(settings, worker=False)
    with LiveServer(app) as url:
        _, key = ApiKeys(app.state.ctx.store).create(name="fuzzer", role="admin")
        result = subprocess.run(
            [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance", "-H", f"Authorization: Bearer {key}",
             "--phases", "examples,coverage,fuzzing", "--max-examples", "25", "--workers", "1", "--seed", "7",
             "--request-timeout", "60", "--no-color"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path, check=False,
        )
    out = result.stdout + result.stderr
    assert "Server error" not in out and "ST001" not in out, out[-6000:]
    assert result.returncode == 0, out[-6000:]
    assert "Tested: 21" in out, out[-3000:]

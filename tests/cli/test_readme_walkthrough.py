"""README.md's quick start and "Then try" block, run verbatim and in order, as a newcomer would.

The commands are read from the README itself (not copied here), run through ``bash`` with no
terminal, a fresh ``$SOPHIA_HOME`` and ``$HOME``, and the embedded PostgreSQL the README promises
(no ``SOPHIA_PGVECTOR_URL``). ``RUN_ID`` is taken from the output of the step that prints it.
Each step is checked against what its comment says it does; a README line with no check here
fails the test, so the walkthrough and this file can't drift apart.

The quick start's ``pip install .`` is the one part not re-run: the package under test is
already installed in this interpreter's environment, whose ``bin`` is put first on ``PATH``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


@dataclass
class Walk:
    """The state a walkthrough carries from step to step."""

    env: dict[str, str]
    home: Path
    run_id: str | None = None

    def run(self, line: str) -> subprocess.CompletedProcess[str]:
        command = line.replace("RUN_ID", self.run_id) if self.run_id else line
        return subprocess.run(["bash", "-c", command], env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=180, check=False)

    def sh(self, args: str) -> str:
        """Run a helper command (not a README step) and return its stdout."""
        res = self.run(f"sophia-iac {args}")
        assert res.returncode == 0, res.stderr
        return res.stdout


def _bash_blocks(text: str) -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)
    return [[ln for ln in b.splitlines() if ln.strip() and not ln.lstrip().startswith("#")] for b in blocks]


def quick_start_do() -> str:
    """The quick start's first command, minus its ``pip install . &&``."""
    first = _bash_blocks(README.read_text(encoding="utf-8"))[0][0]
    prefix = "pip install . && "
    assert first.startswith(prefix), f"the quick start's first command changed shape: {first!r}"
    return first[len(prefix):]


def then_try_lines() -> list[str]:
    """The lines of the "Then try" block, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("Then try:", 1)[1]
    return _bash_blocks(section)[0]


def _index_m(walk: Walk) -> str | None:
    out = walk.sh("status pgvector")
    match = re.search(r"support-docs\b.*?\bm=(\d+)", out, flags=re.DOTALL)
    return match.group(1) if match else None


def _changes(walk: Walk) -> int:
    return len(re.findall(r"\bchg_[0-9a-f]{12}\b", walk.sh("history")))


def _check_history(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    assert "pgvector.index.create" in res.stdout and "support-docs" in res.stdout


def _check_status(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    assert "support-docs" in res.stdout and "dimension=384" in res.stdout and "metric=cosine" in res.stdout


def _check_dry_run(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    assert "m: 16 → 32" in res.stdout and "nothing was changed" in res.stdout
    assert _index_m(walk) == "16" and _changes(walk) == 1


def _check_tune(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    assert "applied" in res.stdout and _index_m(walk) == "32"


def _check_undo(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    assert "verified" in res.stdout and "pgvector.index.configure" in res.stdout
    assert _index_m(walk) == "16", "undo --last should undo the tune, leaving the index as created"


def _check_delete(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    match = re.search(r"awaiting approval\b.*?`sophia-iac approve (run_[0-9a-f]+)`", res.stdout)
    assert match, "the destructive delete should wait for approval and name the run to approve"
    walk.run_id = match.group(1)
    assert _index_m(walk) == "16", "nothing may be deleted before the approval"


def _check_approve(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    assert "applied" in res.stdout and "pgvector.index.delete" in res.stdout
    assert "support-docs" not in walk.sh("status pgvector")


def _check_verify(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    assert re.search(r"\bok\b|intact|verified", res.stdout + res.stderr, flags=re.IGNORECASE)


def _check_export(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    assert (walk.home / "anchors" / "head.json").is_file()


def _check_actions(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    assert "pgvector.index.create" in res.stdout and "snowflake.warehouse.scale" in res.stdout


def _check_pg_status(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    assert str(walk.home / ".sophia-iac") in res.stdout and "running" in res.stdout.lower()


def _check_pg_stop(walk: Walk, res: subprocess.CompletedProcess[str]) -> None:
    after = walk.sh("pg status").lower()
    assert "not running" in after or "stopped" in after, after


#: What each README line must do, keyed by the start of its command (comments stripped).
CHECKS: dict[str, Callable[[Walk, subprocess.CompletedProcess[str]], None]] = {
    "sophia-iac history": _check_history,
    "sophia-iac status pgvector": _check_status,
    'sophia-iac do "tune vector index support-docs: m 32, ef_construction 128" --dry-run': _check_dry_run,
    'sophia-iac do "tune vector index support-docs: m 32, ef_construction 128" --yes': _check_tune,
    "sophia-iac undo --last --yes": _check_undo,
    'sophia-iac do "delete the vector index support-docs"': _check_delete,
    "SOPHIA_ACTOR=cli:bob sophia-iac approve RUN_ID": _check_approve,
    "sophia-iac ledger verify --anchor": _check_verify,
    "sophia-iac ledger verify": _check_verify,
    "sophia-iac ledger export-head": _check_export,
    "sophia-iac actions": _check_actions,
    "sophia-iac pg status": _check_pg_status,
    "sophia-iac pg stop": _check_pg_stop,
}


def _check_for(line: str) -> Callable[[Walk, subprocess.CompletedProcess[str]], None]:
    command = line.split("  #", 1)[0].strip()
    for key in sorted(CHECKS, key=len, reverse=True):
        if command.startswith(key):
            return CHECKS[key]
    raise AssertionError(f"README step with no check in this test: {line!r} — add one to CHECKS")


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    home = tmp_path / "user"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPHIA_", "OPENAI_", "LLM_"))}
    env.update(HOME=str(home), SOPHIA_HOME=str(home / ".sophia-iac"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", COLUMNS="200")
    yield Walk(env=env, home=home)
    from state.pgserver import EmbeddedPostgres

    EmbeddedPostgres(home / ".sophia-iac" / "pg").stop()


def test_every_readme_step_has_a_check() -> None:
    for line in then_try_lines():
        _check_for(line)


def test_quick_start_and_then_try_verbatim(walk: Walk) -> None:
    res = walk.run(quick_start_do())
    assert res.returncode == 0, res.stderr
    assert "pgvector.index.create" in res.stdout and "applied" in res.stdout
    assert "generated a ledger key" in res.stderr
    for line in then_try_lines():
        check = _check_for(line)
        res = walk.run(line)
        assert res.returncode == 0, f"{line!r} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
        check(walk, res)


def test_destructive_without_terminal_or_yes_says_yes_asks_for_approval(tmp_path: Path, pg_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env.update(SOPHIA_HOME=str(tmp_path / "h"), SOPHIA_PGVECTOR_URL=pg_url,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    walk = Walk(env=env, home=tmp_path)
    walk.sh('do "create a vector index called hint-idx with 8 dimensions" --yes')
    res = walk.run('sophia-iac do "delete the vector index hint-idx"')
    assert res.returncode == 15, res.stderr
    assert "re-run with --yes to ask for approval" in res.stderr
    assert "hint-idx" in walk.sh("status pgvector")

"""The console script's fast path prints what the Typer CLI prints, loads neither Typer nor pydantic,
and steps aside for anything it isn't sure of.

Each command runs twice in new processes on the same seeded store: through the entry point
(``orchestrator.interfaces.fastpath:main``, the ``sophia-iac`` script) and through the Typer CLI
(``orchestrator.interfaces.cli:main``). Stdout, stderr and exit status must be equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.interfaces import fastpath
from tests.cli.test_quick_path import _seed

ROOT = Path(__file__).resolve().parents[2]
#: Run ``main`` once per argv in $ARGVS (a JSON list), in this one process; print each one's exit
#: status, stdout and stderr as JSON, and the modules loaded by the end.
BATCH = ("import contextlib, io, json, os, sys\n"
         "from orchestrator.interfaces.{module} import main\n"
         "results = []\n"
         "for argv in json.loads(os.environ['ARGVS']):\n"
         "    out, err, code = io.StringIO(), io.StringIO(), 0\n"
         "    sys.argv = ['sophia-iac', *argv]\n"
         "    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
         "        try:\n"
         "            main()\n"
         "        except SystemExit as exc:\n"
         "            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)\n"
         "    results.append([code, out.getvalue(), err.getvalue()])\n"
         "print(json.dumps({{'results': results, 'modules': sorted(sys.modules)}}))\n")
SLOW = ("typer", "pydantic", "pydantic_settings", "pydantic_core", "sqlalchemy", "langgraph", "opentelemetry")


def run(env: dict[str, str], cwd: Path, module: str, argvs: list[list[str]]) -> tuple[list[tuple[int, str, str]], set[str]]:
    """Each ``sophia-iac ARGV`` through ``module``'s ``main`` in one new process: (status, stdout, stderr)
    per argv, and the top-level packages the process imported."""
    res = subprocess.run([sys.executable, "-c", BATCH.format(module=module)], env=env | {"ARGVS": json.dumps(argvs)},
                         capture_output=True, text=True, timeout=300, cwd=cwd, check=False)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    return [tuple(r) for r in data["results"]], {m.split(".")[0] for m in data["modules"]}  # type: ignore[misc]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], dict[str, str], Path]]:
    """One seeded home for the module (the commands only read it); an untrusted escape in one command."""
    from orchestrator.config import Settings
    from state.models import ChangeRecord, Run
    from state.store import Store, new_id

    base = tmp_path_factory.mktemp("fast")
    home = base / "home"
    ids = _seed(home)
    store = Store(Settings(home=home).state_url)
    hostile = Run(id=new_id("run"), text="tune index \x1b]0;pwned\x07 docs\x1b[2J now", actor="cli:mallory",
                  status="failed")
    store.create_run(hostile)
    for n in range(21):  # more than one default page of history (20)
        change = store.ledger.open(ChangeRecord(id=new_id("chg"), run_id=hostile.id, platform="pgvector",
                                                action="pgvector.index.create", target=f"idx-{n}", actor="cli:alice",
                                                expected={"name": f"idx-{n}", "dimension": 3}))
        store.ledger.transition(change.id, "failed", error="upstream_error: refused")
    store.dispose()
    ids["hostile"] = hostile.id
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SOPHIA_")}
    env |= {"SOPHIA_HOME": str(home), "SOPHIA_ACTOR": "cli:alice", "PYTHONPATH": str(ROOT), "HOME": str(base)}
    [(code, _, err)], _ = run(env, base, "fastpath", [["actions", "--json"]])  # builds the catalog cache, once
    assert code == 0, err
    yield env, ids, base
    if (home / "pg.lock").exists():  # a declined command started the service, and with it this home's server
        from state.pgserver import EmbeddedPostgres

        EmbeddedPostgres(home / "pg").stop()


ANSWERED = [
    ["history"], ["history", "--json"], ["history", "--platform", "pgvector"], ["history", "--platform=pgvector"],
    ["history", "--limit", "1", "--json"], ["history", "--since", "1d"], ["history", "--target", "nothing-here"],
    ["runs"], ["runs", "--json"], ["runs", "--status", "applied"], ["runs", "{run}"], ["runs", "{run}", "--json"],
    ["approvals"], ["approvals", "--json"], ["status"], ["status", "pgvector", "--json"], ["status", "--json"],
    ["actions"], ["actions", "--platform", "pgvector"], ["actions", "--json"],
]

DECLINED = [
    ["history", "--limit", "0"], ["history", "--limit", "ten"], ["history", "--bogus"], ["history", "--help"],
    ["history", "--since", "the dawn of time"], ["history", "--platform"], ["history", "--platform", "--json"],
    ["history", "--json", "--json"], ["runs", "run_nosuchrun"], ["runs", "a", "b"], ["status", "nosuchplatform"],
    ["approvals", "extra"], ["history", "--platform", "a", "--platform", "b"],
]


def _args(args: list[str], ids: dict[str, str]) -> list[str]:
    return [a.format(run=ids["run"]) for a in args]


def test_fast_answers_equal_typers(seeded: tuple[dict[str, str], dict[str, str], Path]) -> None:
    env, ids, base = seeded
    argvs = [_args(args, ids) for args in ANSWERED]
    fast, loaded = run(env, base, "fastpath", argvs)
    slow, _ = run(env, base, "cli", argvs)
    for argv, f, t in zip(argvs, fast, slow, strict=True):
        assert f == t, " ".join(argv)
        assert f[0] == 0, (argv, f[2])
    assert not loaded & set(SLOW), f"the fast path imported {sorted(loaded & set(SLOW))}"


def test_anything_unsure_goes_to_typer(seeded: tuple[dict[str, str], dict[str, str], Path]) -> None:
    """Help, typos, bad values and errors: the fast path steps aside and Typer answers, code and hint included."""
    env, _, base = seeded
    fast, _ = run(env, base, "fastpath", DECLINED)
    slow, _ = run(env, base, "cli", DECLINED)
    for argv, f, t in zip(DECLINED, fast, slow, strict=True):
        assert f == t, " ".join(argv)  # the fast path prints no errors: equal output means Typer answered


def test_a_dotenv_file_sends_every_command_to_settings(seeded: tuple[dict[str, str], dict[str, str], Path],
                                                       tmp_path: Path) -> None:
    """``.env`` may name another home: only ``Settings`` reads it, so the fast path steps aside."""
    env, _, _ = seeded
    (tmp_path / ".env").write_text(f"SOPHIA_HOME={tmp_path / 'other'}\n")
    other = {k: v for k, v in env.items() if k != "SOPHIA_HOME"}
    [(code, out, err)], loaded = run(other, tmp_path, "fastpath", [["runs", "--json"]])
    assert code == 0 and "pydantic_settings" in loaded, err
    assert json.loads(out) == []  # the .env home is empty; the seeded one is not


def test_escape_sequences_in_a_command_never_reach_the_terminal(
        seeded: tuple[dict[str, str], dict[str, str], Path]) -> None:
    env, ids, base = seeded
    for module in ("fastpath", "cli"):
        [(_, out, _)], _ = run(env, base, module, [["runs"]])
        line = next(line for line in out.splitlines() if line.startswith(ids["hostile"]))
        assert "\x1b" not in line and "\x07" not in line
        assert "\\x1b]0;pwned\\x07" in line  # shown, not obeyed


@pytest.mark.parametrize(("argv", "expected"), [
    (["history", "--limit=5", "--json"], ("history", {"--limit": 5}, [], True)),
    (["runs", "run_1", "--status", "applied"], ("runs", {"--status": "applied"}, ["run_1"], False)),
    (["history", "--limit", "1001"], None), (["history", "--limit", "٣"], None), (["history", "--limit="], None),
    (["status", "--refresh"], None), (["do", "anything"], None), ([], None), (["history", "-h"], None),
    (["actions", "--platform", "pgvector", "--", "x"], None),
])
def test_the_grammar(argv: list[str], expected: Any) -> None:
    assert fastpath.parse(argv) == expected


def test_actions_rows_come_from_a_cache_that_follows_the_code(tmp_path: Path) -> None:
    from orchestrator.interfaces import catalog_rows as cr

    built = cr.build_rows()
    assert cr.catalog_rows(home=tmp_path) == built  # first use: built and kept
    cache = tmp_path / "cache" / "actions.json"
    kept = json.loads(cache.read_text())
    assert kept["fingerprint"] == cr.fingerprint() and kept["rows"] == built
    marker = [{"id": "kept.rows", "platform": "kept"}]
    cache.write_text(json.dumps({"fingerprint": kept["fingerprint"], "rows": marker}))
    assert cr.catalog_rows(home=tmp_path) == marker  # a current cache answers
    cache.write_text(json.dumps({"fingerprint": "stale", "rows": marker}))
    assert cr.catalog_rows(home=tmp_path) == built  # a stale one is rebuilt
    cache.write_text("{not json")
    assert cr.catalog_rows(home=tmp_path, platform="pgvector") == [r for r in built if r["platform"] == "pgvector"]
    assert json.loads(cache.read_text())["rows"] == built

"""Wall time of everyday CLI commands, each a cold process, beside ``python -c "import typer"``.

Makes a fresh ``$SOPHIA_HOME`` and a small ledger once (a few pgvector changes on the embedded
PostgreSQL, a dry run, a destructive change left awaiting approval), then runs each command
N times as a new process and prints its median and fastest wall time (and median CPU time) beside the floor (a Python that
imports Typer and exits) and the aim: 0.4 s for the read-only commands, 0.8 s for
``do … --dry-run`` with the offline parser. The embedded server is left running between
commands (as it is for a user: it outlives the command that started it) and destroyed at the
end.

The checkout's bytecode is compiled first, as installing a wheel does (an editable install under
``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module on every run). With
``--baseline DIR`` another checkout runs the same commands, alternately, on the same ledger.

Usage: ``python bench/cli_speed.py [-n N] [--baseline DIR] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

READ_AIM_S = 0.4
DRY_RUN_AIM_S = 0.8

#: The small ledger every measured command sees, created once up front: (argv, must exit 0).
SETUP: list[tuple[list[str], bool]] = [
    (["do", "create a vector index called bench-docs with 384 dimensions", "--yes"], True),
    (["do", "create a vector index called bench-faq with 768 dimensions", "--yes"], True),
    (["do", "tune vector index bench-docs: m 32, ef_construction 128", "--yes"], True),
    (["do", "create a vector index called bench-tmp with 128 dimensions", "--yes"], True),
    (["undo", "--last", "--yes"], True),
    (["do", "tune vector index bench-faq: m 24, ef_construction 96", "--dry-run"], True),
    (["status", "pgvector"], True),  # fills the cached inventory (older CLIs: no --refresh)
    (["do", "delete the vector index bench-faq", "--yes"], False),  # destructive: stays awaiting approval
]

#: (label, argv after the command name, aim in seconds)
MEASURED: list[tuple[str, list[str], float]] = [
    ("history", ["history"], READ_AIM_S),
    ("history --json", ["history", "--json"], READ_AIM_S),
    ("status", ["status"], READ_AIM_S),
    ("runs", ["runs"], READ_AIM_S),
    ("approvals", ["approvals"], READ_AIM_S),
    ("actions", ["actions"], READ_AIM_S),
    ("do … --dry-run", ["do", "tune vector index bench-docs: m 48, ef_construction 200", "--dry-run"], DRY_RUN_AIM_S),
]


PACKAGES = ("adapters", "iac", "orchestrator", "policies", "prompts", "state")


def cli_command(root: Path) -> list[str]:
    """How to run the CLI of the checkout at ``root``.

    This checkout: the ``sophia-iac`` console script beside this Python (what people type).
    Another (``--baseline``): ``python -m`` its CLI module, with that checkout first on the path.
    """
    script = Path(sys.executable).parent / "sophia-iac"
    if root == ROOT and script.exists():
        return [str(script)]
    return [sys.executable, "-m", "orchestrator.interfaces.cli"]


def compile_bytecode(root: Path) -> None:
    """Write the checkout's ``.pyc`` files, as installing a wheel does (an editable install never does)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", *[str(root / p) for p in PACKAGES]],
                   check=True, capture_output=True)


def timed(argv: list[str], env: dict[str, str], *, root: Path = ROOT, check: bool = True) -> tuple[float, float]:
    """Run ``argv`` once in ``root`` (output captured, no terminal); its wall and CPU (user + sys) seconds.

    CPU time counts the process and its children (not a server it talks to) and moves less with
    the machine's load than wall time does.
    """
    env = env | {"PYTHONPATH": str(root)} if root != ROOT else env
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, check=False, env=env, cwd=root, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def figures(runs: list[tuple[float, float]]) -> dict[str, float]:
    """Median and fastest wall time, and median CPU time, of several runs."""
    walls = [wall for wall, _ in runs]
    return {"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
            "cpu_median_s": round(statistics.median(cpu for _, cpu in runs), 3)}


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def _row(label: str, fig: dict[str, float], aim: str, base: dict[str, float] | None) -> str:
    line = f"{label:<24} {fig['median_s']:>7.3f}s {fig['min_s']:>7.3f}s {fig['cpu_median_s']:>7.3f}s {aim:>6}"
    if base is not None:
        line += f"   {base['median_s']:>7.3f}s {base['cpu_median_s']:>7.3f}s"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=9, help="runs per command (default 9)")
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. `git archive` of main) to measure "
                                                       "alternately with this one, on the same ledger")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sophia-bench-cli-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")} | {
        "SOPHIA_HOME": str(home), "COLUMNS": "120"}
    roots = [ROOT] + ([args.baseline.resolve()] if args.baseline else [])
    cli = {root: cli_command(root) for root in roots}
    results: dict[str, Any] = {"runs_per_command": args.n, "cli": " ".join(cli[ROOT]), "loadavg_before": loadavg(),
                               "commands": {}, "baseline": str(args.baseline) if args.baseline else None,
                               "baseline_commands": {}}
    try:
        for root in roots:
            compile_bytecode(root)
        for argv, must_pass in SETUP:
            timed([*cli[ROOT], *argv], env, check=must_pass)
        print(f"{'command':<24} {'median':>8} {'fastest':>8} {'CPU':>8} {'aim':>6}"
              + (f"   {'baseline':>8} {'its CPU':>8}" if args.baseline else ""))
        floor = figures([timed([sys.executable, "-c", "import typer"], env) for _ in range(args.n)])
        results["floor_import_typer"] = floor
        print(_row("python -c 'import typer'", floor, "floor", None), flush=True)
        for label, argv, aim in MEASURED:
            runs: dict[Path, list[tuple[float, float]]] = {root: [] for root in roots}
            for _ in range(args.n):  # alternate, so the machine's load hits both checkouts alike
                for root in roots:
                    runs[root].append(timed([*cli[root], *argv], env, root=root))
            row = figures(runs[ROOT]) | {"aim_s": aim}
            results["commands"][label] = row
            base = figures(runs[roots[-1]]) if args.baseline else None
            if base is not None:
                results["baseline_commands"][label] = base
            verdict = "ok" if row["median_s"] <= aim else "over"
            print(_row(label, row, f"{aim:.1f}s", base) + f"   {verdict}", flush=True)
    finally:
        results["loadavg_after"] = loadavg()
        from state.pgserver import EmbeddedPostgres

        EmbeddedPostgres(home / "pg").destroy()
        shutil.rmtree(home, ignore_errors=True)
    print(f"load average before {results['loadavg_before']}, after {results['loadavg_after']} (2 shared cores)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

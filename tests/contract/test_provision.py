"""The contract tests run on a fresh clone: documents shipped with their licences, Prism installed once.

Checked here without Prism or the network: every document a contract test serves is in
``tests/contracts/vendor`` with a LICENSE (or a licence the document declares) and a SOURCE note;
the unclear-licence documents are not; ``SOPHIA_SPECS_DIR`` overrides; the installer runs
``npm ci`` once however many sessions ask at the same time, re-runs it when the lock changes,
and says in one line why it failed; a session's skipped contract tests end in a banner.
"""

from __future__ import annotations

import importlib
import json
import os
import stat
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from . import provision
from .hostile_support import DOCS
from .prism import PrismError, PrismPool
from .provision import SKIP_TAG, UNCLEAR, VENDOR_DIR, PrismUnavailable, install_prism
from .skips import BANNER, tally, write_summary

HERE = Path(__file__).resolve().parent


def _served_documents() -> set[tuple[str, str]]:
    """(platform, file) of every document a contract module serves or reads."""
    wanted = {("linear", "schema.graphql"), ("slack", "slack_web_openapi_v2.json")}
    for path in sorted(HERE.glob("test_*.py")):
        module = importlib.import_module(f"tests.contract.{path.stem}")
        wanted.update(getattr(module, "PRISM_SPECS", ()))
    for docs in DOCS.values():
        for doc in docs:
            if not doc.is_absolute():
                wanted.add((doc.parts[0], doc.name))
            elif VENDOR_DIR in doc.parents:
                wanted.add((doc.parent.name, doc.name))
    return wanted


def test_every_served_document_is_in_the_project() -> None:
    missing = [f"{p}/{f}" for p, f in sorted(_served_documents()) if not (VENDOR_DIR / p / f).is_file()]
    assert not missing, f"not in {VENDOR_DIR}: {missing}"


@pytest.mark.parametrize("folder", sorted(p.name for p in VENDOR_DIR.iterdir()), ids=str)
def test_each_vendor_folder_names_its_source_and_licence(folder: str) -> None:
    root = VENDOR_DIR / folder
    source = (root / "SOURCE.txt").read_text()
    assert "Repository:" in source and "Path:" in source and "Commit" in source, source
    assert "LICENCE:" in source
    licence_files = list(root.glob("LICENSE*"))
    if not licence_files:
        # No LICENSE file in the vendor's repository: the document declares its own licence.
        assert "as declared by the document itself" in source, source
        declared = next(root.glob("*.yaml")).read_text()[:3000]
        assert "license:" in declared and "Apache 2.0" in declared


def test_no_unclear_licence_document_is_in_the_project() -> None:
    shipped = {p.name for p in VENDOR_DIR.iterdir()}
    assert not shipped & set(UNCLEAR), "these may not be copied into the project"
    names = {f.name for f in VENDOR_DIR.rglob("*")}
    assert not names & set(UNCLEAR.values())


def test_the_project_copy_is_the_default_and_sophia_specs_dir_overrides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SOPHIA_SPECS_DIR", raising=False)
    assert provision.specs_dir() == VENDOR_DIR
    assert provision.vendor_document("linear", "schema.graphql") == VENDOR_DIR / "linear" / "schema.graphql"
    monkeypatch.setenv("SOPHIA_SPECS_DIR", str(tmp_path))
    assert provision.specs_dir() == tmp_path.resolve()
    with pytest.raises(pytest.skip.Exception) as skipped:
        provision.vendor_document("linear", "schema.graphql")
    assert str(skipped.value.msg).startswith(SKIP_TAG) and "\n" not in str(skipped.value.msg)


def test_unclear_documents_come_from_outside_the_project(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SOPHIA_SPECS_DIR", str(tmp_path))
    with pytest.raises(pytest.skip.Exception) as skipped:
        provision.unclear_document("gong")
    message = str(skipped.value.msg)
    assert message.startswith(SKIP_TAG) and "licence unclear" in message and "\n" not in message
    (tmp_path / "gong").mkdir()
    (tmp_path / "gong" / UNCLEAR["gong"]).write_text("{}")
    assert provision.unclear_document("gong") == tmp_path.resolve() / "gong" / UNCLEAR["gong"]
    monkeypatch.delenv("SOPHIA_SPECS_DIR")
    assert provision.unclear_specs_dir() == (provision.project_root().parent / "shared" / "specs").resolve()


# -- the installer, with a stand-in npm (no network here) -----------------------------------


def _fake_npm(bin_dir: Path, calls: Path, *, fail: bool = False, delay: float = 0.0) -> str:
    """A shell script playing ``npm ci``: records each call, then installs a ``prism`` or fails."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    npm = bin_dir / "npm"
    body = (
        'echo "npm ERR! network request to https://registry.npmjs.org failed" >&2; exit 1'
        if fail
        else "mkdir -p node_modules/.bin && printf '#!/bin/sh\\n' > node_modules/.bin/prism"
        " && chmod +x node_modules/.bin/prism"
    )
    npm.write_text(f'#!/bin/sh\necho "$PWD $*" >> {calls}\nsleep {delay}\n{body}\n')
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    return str(npm)


@pytest.fixture
def prism_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A copy of the committed package.json and lock, standing in for tests/contracts/prism."""
    target = tmp_path / "prism"
    target.mkdir()
    for name in ("package.json", "package-lock.json"):
        (target / name).write_bytes((provision.PRISM_DIR / name).read_bytes())
    monkeypatch.setattr(provision, "PRISM_DIR", target)
    return target


def test_the_committed_lock_pins_prism() -> None:
    lock = json.loads((provision.PRISM_DIR / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@stoplight/prism-cli"]["version"]
    assert pinned == provision.PRISM_VERSION
    assert lock["packages"][""]["dependencies"]["@stoplight/prism-cli"] == provision.PRISM_VERSION


def test_npm_ci_runs_once_for_sessions_asking_together(prism_dir: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    npm = _fake_npm(tmp_path / "bin", calls, delay=0.5)
    found: list[Path] = []
    threads = [threading.Thread(target=lambda: found.append(install_prism(npm))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls.read_text().splitlines() == [f"{prism_dir} ci --no-audit --no-fund --loglevel=error"]
    assert found == [prism_dir / "node_modules" / ".bin" / "prism"] * 3
    assert install_prism(npm) == found[0]
    assert len(calls.read_text().splitlines()) == 1


def test_a_changed_lock_or_a_half_install_installs_again(prism_dir: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    npm = _fake_npm(tmp_path / "bin", calls)
    install_prism(npm)
    lock = prism_dir / "package-lock.json"
    lock.write_text(lock.read_text().replace(provision.PRISM_VERSION, "5.14.3"))
    install_prism(npm)
    (prism_dir / "node_modules" / ".sophia-installed").unlink()  # npm ci interrupted
    install_prism(npm)
    assert len(calls.read_text().splitlines()) == 3


def test_a_failed_npm_ci_says_why_in_one_line(prism_dir: Path, tmp_path: Path) -> None:
    npm = _fake_npm(tmp_path / "bin", tmp_path / "calls.log", fail=True)
    with pytest.raises(PrismUnavailable) as failed:
        install_prism(npm)
    assert "npm ci" in str(failed.value) and "network request" in str(failed.value)
    assert "\n" not in str(failed.value)
    assert provision._project_install() is None


def test_without_npm_the_skip_says_what_to_install(
    prism_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SOPHIA_PRISM_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(provision, "project_root", lambda: tmp_path)  # no .ci/node_modules there
    outcome = provision._provide()
    assert outcome.binary is None
    assert "npm is not on PATH" in outcome.reason and "Node.js" in outcome.reason


def test_with_npm_the_first_lookup_installs(
    prism_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SOPHIA_PRISM_BIN", raising=False)
    npm = _fake_npm(tmp_path / "bin", tmp_path / "calls.log")
    monkeypatch.setenv("PATH", f"{Path(npm).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(provision, "project_root", lambda: tmp_path)
    outcome = provision._provide()
    assert outcome.binary == prism_dir / "node_modules" / ".bin" / "prism"
    assert outcome.installed_in is not None


def test_sophia_prism_bin_still_wins_and_a_wrong_one_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    binary = tmp_path / "prism"
    binary.write_text("")
    monkeypatch.setenv("SOPHIA_PRISM_BIN", str(binary))
    assert provision._provide().binary == binary
    monkeypatch.setenv("SOPHIA_PRISM_BIN", str(tmp_path / "nowhere"))
    assert "SOPHIA_PRISM_BIN" in provision._provide().reason


# -- the closing summary ------------------------------------------------------------------


def _report(nodeid: str, reason: str | None = None) -> Any:
    longrepr = None if reason is None else ("file.py", 1, f"Skipped: {reason}")
    return SimpleNamespace(nodeid=nodeid, longrepr=longrepr)


class _Terminal:
    def __init__(self, stats: dict[str, list[Any]]) -> None:
        self.stats = stats
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def write_line(self, line: str, **markup: Any) -> None:
        self.lines.append((line, markup))

    def write_sep(self, sep: str, title: str, **markup: Any) -> None:
        self.lines.append((f"{sep * 3} {title} {sep * 3}", markup))


def test_skipped_contract_tests_end_the_session_in_a_banner() -> None:
    no_prism = f"{SKIP_TAG} Prism is not installed and npm is not on PATH"
    stats = {
        "passed": [_report("tests/contract/test_a.py::ok"), _report("tests/state/test_b.py::ok")],
        "skipped": [
            _report("tests/contract/test_a.py::one", no_prism),
            _report("tests/contract/test_a.py::two", no_prism),
            _report("tests/adapters/test_linear.py::three", f"{SKIP_TAG} vendor document linear/x"),
            _report("tests/iac/test_automation.py::four", "the pulumi CLI is not on PATH"),
        ],
    }
    result = tally(stats)
    assert result.ran == 1
    assert result.skipped == Counter({no_prism: 2, f"{SKIP_TAG} vendor document linear/x": 1})
    terminal = _Terminal(stats)
    write_summary(terminal)
    text = "\n".join(line for line, _ in terminal.lines)
    assert f"3 {BANNER} (1 ran)" in text
    assert f"    2  {no_prism}" in text and "pulumi" not in text
    # (a session that installed Prism first says so in one plain line: in a fresh clone it did)
    assert all(markup.get("red") for line, markup in terminal.lines if not line.startswith("contract servers:"))


def test_a_session_with_no_skipped_contract_test_says_so_quietly() -> None:
    terminal = _Terminal({"passed": [_report("tests/contract/test_a.py::ok")]})
    write_summary(terminal)
    assert [line for line, _ in terminal.lines][-1] == "contract tests: 1 ran, none skipped"
    quiet = _Terminal({"passed": [_report("tests/state/test_b.py::ok")]})
    write_summary(quiet)
    assert quiet.lines == []


def test_a_server_that_fails_to_start_is_not_started_again(tmp_path: Path) -> None:
    spec = tmp_path / "vendor" / "acme" / "openapi.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text("openapi: 3.0.3\n")
    pool = PrismPool(tmp_path / "vendor", Path("/bin/false"))  # exits at once, never listens
    with pytest.raises(PrismError, match="did not start"):
        pool.serve("acme", "openapi.yaml", timeout=30)
    started = time.monotonic()
    with pytest.raises(PrismError, match="not retried"):
        pool.serve("acme", "openapi.yaml", timeout=30)
    assert time.monotonic() - started < 1
    pool.close()

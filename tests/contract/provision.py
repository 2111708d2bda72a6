"""Where the contract tests get their vendor documents and their Prism from.

Vendor documents: the project carries the ones whose licence allows it in
``tests/contracts/vendor/<platform>/`` (each with its LICENSE and a SOURCE.txt naming repository,
path and commit). ``SOPHIA_SPECS_DIR`` replaces that folder (same layout) when set. The three
documents whose licence is *unclear* (:data:`UNCLEAR`: Lambda Labs, Gong, Apollo) are never
copied into the project: :func:`unclear_document` reads them from ``SOPHIA_SPECS_DIR``, else from
``../shared/specs`` beside the checkout, and skips, saying so, where neither holds them.

Prism (npm ``@stoplight/prism-cli``, pinned by ``tests/contracts/prism/package-lock.json``):
:func:`ensure_prism` looks, in order, at ``SOPHIA_PRISM_BIN``; the project's own install
(``tests/contracts/prism/node_modules``); ``.ci/node_modules`` (older checkouts' install); then,
when ``npm`` is on PATH, runs ``npm ci`` in ``tests/contracts/prism`` once (under a file lock, so
parallel sessions install it once); then ``prism`` on PATH. Otherwise the test skips with one
line saying what to install. The outcome is kept for the rest of the session.

Every skip raised here starts with :data:`SKIP_TAG`, which the suite's closing summary
(:mod:`tests.contract.skips`) counts as a contract test that did not run.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = [
    "PRISM_DIR",
    "PRISM_VERSION",
    "SKIP_TAG",
    "UNCLEAR",
    "VENDOR_DIR",
    "PrismOutcome",
    "PrismUnavailable",
    "ensure_prism",
    "find_prism",
    "install_prism",
    "known_outcome",
    "prism_outcome",
    "project_root",
    "specs_dir",
    "unclear_document",
    "unclear_specs_dir",
    "vendor_document",
]

PRISM_VERSION = "5.14.2"
#: Starts every skip reason about a missing contract document or a missing Prism.
SKIP_TAG = "[contract]"
#: platform → file: documents whose licence is unclear, read only from outside the project.
UNCLEAR: dict[str, str] = {
    "lambdalabs": "lambda-cloud-openapi.json",
    "gong": "gong-api-v2-openapi.json",
    "apollo": "apollo-rest-api-openapi.json",
}
INSTALL_TIMEOUT = 900.0


def project_root() -> Path:
    """The repository root (this file is ``tests/contract/provision.py``)."""
    return Path(__file__).resolve().parents[2]


VENDOR_DIR = project_root() / "tests" / "contracts" / "vendor"
PRISM_DIR = project_root() / "tests" / "contracts" / "prism"


def _configured(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else None


def specs_dir() -> Path:
    """The vendor documents: ``$SOPHIA_SPECS_DIR`` if set, else the project's own copies."""
    return _configured("SOPHIA_SPECS_DIR") or VENDOR_DIR


def vendor_document(platform: str, name: str) -> Path:
    """``<specs>/<platform>/<name>``, or skip saying where it was looked for."""
    path = specs_dir() / platform / name
    if not path.is_file():
        pytest.skip(f"{SKIP_TAG} vendor document {platform}/{name} not found in {specs_dir()} (SOPHIA_SPECS_DIR)")
    return path


def unclear_specs_dir() -> Path:
    """Where the unclear-licence documents are read: ``$SOPHIA_SPECS_DIR``, else ``../shared/specs``."""
    return _configured("SOPHIA_SPECS_DIR") or (project_root().parent / "shared" / "specs").resolve()


def unclear_document(platform: str) -> Path:
    """The vendor's own document for an :data:`UNCLEAR` platform, or skip saying why it is absent.

    The hook for those platforms' contract tests (the cross-checks of Lambda Labs' and Apollo's
    hand-written contracts against the vendors' documents; Gong has no adapter yet): the project
    may not carry these files, so their tests run only where a copy sits outside it.
    """
    path = unclear_specs_dir() / platform / UNCLEAR[platform]
    if not path.is_file():
        pytest.skip(
            f"{SKIP_TAG} {platform}'s document is not shipped (licence unclear) and is not at {path}:"
            " set SOPHIA_SPECS_DIR to a folder holding it"
        )
    return path


# -- Prism ---------------------------------------------------------------------------------


class PrismUnavailable(RuntimeError):
    """Prism is not installed here and could not be installed (the message says what to do)."""


@dataclass
class PrismOutcome:
    """A session's Prism lookup: the executable, or why there is none; how long an install took."""

    binary: Path | None = None
    reason: str = ""
    installed_in: float | None = None


_OUTCOME: PrismOutcome | None = None


def _shown(path: Path) -> Path:
    """``path`` relative to the project when it is inside it (shorter messages)."""
    try:
        return path.relative_to(project_root())
    except ValueError:
        return path


def _lock_digest() -> str:
    return hashlib.sha256((PRISM_DIR / "package-lock.json").read_bytes()).hexdigest()


def _marker() -> Path:
    return PRISM_DIR / "node_modules" / ".sophia-installed"


def _project_install() -> Path | None:
    """The project's install, if it is complete and made from the committed lock."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    marker = _marker()
    if binary.exists() and marker.is_file() and marker.read_text().strip() == _lock_digest():
        return binary
    return None


@contextmanager
def _install_lock() -> Iterator[None]:
    with open(PRISM_DIR / ".install.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install_prism(npm: str, timeout: float = INSTALL_TIMEOUT) -> Path:
    """``npm ci`` in ``tests/contracts/prism`` (once: other sessions wait on the lock and reuse it).

    Raises:
        PrismUnavailable: npm failed or timed out; the message carries its last line.
    """
    with _install_lock():
        found = _project_install()
        if found is not None:
            return found
        rel = _shown(PRISM_DIR)
        cmd = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        try:
            done = subprocess.run(
                cmd, cwd=PRISM_DIR, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise PrismUnavailable(f"`npm ci` in {rel} did not finish within {timeout:.0f} s") from None
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
            last = lines[-1].strip() if lines else "no output"
            raise PrismUnavailable(f"`npm ci` in {rel} failed (exit {done.returncode}): {last[:200]}")
        _marker().write_text(_lock_digest() + "\n")
        found = _project_install()
        if found is None:
            raise PrismUnavailable(f"`npm ci` in {rel} succeeded but node_modules/.bin/prism is missing")
        return found


def find_prism() -> Path | None:
    """An installed Prism, without installing one (see the module doc for the order)."""
    configured = os.environ.get("SOPHIA_PRISM_BIN", "").strip()
    if configured:
        return Path(configured) if Path(configured).exists() else None
    for candidate in (_project_install(), project_root() / ".ci" / "node_modules" / ".bin" / "prism"):
        if candidate is not None and candidate.exists():
            return candidate
    if shutil.which("npm") is None and (on_path := shutil.which("prism")):
        return Path(on_path)
    return None


def _provide() -> PrismOutcome:
    configured = os.environ.get("SOPHIA_PRISM_BIN", "").strip()
    if configured and not Path(configured).exists():
        return PrismOutcome(reason=f"SOPHIA_PRISM_BIN={configured} does not exist: unset it to install Prism with npm")
    found = find_prism()
    if found is not None:
        return PrismOutcome(binary=found)
    npm = shutil.which("npm")
    if npm is None:
        return PrismOutcome(
            reason="Prism is not installed and npm is not on PATH: install Node.js 18.20+ with npm"
            " (e.g. `apt-get install nodejs npm`) and rerun; the tests then run `npm ci` in"
            " tests/contracts/prism themselves"
        )
    started = time.monotonic()
    try:
        binary = install_prism(npm)
    except PrismUnavailable as exc:
        return PrismOutcome(reason=f"Prism could not be installed: {exc}")
    return PrismOutcome(binary=binary, installed_in=time.monotonic() - started)


def prism_outcome() -> PrismOutcome:
    """This session's Prism lookup (made once, on first use)."""
    global _OUTCOME
    if _OUTCOME is None:
        _OUTCOME = _provide()
    return _OUTCOME


def known_outcome() -> PrismOutcome | None:
    """This session's Prism lookup if one was made (never makes one)."""
    return _OUTCOME


def ensure_prism() -> Path:
    """Prism's executable, installing the pinned version on first use; skip (one line) if impossible."""
    outcome = prism_outcome()
    if outcome.binary is None:
        pytest.skip(f"{SKIP_TAG} {outcome.reason}")
    return outcome.binary

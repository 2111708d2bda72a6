"""compose.yaml: valid against the Compose Specification's schema, and right where the schema can't see.

The schema (``compose-spec.json``, committed beside this file with its LICENSE, NOTICE and a
SOURCE note) catches misspelled keys and wrong shapes; :func:`~tests.deploy.files.compose_problems`
checks what only this project knows: secrets are declared and come from files, no password is
written down, the API's port and health check match the Dockerfile, the worker runs the real
worker command, and every service waits for a healthy dependency. Each check is also shown
failing on a broken copy.
"""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.files import (
    COMPOSE,
    DOCKERFILE,
    HERE,
    SCHEMA,
    compose_problems,
    load_compose,
    parse_dockerfile,
    schema_errors,
)

TEXT = COMPOSE.read_text(encoding="utf-8")
INSTRUCTIONS = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def test_the_schema_is_the_copy_its_source_note_names() -> None:
    note = (HERE / "SOURCE.txt").read_text(encoding="utf-8")
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() in note
    assert "Repository: compose-spec/compose-spec" in note and "Path: schema/compose-spec.json" in note
    assert (HERE / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
    assert "Compose Specification" in (HERE / "NOTICE").read_text(encoding="utf-8")


def test_compose_file_is_valid_against_the_schema() -> None:
    assert schema_errors(load_compose()) == []


def test_compose_file_passes_the_checks_the_schema_cannot_do() -> None:
    assert compose_problems(load_compose(), INSTRUCTIONS, TEXT) == []


# -- the validation fails on broken copies ---------------------------------------------------


def _broken(edit: Any) -> dict[str, Any]:
    compose = copy.deepcopy(load_compose())
    edit(compose)
    return compose


@pytest.mark.parametrize(("name", "edit", "where"), [
    ("misspelled service key", lambda c: c["services"]["api"].__setitem__("depend_on", {"db": {}}), "services/api"),
    ("misspelled top-level key", lambda c: c.__setitem__("secret", c.pop("secrets")), "(top)"),
    ("unknown depends_on condition",
     lambda c: c["services"]["worker"]["depends_on"]["db"].__setitem__("condition", "service_healty"),
     "services/worker/depends_on"),
    ("healthcheck test of the wrong type", lambda c: c["services"]["db"]["healthcheck"].__setitem__("test", 42),
     "services/db/healthcheck/test"),
    ("secret with an unknown source key", lambda c: c["secrets"]["ledger_key"].__setitem__("path", "x"),
     "secrets/ledger_key"),
], ids=lambda v: v if isinstance(v, str) and " " in v else "")
def test_schema_rejects(name: str, edit: Any, where: str) -> None:
    errors = schema_errors(_broken(edit))
    assert errors, f"the schema accepted a {name}"
    assert any(e.startswith(where) for e in errors), errors


def _drop_secret(c: dict[str, Any]) -> None:
    del c["secrets"]["ledger_key"]


def _plain_password(c: dict[str, Any]) -> None:
    env = c["services"]["db"]["environment"]
    del env["POSTGRES_PASSWORD_FILE"]
    env["POSTGRES_PASSWORD"] = "hunter2hunter2"


def _wrong_worker(c: dict[str, Any]) -> None:
    c["services"]["worker"]["command"] = ["webhooks", "worker"]


def _wrong_port(c: dict[str, Any]) -> None:
    c["services"]["api"]["command"] = ["serve", "--host", "0.0.0.0", "--port", "9000", "--no-worker"]


def _loopback(c: dict[str, Any]) -> None:
    c["services"]["api"]["command"] = ["serve", "--port", "8000", "--no-worker"]


def _started_only(c: dict[str, Any]) -> None:
    c["services"]["api"]["depends_on"]["db"]["condition"] = "service_started"


def _old_pgdata(c: dict[str, Any]) -> None:
    c["services"]["db"]["volumes"] = ["pgdata:/var/lib/postgresql/data"]


def _ungranted(c: dict[str, Any]) -> None:
    c["services"]["worker"]["secrets"] = ["database_url", "pgvector_url"]  # ledger_key left out


def _worker_inherits_http_check(c: dict[str, Any]) -> None:
    del c["services"]["worker"]["healthcheck"]


@pytest.mark.parametrize(("edit", "expected"), [
    (_drop_secret, "secret `ledger_key` is not declared"),
    (_plain_password, "POSTGRES_PASSWORD holds a value"),
    (_wrong_worker, "not `webhooks work`"),
    (_wrong_port, "serves on 9000, the health check asks 8000"),
    (_loopback, "must listen on 0.0.0.0"),
    (_started_only, "without `condition: service_healthy`"),
    (_old_pgdata, "mounted at /var/lib/postgresql for"),
    (_ungranted, "a secret the service isn't granted"),
    (_worker_inherits_http_check, "disable it"),
], ids=lambda v: getattr(v, "__name__", "").lstrip("_"))
def test_semantic_checks_catch(edit: Any, expected: str) -> None:
    problems = compose_problems(_broken(edit), INSTRUCTIONS, TEXT)
    assert any(expected in p for p in problems), problems


def test_a_password_written_into_a_url_is_caught() -> None:
    text = TEXT.replace("SOPHIA_DATABASE_URL_FILE: /run/secrets/database_url",
                        "SOPHIA_DATABASE_URL: postgresql+psycopg://sophia:hunter2@db:5432/sophia")
    assert text != TEXT
    problems = compose_problems(load_compose(text), INSTRUCTIONS, text)
    assert any("URL with a password" in p for p in problems), problems


# -- the app reads what compose hands it -----------------------------------------------------


def test_the_app_reads_the_secret_files_compose_mounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The api's environment, with /run/secrets/ pointed at files here, configures Settings and the ledger."""
    from orchestrator.config import Settings
    from state.ledger_key import resolve_ledger_key

    api = load_compose()["services"]["api"]
    values = {
        "database_url": "postgresql+psycopg://sophia:pw-from-file@db:5432/sophia",
        "pgvector_url": "postgresql://sophia:pw-from-file@db:5432/sophia",
        "ledger_key": "0123456789abcdef0123456789abcdef",
    }
    assert sorted(api["secrets"]) == sorted(values)
    for name, value in values.items():
        (tmp_path / name).write_text(value + "\n", encoding="utf-8")
    for var, value in api["environment"].items():
        monkeypatch.setenv(var, str(value).replace("/run/secrets/", f"{tmp_path}{os.sep}"))
    settings = Settings()
    assert settings.state_url == values["database_url"] and settings.is_postgres
    assert settings.pgvector_url == values["pgvector_url"]
    key = resolve_ledger_key(create=False, home=tmp_path / "home")
    assert key is not None and key.source == "file:SOPHIA_LEDGER_KEY_FILE"


def test_the_readme_deployment_section_matches_the_files() -> None:
    """The README says plainly what was run, and names every service and secret file compose uses."""
    readme = (COMPOSE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Deployment\n", 1)[1].split("\n## ", 1)[0]
    assert ("The image was not built here (no registry access); the compose file and Dockerfile are\n"
            "validated by schema and linter in the tests.") in section
    compose = load_compose()
    for service in compose["services"]:
        assert f"| `{service}` |" in section, service
    for secret in compose["secrets"]:
        assert f"secrets/{secret}" in section, secret
    for command in (["serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"], ["webhooks", "work"]):
        assert f"`{' '.join(command)}`" in section

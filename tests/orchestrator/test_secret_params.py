"""withhold_secrets: what a parsed command may keep, and what is taken out of it and its text."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from adapters.catalog import format_validation_error
from adapters.credentials import SCRUBBER, param_secret_ref, require_configured
from adapters.registry import spec_for
from orchestrator.errors import ConfigError
from orchestrator.executor import REDACTED, redact
from orchestrator.parsing.offline import OfflineParser
from orchestrator.secret_params import (
    PLACEHOLDER,
    SecretInCommandError,
    Withheld,
    is_reference,
    secret_actions,
    withhold_secrets,
)
from orchestrator.service import OrchestratorService
from orchestrator.state import Intent, ParsedCommand
from tests.orchestrator.conftest import arun, req

SECRET = "s3cr3t-Pa55-unit-81f2"


def _parse(text: str) -> ParsedCommand:
    return OfflineParser().parse(text, {})


def test_the_catalog_declares_the_secret_params_the_guard_uses() -> None:
    assert secret_actions()["vercel.env.set"] == frozenset({"value"})
    assert "vercel.env.unset" not in secret_actions()


@pytest.mark.parametrize(("value", "ok"), [("secret://API_KEY", True), (" secret://A1_B ", True),
                                           ("secret://api_key", False), ("secret://", False),
                                           ("https://x.example.com", False), (42, False), (None, False)])
def test_only_well_formed_references_count_as_references(value: object, ok: bool) -> None:
    assert is_reference(value) is ok


def test_a_typed_secret_is_masked_in_text_and_params_and_refused() -> None:
    text = f"set API_KEY to {SECRET} on the vercel project web"
    safe = withhold_secrets(text, _parse(text))
    assert safe.text == f"set API_KEY to {PLACEHOLDER} on the vercel project web"
    (call,) = safe.parsed.actions
    assert call.params == {"key": "API_KEY", "value": PLACEHOLDER, "environment": "production"}
    assert isinstance(safe.error, SecretInCommandError) and safe.error.code == "secret_in_command"
    assert safe.error.details["variable"] == "SOPHIA_VERCEL_ENV_API_KEY"
    assert "secret://API_KEY" in safe.error.hint and "SOPHIA_VERCEL_ENV_API_KEY_FILE" in safe.error.hint
    dumped = json.dumps([safe.text, safe.parsed.model_dump(mode="json"), safe.error.to_dict()])
    assert SECRET not in dumped
    assert SCRUBBER.scrub(f"oops {SECRET}") == "oops [REDACTED]", "a stray copy in a log is redacted"


def test_a_reference_passes_unchanged() -> None:
    text = "set API_KEY to secret://API_KEY on the vercel project web"
    parsed = _parse(text)
    safe = withhold_secrets(text, parsed)
    assert (safe.text, safe.parsed, safe.error) == (text, parsed, None)


def test_commands_without_secret_params_pass_unchanged() -> None:
    text = "create a vector index called docs with 3 dimensions"
    parsed = _parse(text)
    safe = withhold_secrets(text, parsed)
    assert (safe.text, safe.parsed, safe.error) == (text, parsed, None)


def test_a_value_the_parser_normalised_withholds_the_whole_text() -> None:
    parsed = ParsedCommand(intent=Intent.ACTION, actions=[
        spec_for("vercel.env.set").call("web", {"key": "API_KEY", "value": SECRET})])
    text = f"set API_KEY to   {SECRET.upper()}   on web"  # not verbatim in the text
    safe = withhold_secrets(text, parsed)
    assert safe.error is not None and SECRET.upper() not in safe.text and SECRET not in safe.text
    assert safe.text.startswith("[command withheld")


def test_a_clarify_about_a_secret_action_withholds_the_text() -> None:
    text = f"set API_KEY to {SECRET} on vercel"  # no project: the parser asks which one
    parsed = _parse(text)
    assert parsed.intent is Intent.CLARIFY and "vercel.env.set" in (parsed.message or "")
    safe = withhold_secrets(text, parsed)
    assert SECRET not in safe.text and "vercel.env.set" in safe.text and safe.error is None


def test_a_non_string_literal_is_refused_too() -> None:
    parsed = ParsedCommand(intent=Intent.ACTION, actions=[
        spec_for("vercel.env.set").call("web", {"key": "PORT", "value": "8080"}).model_copy(
            update={"params": {"key": "PORT", "value": 8080, "environment": "production"}})])
    safe = withhold_secrets("set PORT to 8080 on web", parsed)
    assert safe.error is not None and safe.text == f"set PORT to {PLACEHOLDER} on web"
    assert SCRUBBER.scrub("16.24218080230724") == "16.24218080230724", "short literals don't mangle other text"


def test_the_ledger_keeps_references_and_redacts_literals() -> None:
    spec = spec_for("vercel.env.set")
    assert redact(spec, {"key": "A", "value": "secret://A"})["value"] == "secret://A"
    assert redact(spec, {"key": "A", "value": SECRET})["value"] == REDACTED


def test_validation_errors_never_quote_a_secret_param() -> None:
    spec = spec_for("vercel.env.set")
    with pytest.raises(ValidationError) as err:
        spec.validate_params({"key": "BAD KEY!", "value": "x" * 70000})
    message = format_validation_error(spec.id, err.value, spec.secret_params)
    assert "xxxx" not in message and "BAD KEY!" in message
    assert "xxxx" in format_validation_error(spec.id, err.value), "other callers keep the quote"


def test_require_configured_checks_without_reading() -> None:
    ref = param_secret_ref("vercel", "API_KEY")
    assert ref.env_var == "SOPHIA_VERCEL_ENV_API_KEY"
    with pytest.raises(ConfigError, match="SOPHIA_VERCEL_ENV_API_KEY"):
        require_configured(ref, environ={})
    require_configured(ref, environ={"SOPHIA_VERCEL_ENV_API_KEY_FILE": "/run/secrets/api-key"})
    require_configured(ref, environ={"SOPHIA_VERCEL_ENV_API_KEY": "v"})


@pytest.mark.parametrize("text", [
    f"explain set API_KEY to {SECRET} on the vercel project web",
    f"what would happen if I set API_KEY to {SECRET} on the vercel project web",
])
def test_a_secret_in_a_question_is_caught_too(text: str) -> None:
    parsed = _parse(text)
    assert parsed.intent is not Intent.ACTION
    safe = withhold_secrets(text, parsed)
    assert safe.error is not None and safe.error.details["variable"] == "SOPHIA_VERCEL_ENV_API_KEY"
    assert SECRET not in json.dumps([safe.text, safe.parsed.model_dump(mode="json")]) and PLACEHOLDER in safe.text


def test_questions_without_secrets_pass_unchanged() -> None:
    for text in ("explain why scaling ETL_WH to large needs approval", "status vercel", "help"):
        parsed = _parse(text)
        assert withhold_secrets(text, parsed) == Withheld(text, parsed)


class _BrokenParser:
    """Stands in for a parser whose model is down (the error type is the LLM parser's own kind)."""

    def parse(self, text: str, inventory: object = None) -> ParsedCommand:
        raise ConfigError("the model endpoint refused the connection", hint="check SOPHIA_LLM_BASE_URL")


def test_a_command_the_parser_fails_on_is_recorded_without_its_text(
    service_factory: Callable[[], OrchestratorService],
) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            svc.deps.parsers["default"] = _BrokenParser()
            with pytest.raises(ConfigError, match="refused the connection"):
                await svc.submit(req(f"store {SECRET} as the web app's api key"))
            (run,) = svc.runs()
            assert run["status"] == "failed" and run["error"]["code"] == "config_error"
            assert SECRET not in run["text"] and run["text"].startswith("[command withheld")

    arun(flow())


class _ModelParser:
    """Stands in for an LLM parser (no model runs in this test): records every text it is sent."""

    name = "llm"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def parse(self, text: str, inventory: object = None) -> ParsedCommand:
        self.seen.append(text)
        return OfflineParser().parse(text, inventory)  # type: ignore[arg-type]


def test_a_typed_secret_never_reaches_the_model(service_factory: Callable[[], OrchestratorService]) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            model = _ModelParser()
            svc.deps.parsers["default"] = model
            view = await svc.submit(req(f"set API_KEY to {SECRET} on the vercel project web"))
            assert view["status"] == "failed" and view["error"]["code"] == "secret_in_command"
            assert model.seen == []
            await svc.submit(req("set API_KEY to secret://API_KEY on the vercel project web", dry_run=True))
            assert model.seen == ["set API_KEY to secret://API_KEY on the vercel project web"]

    arun(flow())

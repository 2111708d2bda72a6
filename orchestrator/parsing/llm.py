"""LLM parser: any OpenAI-compatible chat model, structured output, validated against the catalog.

One request is one call to ``ChatOpenAI(...).with_structured_output(schema, method="json_schema")``
(LangChain, imported lazily) with a prompt that shows only the catalog actions an offline
relevance scorer ranks relevant, plus the built-in intents. The answer is untrusted: it is
decoded and checked by :func:`~orchestrator.parsing.llm_validate.check_answer`; a malformed
answer gets one repair call with the problems spelled out, then becomes ``clarify``.
Nothing the model says reaches the planner without passing the catalog.

Settings: ``SOPHIA_LLM_BASE_URL`` (an OpenAI-compatible ``/v1`` endpoint: OpenAI,
OpenRouter, a Portkey gateway, vLLM, llama.cpp's ``llama-server``), ``SOPHIA_LLM_MODEL``,
and the key by reference: ``SOPHIA_LLM_API_KEY`` or ``SOPHIA_LLM_API_KEY_FILE`` (resolved by
:mod:`adapters.credentials`, registered with the scrubber, never logged). A local server
needs no key.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from adapters.credentials import SecretRef, resolve_secret, scrub
from orchestrator.config import Settings, get_settings
from orchestrator.errors import ConfigError, SophiaError
from orchestrator.parsing.cache import ParseCache, cache_key, normalise_text
from orchestrator.parsing.llm_context import (
    describe_actions,
    describe_inventory,
    mask_values,
    output_schema,
    relevant_specs,
)
from orchestrator.parsing.llm_validate import Clarify, Repair, Valid, check_answer, safety_net, smuggled
from orchestrator.state import MUTATING_INTENTS, Intent, ParsedCommand
from prompts.parse import NO_INVENTORY, PARSE_REPAIR, PARSE_SYSTEM, PARSE_USER, PROMPT_VERSION, SCHEMA_NAME

__all__ = ["LLMParser", "LLMUnavailableError", "ParseUsage"]

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
PROMPT_TOKEN_BUDGET = 2500
#: Characters per token assumed when trimming the prompt before sending (conservative for
#: English + ids; the real count comes back in ``usage``).
CHARS_PER_TOKEN = 3.0
_NO_KEY = "sk-no-key-needed"


class LLMUnavailableError(SophiaError):
    """The model endpoint kept failing (timeouts, 429, 5xx) after retries; nothing was parsed."""

    code = "llm_unavailable"
    exit_code = 14
    http_status = 503


@dataclass
class ParseUsage:
    """What one ``parse`` cost: calls made, tokens per call, wall time, whether it was cached."""

    calls: int = 0
    prompt_tokens: list[int] = field(default_factory=list)
    completion_tokens: list[int] = field(default_factory=list)
    seconds: float = 0.0
    cached: bool = False
    repaired: bool = False
    actions_offered: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens over every call."""
        return sum(self.prompt_tokens) + sum(self.completion_tokens)


def _proposes_change(answer: Any) -> bool:
    """Whether a decoded model answer asks for a change (an action, freeze or unfreeze)."""
    return isinstance(answer, dict) and answer.get("intent") in {i.value for i in MUTATING_INTENTS}


class _Budget(Exception):
    """Internal: the per-command call or token cap would be exceeded."""


class _CutOff(Exception):
    """Internal: the answer ran past ``max_output_tokens`` (``text`` is what came before the cut)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class LLMParser:
    """Parse with an OpenAI-compatible chat model; see the module docstring.

    Args:
        settings: where the model is (defaults to :func:`get_settings`).
        chat_model: a ready LangChain chat model (tests, or a custom client); built from
            settings when None.
        http_client: an ``httpx2.Client`` for the OpenAI SDK (tests serve canned responses
            through a mock transport with it).
        cache: the result cache (a private one when None; ``ParseCache(0)`` disables it).
        max_calls: model calls per command (the first answer plus repairs).
        max_tokens: prompt + completion tokens per command.
        max_output_tokens: completion tokens per call.
        timeout: seconds per call.
        retries: extra attempts after a timeout, connection error, 429 or 5xx.
        backoff: first retry delay in seconds (doubles each time; ``Retry-After`` wins).
        max_actions: catalog actions shown to the model.
        sleep: the delay function (tests pass a recorder).
    """

    name = "llm"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        chat_model: Any | None = None,
        http_client: Any | None = None,
        cache: ParseCache | None = None,
        max_calls: int = 2,
        max_tokens: int = 8000,
        max_output_tokens: int = 512,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_actions: int = 6,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings or get_settings()
        self.model_name = self.settings.llm_model
        if not self.model_name and chat_model is None:
            raise ConfigError("no LLM is configured", hint="set SOPHIA_LLM_MODEL (and SOPHIA_LLM_BASE_URL)")
        self.base_url = self.settings.llm_base_url
        self.cache = cache if cache is not None else ParseCache()
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self.max_output_tokens = max_output_tokens
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_actions = max_actions
        self._sleep = sleep
        self._http_client = http_client
        self._chat_model = chat_model
        self.last_usage = ParseUsage()

    # -- public ----------------------------------------------------------------------------

    def parse(self, text: str, inventory: Mapping[str, Sequence[str]] | None = None) -> ParsedCommand:
        """Parse one command. Answers ``clarify`` for what can't be validated.

        Raises:
            LLMUnavailableError: the endpoint kept failing after retries.
            ConfigError: the endpoint refused the key, or doesn't know the model.
        """
        started = time.perf_counter()
        self.last_usage = usage = ParseUsage()
        raw = normalise_text(text or "")
        inventory = {k: sorted(v) for k, v in sorted((inventory or {}).items()) if v}
        if not raw:
            return self._clarify("the command is empty: say what to do")
        if len(raw) > MAX_TEXT_CHARS:
            return self._clarify(f"that command is too long ({len(raw)} characters; the limit is {MAX_TEXT_CHARS})")
        key = cache_key(raw, inventory, f"{PROMPT_VERSION}|{self.model_name}|{self.base_url}")
        if (hit := self.cache.get(key)) is not None:
            usage.cached = True
            return hit
        try:
            result = self._parse(raw, inventory, usage)
        finally:
            usage.seconds = time.perf_counter() - started
        self.cache.put(key, result)
        return result

    def messages(self, text: str, inventory: Mapping[str, Sequence[str]] | None = None) -> tuple[
        list[tuple[str, str]], dict[str, Any], list[str], dict[str, str]
    ]:
        """The first call's messages and schema, the actions offered, and the masked values.

        Deterministic: the same text and inventory always give the same request body.
        """
        masked, restore = mask_values(text)
        specs = relevant_specs(masked, inventory, limit=self.max_actions)
        while True:
            system = PARSE_SYSTEM.format(
                actions=describe_actions(specs),
                inventory=describe_inventory(inventory, specs) or NO_INVENTORY,
            )
            user = PARSE_USER.format(text=masked)
            if len(system) + len(user) <= (PROMPT_TOKEN_BUDGET - 100) * CHARS_PER_TOKEN or not specs:
                break
            specs = specs[:-1]
        schema = {"name": SCHEMA_NAME, "schema": output_schema(specs), "strict": False}
        return [("system", system), ("human", user)], schema, [s.id for s in specs], restore

    # -- internals -------------------------------------------------------------------------

    def _parse(self, text: str, inventory: Mapping[str, Sequence[str]], usage: ParseUsage) -> ParsedCommand:
        messages, schema, offered, restore = self.messages(text, inventory)
        usage.actions_offered = len(offered)
        problems: list[str] = []
        for attempt in range(self.max_calls):
            outcome: Valid | Repair | Clarify
            try:
                content = self._call(messages, schema, usage)
            except _Budget:
                break
            except _CutOff as cut:
                content = cut.text
                problem = f"the answer was cut off at {self.max_output_tokens} tokens; answer with one short JSON object"
                outcome = Repair([problem])
            else:
                try:
                    answer = json.loads(content)
                except (json.JSONDecodeError, TypeError):
                    outcome = Repair([f"the answer is not JSON: {scrub(str(content))[:200]!r}"])
                else:
                    # A change carried only inside pasted text is refused whatever shape the
                    # model gave it: no repair can make it acceptable.
                    if _proposes_change(answer) and (refused := smuggled(text)) is not None:
                        return refused
                    outcome = check_answer(answer, text, inventory, allowed=offered, restore=restore)
            if isinstance(outcome, Valid):
                return safety_net(outcome.command, text, inventory)
            if isinstance(outcome, Clarify):
                return outcome.command
            problems = outcome.problems
            log.info("llm answer invalid (attempt %d): %s", attempt + 1, "; ".join(problems))
            usage.repaired = True
            messages = [
                *messages,
                ("ai", scrub(str(content))[:2000]),
                ("human", PARSE_REPAIR.format(errors="\n".join(f"- {p}" for p in problems))),
            ]
        return ParsedCommand(
            intent=Intent.CLARIFY,
            message="I couldn't turn that into a valid command; rephrase it, or name the action and its values",
            errors=[{"field": "model", "message": p} for p in problems],
            parser="llm",
            confidence=0.0,
        )

    def _clarify(self, message: str) -> ParsedCommand:
        return ParsedCommand(intent=Intent.CLARIFY, message=message, parser="llm", confidence=0.0)

    def _model(self) -> Any:
        if self._chat_model is None:
            from langchain_openai import ChatOpenAI  # heavy: ~1.2 s, so only when a model is used

            self._chat_model = ChatOpenAI(
                model=str(self.model_name),
                base_url=self.base_url,
                api_key=SecretStr(self._api_key()),
                temperature=0,
                max_completion_tokens=self.max_output_tokens,
                timeout=self.timeout,
                max_retries=0,
                http_client=self._http_client,
            )
        return self._chat_model

    def _api_key(self) -> str:
        try:
            return resolve_secret(SecretRef("llm", "API_KEY")).reveal()
        except ConfigError:
            if self.settings.llm_api_key is not None:
                return self.settings.llm_api_key.get_secret_value()
            if self.base_url:
                return _NO_KEY  # a local or keyless endpoint
            raise

    def _call(self, messages: list[tuple[str, str]], schema: dict[str, Any], usage: ParseUsage) -> str:
        """One model call (with retries); returns the answer's text and counts its tokens."""
        if usage.calls >= self.max_calls:
            raise _Budget
        estimate = int(sum(len(m[1]) for m in messages) / CHARS_PER_TOKEN) + self.max_output_tokens
        if usage.total_tokens + estimate > self.max_tokens:
            raise _Budget
        import openai

        runnable = self._model().with_structured_output(schema, method="json_schema", include_raw=True)
        try:
            result = self._with_retries(lambda: runnable.invoke(messages))
        except openai.LengthFinishReasonError as exc:
            # A model that rambles past the limit (a small one can loop under constrained
            # decoding) gave an invalid answer; it is not an outage and must not crash the parse.
            usage.calls += 1
            spent = exc.completion.usage
            usage.prompt_tokens.append(spent.prompt_tokens if spent is not None else 0)
            usage.completion_tokens.append(spent.completion_tokens if spent is not None else 0)
            choices = exc.completion.choices
            raise _CutOff(str(choices[0].message.content or "") if choices else "") from None
        usage.calls += 1
        raw = result["raw"] if isinstance(result, dict) else result
        meta = getattr(raw, "usage_metadata", None) or {}
        usage.prompt_tokens.append(int(meta.get("input_tokens", 0)))
        usage.completion_tokens.append(int(meta.get("output_tokens", 0)))
        content = getattr(raw, "content", raw)
        if isinstance(content, list):  # content blocks
            content = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
        return str(content)

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        import openai

        transient = (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError,
                     openai.InternalServerError)
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                return call()
            except transient as exc:
                last = exc
                if attempt == self.retries:
                    break
                self._sleep(self._delay(exc, attempt))
            except openai.APIStatusError as exc:
                if exc.status_code >= 500:
                    last = exc
                    if attempt == self.retries:
                        break
                    self._sleep(self._delay(exc, attempt))
                    continue
                raise self._config_error(exc) from None
        where = self.base_url or "api.openai.com"
        raise LLMUnavailableError(
            f"the model at {where} did not answer after {self.retries + 1} attempts ({_describe(last)})",
            hint="check that the endpoint is up (SOPHIA_LLM_BASE_URL), or use --parser offline",
            details={"attempts": self.retries + 1, "model": self.model_name},
        ) from None

    def _delay(self, exc: Exception, attempt: int) -> float:
        response = getattr(exc, "response", None)
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after:
            try:
                return min(float(retry_after), 60.0)
            except ValueError:
                pass
        return float(self.backoff * (2**attempt))

    def _config_error(self, exc: Any) -> ConfigError:
        status = exc.status_code
        if status in (401, 403):
            return ConfigError(
                f"the model endpoint refused the key (HTTP {status})",
                hint="check SOPHIA_LLM_API_KEY (or SOPHIA_LLM_API_KEY_FILE)",
            )
        if status == 404:
            return ConfigError(
                f"the endpoint does not know the model {self.model_name!r} (HTTP 404)",
                hint="check SOPHIA_LLM_MODEL and SOPHIA_LLM_BASE_URL",
            )
        return ConfigError(
            f"the model endpoint rejected the request (HTTP {status}): {_describe(exc)}",
            hint="the endpoint may not support JSON-schema structured output; try another model",
        )


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "no answer"
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__
    text = scrub(str(exc))[:200]
    return f"{kind}{f' HTTP {status}' if status else ''}: {text}"

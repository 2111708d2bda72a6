"""Secret params: given by reference, never typed into a command.

A catalog action marks params secret (``ActionSpec.secret_params``, e.g. ``vercel.env.set``'s
``value``). Such a param is accepted only as a reference, ``secret://NAME``, which the adapter
resolves at the moment of the platform call through :mod:`adapters.credentials`
(:func:`~adapters.credentials.param_secret_ref`: ``SOPHIA_<PLATFORM>_ENV_<NAME>``, its
``_FILE``, or the secret manager). Graph state, the run row, the ledger, the approval request
and every surface only ever see the reference — a name, not a value.

**A literal value in a command is refused, not stashed.** The alternative — moving it out of
state into a short-lived store until apply — was rejected because:

* the value has already crossed channels sophia-iac doesn't control: a Slack message stays in
  Slack's history, a CLI argument in shell history and the process table, and with the LLM
  parser it went to the model. Treat it as exposed; quietly accepting it teaches the habit;
* a run can wait hours for approval and be resumed by another process or after a restart (its
  checkpoint is durable by design). A value kept only in memory would break that silently, and
  one kept anywhere durable is a stored secret by another name;
* with a reference the approver sees *which* secret will be set, and undo can restore the
  previous value (the Vercel adapter records the reference on the variable); a literal that
  is overwritten can't be restored.

:func:`withhold_secrets` runs right after parsing, before anything is written (run row,
checkpoint, ledger, log): every literal found in a secret param is replaced by
:data:`PLACEHOLDER` in the parsed command and in the command text, registered with the
scrubber when it is long enough to be told apart (so a log line or error that still carries
it is redacted), and the run fails with
:class:`SecretInCommandError`, whose hint says how to pass it by reference. When the literal
can't be found verbatim in the text (a parser normalised it), or the command is about a
secret-param action but the parser could not say which words are the value (a clarify), the
whole text is withheld instead. A command the parser did not read as an action (``explain
set API_KEY to … on web``, ``what if I set …``) is also read by the offline parser, which needs
no model, so a value in a question is caught too (best effort: phrasing it can't read as a
command slips through).

Known limit: the parser sees the raw text (it must, to find the value), so with the LLM
parser the literal reaches the model before it can be refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from adapters.catalog import ActionCall
from orchestrator.errors import ValidationFailedError
from orchestrator.state import Intent, ParsedCommand

__all__ = [
    "PLACEHOLDER",
    "REF_PREFIX",
    "SCRUB_MIN_LENGTH",
    "SecretInCommandError",
    "Withheld",
    "is_reference",
    "reference_name",
    "secret_actions",
    "withhold_secrets",
]

REF_PREFIX = "secret://"
#: What a withheld value (or command text) reads as wherever it would have appeared.
PLACEHOLDER = "[secret withheld]"
#: Shorter literals are masked and refused but not registered with the process-wide scrubber:
#: it redacts every later occurrence, in every log and error, for the life of the process, and
#: ``8080`` or ``true`` would mangle unrelated text (the refused value is not kept anyway).
SCRUB_MIN_LENGTH = 8
_REF = re.compile(r"^secret://([A-Z][A-Z0-9_]{0,100})$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,100}$")


class SecretInCommandError(ValidationFailedError):
    """A secret param was given as a literal value; it must be a ``secret://NAME`` reference."""

    code = "secret_in_command"


def reference_name(value: object) -> str | None:
    """``NAME`` for a well-formed ``secret://NAME`` (A-Z, 0-9, _), else None."""
    if not isinstance(value, str):
        return None
    match = _REF.match(value.strip())
    return match.group(1) if match else None


def is_reference(value: object) -> bool:
    """Whether ``value`` is a well-formed ``secret://NAME`` reference (not a literal)."""
    return reference_name(value) is not None


@lru_cache(maxsize=1)
def secret_actions() -> dict[str, frozenset[str]]:
    """Action id → its secret params, for every catalog action that has any."""
    from adapters.registry import all_specs

    return {spec.id: spec.secret_params for spec in all_specs() if spec.secret_params}


@dataclass(frozen=True)
class Withheld:
    """A command with its secret literals taken out (what may be stored and shown)."""

    text: str
    parsed: ParsedCommand
    error: SecretInCommandError | None = None


def _mask(value: Any, literals: list[str]) -> Any:
    if isinstance(value, str):
        for literal in literals:
            value = value.replace(literal, PLACEHOLDER)
        return value
    if isinstance(value, dict):
        return {k: _mask(v, literals) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, literals) for v in value]
    return value


def _mentioned(parsed: ParsedCommand) -> list[str]:
    """Secret-param actions the command is about, by any field the parser filled."""
    ids = secret_actions()
    words = " ".join([parsed.message or "", *parsed.candidates])
    named = {call.action for call in parsed.actions} | {i for i in ids if i in words}
    return sorted(named & ids.keys())


def _error(call: ActionCall, param: str) -> SecretInCommandError:
    from adapters.credentials import param_secret_ref

    key = call.params.get("key")
    name = key.upper() if isinstance(key, str) and _NAME.match(key) else "NAME"
    ref = param_secret_ref(call.platform, name)
    return SecretInCommandError(
        f"{call.action}: `{param}` is a secret and can't be typed into a command",
        hint=(f"store it where sophia-iac runs as {ref.env_var} (or {ref.file_var} naming a file that holds it, "
              f"or in the secret manager as {ref.key}) and say secret://{name} instead of the value. "
              "The value you typed was not stored; if it was typed where others can read it, rotate it"),
        details={"action": call.action, "param": param, "reference": f"{REF_PREFIX}{name}",
                 "variable": ref.env_var},
    )


def _literals(calls: list[ActionCall]) -> tuple[list[ActionCall], list[str], tuple[ActionCall, str] | None]:
    """The calls with secret literals masked, the literals, and the first (call, param) holding one."""
    secret = secret_actions()
    literals: list[str] = []
    first: tuple[ActionCall, str] | None = None
    out: list[ActionCall] = []
    for call in calls:
        params = dict(call.params)
        for name in sorted(secret.get(call.action, frozenset()) & params.keys()):
            value = params[name]
            if value is None or is_reference(value):
                continue
            literal = value if isinstance(value, str) else str(value)
            if literal:
                literals.append(literal)
            first = first or (call, name)
            params[name] = PLACEHOLDER
        out.append(call.model_copy(update={"params": params}) if params != call.params else call)
    return out, literals, first


_LEAD = re.compile(r"\b(?:explain|if|why)\b[\s:,]*", re.IGNORECASE)


def _probe(text: str) -> tuple[list[str], tuple[ActionCall, str] | None]:
    """Secret literals in a command the parser did not read as an action.

    ``explain set API_KEY to … on web`` or ``what if I set …`` parse as a question or a clarify,
    but still carry the value. The offline parser (deterministic, no model) reads the text and
    what follows ``explain`` / ``if`` / ``why`` as commands; a secret literal found there counts.
    """
    from orchestrator.parsing.offline import OfflineParser

    parser = OfflineParser()
    for candidate in [text, *(text[m.end():] for m in list(_LEAD.finditer(text))[:3])]:
        _, literals, first = _literals(parser.parse(candidate, {}).actions)
        if first is not None:
            return literals, first
    return [], None


def withhold_secrets(text: str, parsed: ParsedCommand) -> Withheld:
    """Take secret literals out of a parsed command and its text; refuse the command if any.

    References (``secret://NAME``) pass unchanged. See the module docstring for what happens
    to a literal, and when the whole text is withheld.
    """
    from adapters.credentials import SCRUBBER

    actions, literals, first = _literals(parsed.actions)
    if first is None and parsed.intent not in (Intent.ACTION, Intent.UNDO):
        literals, first = _probe(text)
    mentioned = _mentioned(parsed) or ([first[0].action] if first else [])
    if first is None:
        incomplete = parsed.intent is not Intent.ACTION or not parsed.actions
        if mentioned and incomplete:
            return Withheld(f"[command withheld: it may hold a secret value for {', '.join(mentioned)}]", parsed)
        return Withheld(text, parsed)
    literals = sorted(set(literals), key=len, reverse=True)
    for literal in literals:
        if len(literal) >= SCRUB_MIN_LENGTH:
            SCRUBBER.register(literal)
    if all(literal in text for literal in literals):
        masked_text = _mask(text, literals)
    else:
        masked_text = f"[command withheld: it held a secret value for {', '.join(mentioned)}]"
    data = _mask(parsed.model_dump(mode="json", exclude={"actions"}), literals)
    data["actions"] = [a.model_dump(mode="json") for a in actions]
    return Withheld(masked_text, ParsedCommand.model_validate(data), _error(*first))

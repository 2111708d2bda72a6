"""Turn a model's answer (untrusted JSON) into a ParsedCommand validated against the catalog.

:func:`check_answer` never trusts the model: the action must exist, its params must pass the
action's params model, its target must be named (and, with an inventory, resolve to exactly
one known resource the user's words point at), ids must have their shape and appear in the
text. The outcome is one of

* ``Valid(command)`` — safe to hand to the planner;
* ``Repair(problems)`` — the answer is malformed (unknown action, wrong shape, a value the
  user never wrote): worth one more try with these problems spelled out;
* ``Clarify(command)`` — the answer is well-formed but the *request* lacks something (a
  required param, an unambiguous target, a valid value): ask the user, don't retry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from adapters.catalog import ActionCall, ActionSpec, Risk, format_validation_error
from adapters.credentials import scrub
from adapters.registry import catalog_platforms, spec_for
from adapters.specs._fields import normalize_time
from orchestrator.errors import NotFoundError
from orchestrator.parsing.extract import change_ids, run_ids
from orchestrator.parsing.llm_context import mentioned_platforms, words
from orchestrator.parsing.llm_grounding import grounded_param, grounded_time
from orchestrator.state import MUTATING_INTENTS, Intent, ParsedCommand

__all__ = ["Clarify", "Outcome", "Repair", "Valid", "check_answer", "resolve_target", "safety_net", "smuggled"]

MAX_STEPS = 10
MAX_TEXT_FIELD = 500
_EDGE = "\"'`()[]{}<>.,;:!?#@"
CREATE_VERBS = frozenset({"create", "launch", "add"})
ENVIRONMENTS = {"prod": "prod", "production": "prod", "staging": "staging", "stage": "staging",
                "dev": "dev", "development": "dev"}
#: Words too generic to tell inventory names apart ("the dbt warehouse" → dbt).
_GENERIC = frozenset({"wh", "warehouse", "db", "database", "index", "key", "project", "channel", "team",
                      "capture", "sequence", "collection", "config", "instance", "workspace"})


@dataclass(frozen=True)
class Valid:
    """The answer is valid: ``command`` may reach the planner."""

    command: ParsedCommand


@dataclass(frozen=True)
class Repair:
    """The answer is malformed; ``problems`` say how (one line each, shown to the model)."""

    problems: list[str]


@dataclass(frozen=True)
class Clarify:
    """The request itself is incomplete or ambiguous: ask (``command`` is a ``clarify``)."""

    command: ParsedCommand


Outcome = Valid | Repair | Clarify


@dataclass
class _Context:
    text: str
    inventory: Mapping[str, Sequence[str]]
    allowed: frozenset[str]
    restore: Mapping[str, str] = field(default_factory=dict)


def _clarify(message: str, *, candidates: Sequence[str] = (), errors: Sequence[dict[str, str]] = ()) -> Clarify:
    return Clarify(ParsedCommand(intent=Intent.CLARIFY, message=message, candidates=list(candidates),
                                 errors=list(errors), parser="llm", confidence=0.5))


def _restore(value: Any, restore: Mapping[str, str]) -> Any:
    """Put masked values (secrets, long keys) back in place of their placeholders."""
    if not restore:
        return value
    if isinstance(value, str):
        for placeholder, original in restore.items():
            value = value.replace(placeholder, original)
        return value
    if isinstance(value, list):
        return [_restore(v, restore) for v in value]
    if isinstance(value, dict):
        return {k: _restore(v, restore) for k, v in value.items()}
    return value


def _short(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return scrub(value.strip())[:MAX_TEXT_FIELD]


def _name_words(name: str) -> set[str]:
    return set(words(name.replace("_", " ").replace("-", " ").replace("/", " "))) - _GENERIC


def _support(name: str, text_words: set[str], low: str) -> int:
    """How strongly the text points at ``name``: its distinctive words found (a full mention wins)."""
    if name.lower() in low:
        return 100
    return len(_name_words(name) & text_words)


def resolve_target(
    target: str, key: str, text: str, inventory: Mapping[str, Sequence[str]], *, creating: bool = False
) -> tuple[str | None, list[str]]:
    """Resolve a target the model named against the inventory of resource type ``key``.

    Returns ``(name, [])`` when resolved (the inventory's spelling, or the name as given when
    the inventory doesn't know that type or the action creates it) and ``(None, candidates)``
    when the user's words fit several names, or the model picked a name the user never
    pointed at.
    """
    names = list(inventory.get(key, ()))
    if not names:
        return target, []
    exact = [n for n in names if n.lower() == target.lower()]
    if creating:
        return (exact[0] if exact else target), []
    low = text.lower()
    text_words = set(words(low.replace("_", " ").replace("-", " ")))
    scores = {n: _support(n, text_words, low) for n in names}
    best = max(scores.values())
    top = [n for n, s in scores.items() if s == best and s > 0]
    if exact:
        chosen = exact[0]
        if scores[chosen] > 0 and top == [chosen]:
            return chosen, []
        return None, top or names
    if len(top) == 1:
        return top[0], []
    if top:
        return None, top
    # A name the inventory doesn't know and the text gives: take it as said.
    if target.lower() in low:
        return target, []
    return None, names


def _check_step(raw: Any, ctx: _Context, index: int) -> ActionCall | Repair | Clarify:
    where = f"actions[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("action"), str):
        return Repair([f"{where}: must be an object with \"action\", \"target\" and \"params\""])
    action_id = raw["action"].strip()
    try:
        spec = spec_for(action_id)
    except NotFoundError:
        return Repair([f"{where}: unknown action {action_id!r}; use one of: {', '.join(sorted(ctx.allowed))}"])
    if ctx.allowed and action_id not in ctx.allowed:
        return Repair([f"{where}: {action_id} was not offered; use one of: {', '.join(sorted(ctx.allowed))}"])
    if spec.risk is Risk.DESTRUCTIVE and not _destruction_said(spec, ctx.text):
        return Repair([f"{where}: the request does not ask to {spec.verb} anything; pick the action it asks for"])
    if spec.risk is Risk.CHANGE and not _change_asked(spec, raw, ctx):
        problem = (f"{where}: nothing in the request asks to {spec.verb} a {spec.platform} {spec.resource}; "
                   "pick the action it asks for, or refuse")
        return Repair([problem])
    params = _restore(raw.get("params") or {}, ctx.restore)
    if not isinstance(params, dict):
        return Repair([f"{where}.params: must be an object"])
    target = _restore(raw.get("target"), ctx.restore)
    if not spec.target_required:
        target = None
    elif not isinstance(target, str) or not target.strip():
        return _clarify(f"which {spec.target} should {spec.id} act on?", candidates=[spec.id])
    else:
        target = _strip_noun(target.strip().lstrip("#").strip(), spec)
        if _names_no_one(target, spec):
            return _clarify(f"which {spec.target} should {spec.id} act on?", candidates=[spec.id])
    try:
        clean = spec.validate_params(params)
    except ValidationError as err:
        return _param_problem(spec, err, ctx, where)
    ungrounded = [n for n in params if n in clean and not grounded_param(spec, n, clean, ctx.text)]
    if ungrounded:
        needed = [n for n in ungrounded if spec.params.model_fields[n].is_required()]
        if needed:
            values = ", ".join(f"{n}={clean[n]!r}" for n in needed)
            problem = (f"{where}.params: {values} is not in the request; if the user did not give "
                       f"{', '.join(needed)}, answer clarify")
            return Repair([problem])
        try:
            clean = spec.validate_params({k: v for k, v in params.items() if k not in ungrounded})
        except ValidationError:  # what is left is not enough ("at least one of …"): a wrong action?
            return Repair([f"{where}: the request gives none of the params {spec.id} needs"])
    if target is not None:
        key = f"{spec.platform}.{spec.resource}"
        if spec.verb not in CREATE_VERBS and (elsewhere := _kind_of(target, key, ctx.inventory)):
            fitting = sorted(a for a in ctx.allowed if _key_of(a) == elsewhere)
            hint = f"use {' or '.join(fitting)}" if fitting else "pick the action the request asks for"
            problem = (f"{where}.target: {target!r} is a {elsewhere.replace('.', ' ')}, "
                       f"not a {spec.platform} {spec.resource}; {hint}")
            return Repair([problem])
        if not ctx.inventory.get(key) and not _target_in_text(target, ctx.text):
            target = _snap_target(target, ctx.text) or target
        if not ctx.inventory.get(key) and not _target_in_text(target, ctx.text):
            return Repair([f"{where}.target: {target!r} is not in the request; use the name as the user wrote it"])
        resolved, candidates = resolve_target(target, key, ctx.text, ctx.inventory,
                                              creating=spec.verb in CREATE_VERBS)
        if resolved is None:
            return _clarify(f"which {spec.target} do you mean: {', '.join(candidates)}?", candidates=candidates)
        target = resolved
    return ActionCall(action=spec.id, target=target, params=clean)


#: Words that point at a resource without naming it ("drop the database", "archive it").
_POINTERS = frozenset({"it", "that", "this", "them", "those", "these", "one", "all", "everything", "every",
                       "the", "my", "our", "thing", "stuff", "resource", "name"})


def _names_no_one(target: str, spec: ActionSpec) -> bool:
    """``target`` is a pointer or the resource's generic noun, not a name the user gave."""
    said = set(words(target.replace("_", " ").replace("-", " ")))
    nouns = _GENERIC | _POINTERS | set(words(f"{spec.resource.replace('.', ' ')} {spec.target}"))
    return not said or said <= nouns | {w.rstrip("s") for w in nouns}


def _strip_noun(target: str, spec: ActionSpec) -> str:
    """Drop the resource's own noun said before its name (``key scraper`` → ``scraper``)."""
    nouns = set(words(f"{spec.resource.replace('.', ' ').replace('_', ' ')} {spec.target}")) - {"name"}
    head, _, rest = target.partition(" ")
    return rest.strip() if rest.strip() and head.lower() in nouns else target


def _key_of(action_id: str) -> str:
    spec = spec_for(action_id)
    return f"{spec.platform}.{spec.resource}"


def _kind_of(target: str, key: str, inventory: Mapping[str, Sequence[str]]) -> str | None:
    """The resource type the inventory says ``target`` is, when that is not ``key``.

    The inventory is the truth about what a name is: a known warehouse is not an Estuary
    capture, however the model reads the verb. None when the name is unknown, or known
    under ``key`` itself.
    """
    low = target.lower()
    if any(n.lower() == low for n in inventory.get(key, ())):
        return None
    kinds = sorted(k for k, names in inventory.items() if k != key and any(n.lower() == low for n in names))
    return kinds[0] if len(kinds) == 1 else None


def _target_in_text(target: str, text: str) -> bool:
    """The target is in the request as written (case aside)."""
    return bool(target) and target.lower() in text.lower()


_DESTROY = re.compile(
    r"\b(?:delet\w*|drop\w*|remov\w*|destroy\w*|terminat\w*|kill\w*|nuke\w*|archiv\w*|wipe\w*|purg\w*|"
    r"eras\w*|get rid|tear down|shut down|decommission\w*|trash\w*|scrap\w*)"
)


def _destruction_said(spec: ActionSpec, text: str) -> bool:
    """A destructive action needs a destroying verb in the request (never inferred)."""
    from orchestrator.parsing.extract_lexicon import verb_hits

    low = text.lower()
    return bool(_DESTROY.search(low)) or verb_hits(spec.verb, low)[0] >= 1.0


def _change_asked(spec: ActionSpec, raw: Mapping[str, Any], ctx: _Context) -> bool:
    """Something in the request points at this change: its verb, platform, resource, values or target.

    A weaker cousin of :func:`_destruction_said` for every other change: "order pizza for the
    team" names no action, and a model that maps it to enabling an Estuary materialization
    named "pizza" is asked again. Any one signal is enough: the verb or a synonym, the
    platform, the resource noun, every required param, or a target that the
    inventory or its shape (``owner/repo``, ``*_WH``, ``dpl_…``) places as that resource.
    """
    from orchestrator.parsing.extract_lexicon import verb_hits
    from orchestrator.parsing.offline import shape_resources

    low = ctx.text.lower()
    if verb_hits(spec.verb, low)[0] > 0 or spec.platform in mentioned_platforms(ctx.text):
        return True
    said = set(words(low.replace("_", " ").replace("-", " ")))
    if set(words(spec.resource.replace(".", " ").replace("_", " "))) & said:
        return True
    params = raw.get("params") if isinstance(raw.get("params"), dict) else {}
    required = [n for n, f in spec.params.model_fields.items() if f.is_required()]
    if required and all(params.get(n) not in (None, "", []) for n in required):
        return True
    key = f"{spec.platform}.{spec.resource}"
    target = raw.get("target")
    if isinstance(target, str) and any(n.lower() == target.strip().lower() for n in ctx.inventory.get(key, ())):
        return True
    return key in shape_resources(ctx.text, {k: list(v) for k, v in ctx.inventory.items()})


def _snap_target(target: str, text: str) -> str | None:
    """The longest word of the request inside a decorated target (``key-support-bot`` → ``support-bot``)."""
    low = target.lower()
    words_said = {w.strip(_EDGE) for w in text.split()}
    inside = [w for w in words_said if len(w) >= 3 and w.lower() in low and w.lower() not in _GENERIC
              and w.lower() not in catalog_platforms()]
    if not inside:
        return None
    best = max(inside, key=len)
    return best if len(best) * 2 >= len(target) else None


def _param_problem(spec: ActionSpec, err: ValidationError, ctx: _Context, where: str) -> Repair | Clarify:
    """Missing params and invalid values the user wrote → clarify; anything else → repair."""
    errors = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in err.errors()]
    missing = [str(e["loc"][0]) for e in err.errors() if e["type"] == "missing" and e["loc"]]
    if missing:
        return _clarify(f"{spec.id} needs {', '.join(missing)}: say the value", candidates=[spec.id],
                        errors=errors)
    low = ctx.text.lower()
    user_given = all(
        e["type"] != "extra_forbidden" and str(e.get("input", "")).lower() in low and str(e.get("input", ""))
        for e in err.errors()
    )
    if user_given:
        return _clarify(scrub(format_validation_error(spec.id, err)), candidates=[spec.id], errors=errors)
    return Repair([f"{where}.params: {scrub(format_validation_error(spec.id, err))}"])


def _ids(extract: Callable[[str], list[str]], text: str, given: Any) -> str | None:
    """An id the text contains: the model's if it is one of them, else the only one there is."""
    found = extract(text.lower())
    if isinstance(given, str) and given.strip().lower() in found:
        return given.strip().lower()
    return found[0] if len(set(found)) == 1 else None


def _time(value: Any, text: str) -> str | None:
    """The canonical time, if the request says it."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        canonical = normalize_time(value)
    except ValueError:
        return None
    return canonical if grounded_time(canonical, text) else None


def _builtin(intent: Intent, answer: Mapping[str, Any], ctx: _Context) -> Valid | Clarify:
    """A built-in intent's fields, each kept only if valid and grounded in the request."""
    low = ctx.text.lower()
    named = mentioned_platforms(ctx.text)
    platform = answer.get("platform") if answer.get("platform") in catalog_platforms() else None
    target = _short(_restore(answer.get("target"), ctx.restore))
    if target is not None and (change_ids(target) or run_ids(target)):
        target = None  # an id is not a resource
    if target is not None and target.lower() in catalog_platforms():
        platform, target = platform or target.lower(), None  # "status of snowflake": a platform, not a resource
    if target is not None:
        text_words = set(words(low.replace("_", " ").replace("-", " ")))
        for key, names in ctx.inventory.items():
            match = next((n for n in names if n.lower() == target.lower()), None)
            if match and _support(match, text_words, low) > 0:
                target, platform = match, platform or key.split(".", 1)[0]
                break
        else:
            if target.lower() not in low:
                target = None  # a resource the user never named
    if platform is not None and platform not in named and target is None:
        platform = None  # a platform the user never named, for no resource
    fields: dict[str, Any] = {"intent": intent, "parser": "llm", "confidence": 0.8}
    if intent in (Intent.STATUS, Intent.HISTORY, Intent.UNDO):
        fields |= {"platform": platform, "target": target}
    if intent in (Intent.HISTORY, Intent.UNDO):
        fields["since"] = _time(answer.get("since"), ctx.text)
    if intent in (Intent.UNDO, Intent.EXPLAIN):
        fields["change_id"] = _ids(change_ids, ctx.text, answer.get("change_id"))
    if intent in (Intent.APPROVE, Intent.REJECT):
        run_id = _ids(run_ids, ctx.text, answer.get("run_id"))
        if run_id is None:
            return _clarify(f"which run should I {intent.value}? give its run id (run_…)")
        fields["run_id"] = run_id
    if intent in (Intent.FREEZE, Intent.UNFREEZE):
        environment = _environment(answer.get("environment"), low)
        if environment is None:
            return _clarify(f"which environment should I {intent.value}: prod, staging or dev?")
        fields["environment"] = environment
        if intent is Intent.FREEZE:
            fields |= {"until": _time(answer.get("until"), ctx.text), "reason": _short(answer.get("reason"))}
    if intent is Intent.UNDO and not (fields["change_id"] or fields["platform"] or fields["target"]):
        return _clarify("what should I undo? give a change id, or a platform (and resource)")
    if intent is Intent.HELP:
        topic = str(answer.get("topic") or "").strip().lower()
        topics = {*named, *(i.value for i in Intent if re.search(rf"\b{i.value}\b", low))}
        fields["topic"] = topic if topic in topics else None
    if intent in (Intent.CLARIFY, Intent.REFUSE):
        fields["message"] = _short(answer.get("message"))
    return Valid(ParsedCommand(**fields))


def _environment(value: Any, low: str) -> str | None:
    """The canonical environment, if the request names it (``production`` → ``prod``)."""
    if not isinstance(value, str):
        return None
    env = ENVIRONMENTS.get(value.strip().lower())
    said = {ENVIRONMENTS[w] for w in re.findall(r"[a-z]+", low) if w in ENVIRONMENTS}
    return env if env in said else None


def check_answer(
    answer: Any,
    text: str,
    inventory: Mapping[str, Sequence[str]] | None,
    *,
    allowed: Sequence[str] = (),
    restore: Mapping[str, str] | None = None,
) -> Outcome:
    """Validate one model answer (already decoded from JSON) for the request ``text``.

    Args:
        answer: what the model returned (anything: it is untrusted).
        text: the user's request, as typed (ids and values are checked against it).
        inventory: the resource names the resolver knows.
        allowed: the action ids the prompt offered (others are a repair).
        restore: placeholder → original value, for values masked before the prompt.
    """
    ctx = _Context(text=text, inventory=inventory or {}, allowed=frozenset(allowed), restore=restore or {})
    if not isinstance(answer, dict):
        return Repair(["the answer must be one JSON object with an \"intent\""])
    try:
        intent = Intent(str(answer.get("intent")))
    except ValueError:
        return Repair([f"intent {answer.get('intent')!r} is not one of: {', '.join(i.value for i in Intent)}"])
    if intent is not Intent.ACTION:
        return _builtin(intent, answer, ctx)
    steps = answer.get("actions")
    if not isinstance(steps, list) or not steps:
        return Repair(["intent \"action\" needs a non-empty \"actions\" list"])
    if len(steps) > MAX_STEPS:
        return _clarify(f"that is more than {MAX_STEPS} steps: split it into smaller commands")
    calls: list[ActionCall] = []
    problems: list[str] = []
    for index, raw in enumerate(steps):
        checked = _check_step(raw, ctx, index)
        if isinstance(checked, Clarify):
            return checked
        if isinstance(checked, Repair):
            problems.extend(checked.problems)
        else:
            calls.append(checked)
    if problems:
        return Repair(problems)
    return Valid(ParsedCommand(intent=Intent.ACTION, actions=calls, parser="llm", confidence=0.8))


def smuggled(text: str) -> ParsedCommand | None:
    """A refusal when the request carries a change only inside quoted or pasted text, else None."""
    from orchestrator.parsing import extract as ex
    from orchestrator.parsing.extract_builtins import refusal

    raw = ex.clean(text)
    masked, quoted = ex.mask_quotes(raw)
    refused = refusal(raw, masked, quoted)
    return None if refused is None else refused.model_copy(update={"parser": "llm", "confidence": 0.9})


def safety_net(command: ParsedCommand, text: str, inventory: Mapping[str, Sequence[str]] | None) -> ParsedCommand:
    """Rules no model answer overrides, shared with the offline parser.

    A change is refused when the request only carries it inside quoted or pasted text
    (smuggled instructions), and becomes a ``clarify`` when the request hesitates
    (negated, hypothetical, conditional, alternatives). Answers that change nothing pass.
    """
    if command.intent not in MUTATING_INTENTS:
        return command
    from orchestrator.parsing import extract as ex
    from orchestrator.parsing.extract_safety import hesitation

    refused = smuggled(text)
    if refused is not None:
        return refused
    raw = ex.clean(text)
    masked, _quoted = ex.mask_quotes(raw)
    if command.intent is Intent.ACTION and all(spec_for(a.action).risk is Risk.READ for a in command.actions):
        return command  # hesitation guards changes; "any gong calls since monday?" reads
    doubt = hesitation(masked, {k: list(v) for k, v in (inventory or {}).items()},
                       action=command.intent is Intent.ACTION)
    if doubt is not None:
        message, candidates = doubt
        return _clarify(message, candidates=candidates).command
    return command

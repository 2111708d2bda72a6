"""The offline parser: catalog-driven, deterministic, no model, milliseconds per command.

Pipeline for one command:

1. clean the text (bounded length, no control characters) and mask quoted spans, so nothing
   inside quotes is ever read as an instruction;
2. refuse what is out of scope or smuggles instructions (``extract_builtins.refusal``);
3. answer the built-in intents (help, approve/reject, undo, freeze, explain, history, status);
4. otherwise split the command into clauses ("… then …", "…, and …"), score every catalog
   action against each clause (platform and resource words, verb synonyms, the words of its
   example utterances, which params are present), fill target and params, resolve the target
   against the inventory, and validate the params with the action's model.

Anything ambiguous (several inventory candidates, a missing target or required param, an
invalid value) answers ``clarify`` naming what is missing; it never guesses.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from adapters.catalog import ActionCall, ActionSpec, Risk, format_validation_error
from adapters.registry import all_specs, spec_for
from orchestrator.parsing import extract as ex
from orchestrator.parsing.extract_builtins import builtin, question_status, refusal
from orchestrator.parsing.extract_lexicon import (
    STOPWORDS,
    example_tokens,
    fix_typos,
    join_phrasal,
    platforms_in,
    resources_in,
    strip_filler,
    tokens,
    verb_hits,
)
from orchestrator.parsing.extract_names import resolve
from orchestrator.parsing.extract_params import params_for, target_for
from orchestrator.parsing.extract_safety import hesitation
from orchestrator.state import MUTATING_INTENTS, Intent, ParsedCommand

__all__ = ["OfflineParser", "shape_resources"]

log = logging.getLogger(__name__)

#: A clause needs at least this score to be read as an action.
MIN_SCORE = 4.0
MAX_CLAUSES = 6
MAX_INVENTORY = 2000

_SPLIT_VERBS = (
    r"create|make|new|add|invite|set|scale|resize|suspend|pause|resume|grant|give|revoke|enable|disable|archive|"
    r"unarchive|delete|drop|remove|protect|require|promote|roll|rollback|launch|spin|terminate|kill|rotate|open|put|"
    r"pull|track|untrack|activate|deactivate|start|stop|turn|configure|tune|cap|limit|raise|file|unset|restore|bring|"
    r"then"
)
_SPLIT = re.compile(
    rf"\s*(?:;|\band then\b|,\s*then\b|\bthen\b|,\s*(?:and\s+)?(?=(?:{_SPLIT_VERBS})\b)|\s\band\s+(?=(?:{_SPLIT_VERBS})\b))\s*",
    re.IGNORECASE,
)


#: Params that name another resource, resolved against that resource's inventory.
_PARAM_RESOURCES: dict[str, dict[str, str]] = {"apollo.contact.add_to_sequence": {"sequence": "apollo.sequence"}}
#: Verbs that move something toward / away from a target ("grant … to", "revoke … from").
_TOWARD = frozenset({"grant", "add_member", "invite", "add", "track", "add_to_sequence"})
_AWAY = frozenset({"revoke", "remove_member", "remove", "untrack", "unset"})
_PARAM_RESOURCES["apollo.contact.remove_from_sequence"] = {"sequence": "apollo.sequence"}
_AWAY |= {"remove_from_sequence"}
#: Actions whose target is another kind of resource than the one they act on (a task's target is
#: its project): the inventory of that kind resolves the target.
_TARGET_KINDS = {
    "asana.task.create": "asana.project", "linear.issue.create": "linear.team",
    "hubspot.pipeline.stage.create": "hubspot.pipeline", "portkey.budget.set": "portkey.api_key",
    "snowflake.role.grant": "snowflake.user", "snowflake.role.revoke": "snowflake.user",
    "github.branch_protection.set": "github.repo", "github.webhook.create": "github.repo",
    "github.webhook.delete": "github.repo", "figma.webhook.create": "figma.team",
    **{f"vercel.{a}": "vercel.project" for a in ("env.set", "env.unset", "deployment.promote", "deployment.rollback",
                                                  "domain.add", "domain.remove")},
}
#: Words that point back at something said before; never a name themselves.
_PRONOUNS = frozenset({"it", "its", "them", "they", "him", "her", "this", "that", "these", "those", "us", "me",
                       "one", "same"})
#: Verbs that take something away: never chosen unless said.
_REMOVING = frozenset({"archive", "delete", "drop", "terminate", "disable", "suspend", "deactivate", "revoke",
                       "remove", "remove_member", "untrack", "unset", "destroy"})
_REMOVING |= {"remove_from_sequence"}
#: "to" and an amount or a size: a removing verb said this way lowers something ("drop ETL_WH to small").
_DOWN_TO = re.compile(r"\b(?:down |back )?to\s+(?:[$£€]?\d|(?:x{1,4}-?|extra[ -]?)?(?:small|large)\b|medium\b|"
                      r"x{1,4}l\b|tiny\b|zero\b|nothing\b)", re.IGNORECASE)
#: "make the/it/that … expire / private / smaller": a causative make, about something that exists.
_MAKE_IT = re.compile(r"\bmake\s+(?:the|it(?!\s+an?\b)|this|that|these|those|our|my|its|their)\b"
                      r"(?![^.?!;]*\b(?:called|named)\b)[^.?!;]{0,50}?\b(?:expire|"
                      r"private|public|read-?only|inactive|active|bigger|smaller|larger|cheaper|faster|slower|"
                      r"stop|go away|last|work)\b", re.IGNORECASE)
#: Words that take away without a verb of the catalog: never read as a create or an add.
_NOT_ANYMORE = re.compile(r"\b(?:shouldn'?t|should not|no longer|any ?more|not need|doesn'?t need|don'?t need|"
                          r"get rid of|without)\b", re.IGNORECASE)
#: Resources whose target is always an email address.
_EMAIL_TARGETS = frozenset({"apollo.contact", "usergems.contact", "gong.call.access"})


@dataclass
class _Context:
    """What earlier clauses established, for "… and set its topic" style follow-ups."""

    platform: str | None = None
    target: str | None = None
    resource: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Scored:
    spec: ActionSpec
    score: float
    #: the action's own verb (or a synonym) is in the clause
    verb_said: bool = True
    #: some catalog verb is in the clause
    any_verb: bool = False


@lru_cache(maxsize=1)
def _idf() -> dict[str, float]:
    specs = all_specs()
    df: Counter[str] = Counter()
    for spec in specs:
        df.update(example_tokens(spec))
    return {word: math.log((1 + len(specs)) / (1 + n)) for word, n in df.items()}


def shape_resources(masked: str, inventory: dict[str, list[str]]) -> set[str]:
    """Resources implied by what a name looks like, or by an inventory name in the text."""
    keys: set[str] = set()
    if ex.owner_repos(masked):
        keys.update(("github.repo", "github.team", "github.branch_protection", "github.webhook"))
    if ex.emails(masked):
        keys.update(("usergems.contact", "apollo.contact"))
    if ex.deployment_ids(masked):
        keys.add("vercel.deployment")
    if ex.domains(masked):
        keys.add("vercel.domain")
    if re.search(r"\b[A-Za-z][A-Za-z0-9_]*_WH\b", masked, re.IGNORECASE):
        keys.add("snowflake.warehouse")
    if re.search(r"\b(?:gpu|cpu)_\d+x_", masked):
        keys.add("lambdalabs.instance")
    if re.search(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?<!_WH)\s*=", masked):
        keys.add("vercel.env")
    low = masked.lower()
    for key, names in inventory.items():
        if any(re.search(rf"(?<![\w/-]){re.escape(n.lower())}(?![\w/-])", low) for n in names):
            keys.add(key)
    return keys


def _score(spec: ActionSpec, low: str, words: set[str], plats: list[str], res: Counter[str], shape: set[str],
           found: dict[str, Any], ctx: _Context, verb: tuple[float, int, int], first_verb: int,
           known: set[str]) -> float:
    key = f"{spec.platform}.{spec.resource}"
    score = 0.0
    if plats:
        score += 3.0 if spec.platform in plats else -5.0
    elif ctx.platform == spec.platform:
        score += 1.0
    if key in res:
        score += 2.5 + 1.0 * (res[key] - 1)
    elif key in shape:
        score += 2.0
    elif ctx.resource == key:
        score += 1.0
    elif res:
        score -= 1.5  # the clause names some other resource ("shut down the warehouse" is no instance)
    if spec.verb in _TOWARD and re.search(r"\b(?:from|off|out of)\b", low) and not re.search(r"\b(?:to|into|onto)\b", low):
        score -= 1.5  # "pull the ANALYST role from JSMITH" takes away
    if spec.verb in _AWAY and re.search(r"\b(?:to|into|onto)\b", low) and not re.search(r"\b(?:from|off|out of)\b", low):
        score -= 1.5
    if spec.verb in _REMOVING and _DOWN_TO.search(low):
        score -= 3.0  # "drop ETL_WH to small", "cut the limit down to $20": lower it, not remove it
    if spec.verb in ("create", "launch") and key in known and not re.search(r"\b(?:called|named)\b", low):
        score -= 2.0  # it exists already: this is about that one, not a new one
    if key in _EMAIL_TARGETS and not ex.emails(low):
        score -= 2.5  # a contact is named by its email: without one this is some other action
    strength, where, _ = verb
    score += 1.3 * strength
    if strength and where == first_verb:
        score += 0.5  # the verb said first is usually the one meant ("new key … with a $50 limit")
    idf = _idf()
    overlap = sum(idf.get(w, 0.0) for w in words & example_tokens(spec))
    score += min(overlap, 6.0) * 0.35
    fields = spec.params.model_fields
    for name in found:
        score += 0.9 if fields[name].is_required() else 0.4
    required = [n for n, f in fields.items() if f.is_required()]
    score -= 0.4 * sum(1 for n in required if n not in found)
    complete = all(n in found for n in required) if required else bool(found)
    if first_verb < 0 and complete:
        score += 1.0  # terse "ETL_WH to large": the values say which action
    if not strength and not complete and (first_verb >= 0 or spec.verb not in ("create", "launch", "list", "get")):
        score -= 2.0  # never pick a delete / suspend / revoke … that nobody asked for
    elif not strength and spec.mutating and (first_verb >= 0 or spec.verb in _REMOVING):
        # complete params alone don't make a change nobody said: "make a key with a $50 limit" is no
        # set-limit on an existing key, "relabel the property" no archive
        score -= 1.5 if spec.verb not in _REMOVING else 3.0
    if (first_verb < 0 and spec.verb in ("create", "launch", "list", "get") and not re.search(r"\bto\b", low)
            and (found or spec.risk is Risk.READ or re.search(r"\b(?:called|named)\b|QQ\d", low))):
        score += 1.0  # no verb at all: "pinecone index foo, 768 dims" asks for one
    return score


def _says(low: str, name: str) -> bool:
    """Whether ``low`` names the inventory item ``name`` (never a stop word like "a" or "it")."""
    name = name.lower()
    if name in STOPWORDS or len(name) < 2:
        return False
    return re.search(rf"(?<![\w/-]){re.escape(name)}(?![\w/-])", low) is not None


def _candidates(masked: str, inventory: dict[str, list[str]], ctx: _Context,
                quoted: list[ex.Quoted]) -> list[tuple[_Scored, dict[str, Any]]]:
    low = masked.lower()
    words = {w for w in tokens(low) if w not in STOPWORDS}
    plats = platforms_in(low)
    res = resources_in(low)
    shape = shape_resources(masked, inventory)
    specs = all_specs()
    by_verb: dict[str, tuple[float, int, int]] = {}
    verbs = {spec.id: by_verb.get(spec.verb) or by_verb.setdefault(spec.verb, verb_hits(spec.verb, low))
             for spec in specs}
    spans = {(start, end) for strength, start, end in verbs.values() if strength > 0}
    for spec_id, (strength, start, end) in verbs.items():
        if strength and any(s <= start and end <= e and (e - s) > (end - start) for s, e in spans):
            verbs[spec_id] = (strength * 0.3, start, end)  # "suspend" inside "auto suspend"
    positions = [pos for strength, pos, _ in verbs.values() if strength > 0]
    first_verb = min(positions) if positions else -1
    named = {key for key, names in inventory.items()
             if any(_says(low, n) for n in names)}
    scored = []
    memo: dict[Any, Any] = {}
    for spec in specs:
        found = dict(params_for(spec, masked, quoted, memo))
        total = _score(spec, low, words, plats, res, shape, found, ctx, verbs[spec.id], first_verb, named)
        scored.append((_Scored(spec, total, verbs[spec.id][0] > 0, first_verb >= 0), found))
    scored.sort(key=lambda item: item[0].score, reverse=True)
    return scored


def _continues(previous: ActionCall, previous_found: dict[str, Any], call: ActionCall, found: dict[str, Any]) -> bool:
    """Whether ``call`` only adds params to ``previous`` (same action and target, no value said twice differently)."""
    if call.action != previous.action or call.target != previous.target or not found:
        return False
    return all(previous_found[name] == value for name, value in found.items() if name in previous_found)


def _changes(parsed: ParsedCommand) -> bool:
    """Whether carrying out ``parsed`` would change something."""
    if parsed.intent is Intent.ACTION:
        return any(spec_for(call.action).mutating for call in parsed.actions)
    return parsed.intent in MUTATING_INTENTS


def _clarify(message: str, candidates: list[str] | None = None, confidence: float = 0.7) -> ParsedCommand:
    return ParsedCommand(intent=Intent.CLARIFY, message=message, candidates=candidates or [], confidence=confidence)


#: Gapping: "grant ANALYST to svc_looker and FINANCE_READ to priya_n" says the verb once for two changes.
_GAPPED = re.compile(
    r"^(?P<verb>(?:\w+ )?\w+) (?P<x>[\w./@#-]+) (?P<prep>to|from|on|for|in) (?P<a>[\w./@#-]+)"
    r"(?:,| and|, and) (?P<y>[\w./@#-]+) (?P=prep) (?P<b>[\w./@#-]+)$", re.IGNORECASE)


def _ungap(clause: str) -> list[str]:
    gapped = _GAPPED.match(clause)
    if not gapped or not _has_verb(gapped["verb"]) or _has_verb(gapped["y"]):
        return [clause]
    verb, prep = gapped["verb"], gapped["prep"]
    return [f"{verb} {gapped['x']} {prep} {gapped['a']}", f"{verb} {gapped['y']} {prep} {gapped['b']}"]


def _split(masked: str) -> list[str]:
    """Clauses of a multi-step command; a clause with no verb of its own joins the next one
    ("the marketing warehouse is slow, make it large" stays one clause)."""
    parts = [p.strip(" ,.") for p in _SPLIT.split(masked) if p and p.strip(" ,.")]
    parts = [clause for part in parts for clause in _ungap(part)]
    merged: list[str] = []
    carry = ""
    for part in parts:
        text = f"{carry}, {part}".strip() if carry else part
        if _has_verb(part) or part is parts[-1]:
            merged.append(text)
            carry = ""
        else:
            carry = text
    return merged[:MAX_CLAUSES] or [masked]


@lru_cache(maxsize=1)
def _verbs() -> tuple[str, ...]:
    return tuple(dict.fromkeys(spec.verb for spec in all_specs()))


def _has_verb(clause: str) -> bool:
    low = clause.lower()
    return any(verb_hits(verb, low)[0] > 0 for verb in _verbs())


def _distribute(clause: str, spec: ActionSpec, target: str, params: dict[str, Any]) -> list[str]:
    """More targets for the same verb: "suspend ETL_WH and REPORTING_WH" → [REPORTING_WH]."""
    if f"{spec.platform}.{spec.resource}" in _EMAIL_TARGETS and target in (found := ex.emails(clause)):
        return [e for e in dict.fromkeys(found) if e != target]  # "add a@x.io and b@x.io to …"
    if spec.params.model_fields:
        return []
    match = re.search(rf"{re.escape(target)}\s*(?:,|and|&)\s*(?:the\s+)?([A-Za-z0-9][\w./-]*)", clause, re.IGNORECASE)
    if not match:
        return []
    other = match.group(1)
    shape = re.compile(r"[A-Z0-9_]+_[A-Z0-9]+$") if re.fullmatch(r"[A-Z0-9_]+_[A-Z0-9]+", target) else None
    if shape and shape.fullmatch(other):
        return [other]
    return []


def _clean_inventory(inventory: object) -> dict[str, list[str]]:
    if not isinstance(inventory, dict):
        return {}
    out: dict[str, list[str]] = {}
    for key, names in list(inventory.items())[:200]:
        if isinstance(key, str) and isinstance(names, list | tuple):
            out[key] = [str(n)[:200] for n in list(names)[:MAX_INVENTORY] if isinstance(n, str) and n.strip()]
    return out


class OfflineParser:
    """Rule- and catalog-driven parser; deterministic, fast, and never raises."""

    name = "offline"

    def parse(self, text: str, inventory: dict[str, list[str]] | None = None) -> ParsedCommand:
        """Parse one command into a :class:`ParsedCommand` (``parser="offline"``).

        Never raises: anything unexpected answers ``clarify`` with a low confidence.
        """
        try:
            result = self._parse(text, _clean_inventory(inventory))
        except Exception:  # the contract is "never raise on any input"; the trace goes to the log
            log.exception("offline parser failed on a command")
            result = _clarify("I could not read that command; please rephrase it", confidence=0.0)
        return result.model_copy(update={"parser": "offline"})

    def _parse(self, text: str, inventory: dict[str, list[str]]) -> ParsedCommand:
        raw = ex.clean(text)
        if not raw:
            return _clarify("the command is empty: say what to do", confidence=0.1)
        masked, quoted = ex.mask_quotes(raw)
        refused = refusal(raw, masked, quoted)
        if refused is not None:
            return refused
        masked = join_phrasal(fix_typos(strip_filler(masked)))
        answer = builtin(masked, inventory)
        if answer is None:
            answer = self._actions(masked, quoted, inventory)
            if (_changes(answer) or answer.intent in (Intent.CLARIFY, Intent.REFUSE)) and not hesitation(
                    masked, inventory, action=False):
                # a question never changes anything: "is ETL_WH suspended?" asks for its status
                answer = question_status(masked, inventory) or answer
        if _changes(answer) and (doubt := hesitation(masked, inventory, action=answer.intent is Intent.ACTION)):
            message, candidates = doubt
            return _clarify(message, candidates, confidence=0.6)
        return answer

    def _actions(self, masked: str, quoted: list[ex.Quoted], inventory: dict[str, list[str]]) -> ParsedCommand:
        ctx = _Context()
        calls: list[ActionCall] = []
        last_found: dict[str, Any] = {}
        margins: list[float] = []
        clauses = _split(masked)
        for clause in clauses:
            ranked = _candidates(clause, inventory, ctx, quoted)
            best, found = ranked[0]
            if best.score < MIN_SCORE:
                if len(clauses) > 1 and calls and not re.search(r"[A-Za-z]{3}", clause):
                    continue
                return self._unknown(masked, ranked)
            tie = _platform_tie(ranked, clause, inventory)
            if isinstance(tie, ParsedCommand):
                return tie
            if tie is not None:
                best, found = ranked[tie]
                ranked = [ranked[tie]] + [r for i, r in enumerate(ranked) if i != tie]
            required = [n for n, f in best.spec.params.model_fields.items() if f.is_required()]
            complete = all(n in found for n in required) if required else bool(found)
            if best.spec.verb in ("create", "launch") and _MAKE_IT.search(clause):
                # "make the portkey key prod-gateway expire": a change to one that exists, never a create
                options = [r.spec.id for r, _ in ranked[:3] if r.spec.id != best.spec.id][:3]
                return _clarify(f"not sure which change you mean: {', '.join(options)}? say what to do to "
                                "it", options)
            adding = best.spec.verb in ("create", "launch") or best.spec.verb in _TOWARD
            if (best.spec.mutating and not best.verb_said and not ctx.target and not complete and adding
                    and (best.any_verb or _NOT_ANYMORE.search(clause))):
                # the verb said is no verb of this change ("bump the limit a bit" is no create), or no
                # verb at all and the words take away ("jane shouldn't be on acme/web anymore"): ask
                options = [r.spec.id for r, _ in ranked[:3]]
                return _clarify(f"not sure which change you mean: {', '.join(options)}? say what to do, with "
                                "the value", options)
            runner_up = ranked[1][0].score if len(ranked) > 1 else 0.0
            margins.append(max(0.0, best.score - runner_up))
            result = self._fill(best.spec, clause, quoted, found, inventory, ctx)
            if isinstance(result, ParsedCommand):
                return result
            if calls and _continues(calls[-1], last_found, result, found):
                # "protect main on X, require 2 reviews": one change said in two clauses
                calls[-1] = best.spec.call(result.target, {**calls[-1].params, **found})
                last_found = {**last_found, **found}
                continue
            last_found = dict(found)
            calls.append(result)
            ctx = _Context(best.spec.platform, result.target, f"{best.spec.platform}.{best.spec.resource}",
                           dict(result.params))
            if result.target:
                for other in _distribute(clause, best.spec, result.target, found):
                    calls.append(best.spec.call(other, result.params))
        if not calls:
            return self._unknown(masked, [])
        margin = min(margins) if margins else 0.0
        confidence = round(min(0.97, 0.55 + 0.1 * margin), 3)
        return ParsedCommand(intent=Intent.ACTION, actions=calls, confidence=confidence)

    def _fill(self, spec: ActionSpec, clause: str, quoted: list[ex.Quoted], found: dict[str, Any],
              inventory: dict[str, list[str]], ctx: _Context) -> ActionCall | ParsedCommand:
        key = f"{spec.platform}.{spec.resource}"
        target: str | None = None
        if spec.target_required:
            said = target_for(spec, clause, quoted, found)
            if said is not None and said.lower() in _PRONOUNS:
                said = None  # "revoke it from them": a pointer back, not a name
            pronoun = bool(re.search(r"\b(?:its|it|that|this|the same|there|them|they)\b", clause, re.IGNORECASE))
            related = ctx.resource == key or ctx.platform == spec.platform
            if said is None and ctx.target and related and (pronoun or (
                spec.risk is not Risk.DESTRUCTIVE and (ctx.resource != key or spec.verb != "create"))):
                said = ctx.target  # "create #x and invite @a", "… and set its topic"
            target_key = _TARGET_KINDS.get(spec.id, key)
            names = inventory.get(target_key)
            if names and (spec.verb not in ("create", "launch") or target_key != key):
                resolution = resolve(clause, said, names)
                if resolution.candidates:
                    return _clarify(f"which {spec.target} did you mean?", resolution.candidates)
                if resolution.match and spec.risk is Risk.DESTRUCTIVE and not resolution.exact:
                    # never destroy something the user only described: make them name it
                    return _clarify(f"did you mean {resolution.match}? say its exact name to {spec.verb} it",
                                    [resolution.match])
                if resolution.match:
                    said = resolution.match
                else:
                    # a name the inventory does not know (the issue: "ambiguous or missing → clarify")
                    return _clarify(f"which {spec.target}? I know: {', '.join(names[:10])}", names[:10])
            if said is None:
                listed = inventory.get(key, [])[:10]
                hint = f" (known: {', '.join(listed)})" if listed else ""
                return _clarify(f"{spec.id} needs a {spec.target}: which one?{hint}", listed)
            target = said
        for param, value in list(found.items()):
            if isinstance(value, str) and value.lower() in _PRONOUNS:
                if param not in ctx.params:
                    return _clarify(f"{spec.id}: which {param} is {value!r}? say it by name", [spec.id])
                found = {**found, param: ctx.params[param]}  # "grant X the ANALYST role, then revoke it"
        for param, inv_key in _PARAM_RESOURCES.get(spec.id, {}).items():
            names = inventory.get(inv_key)
            if not names:
                continue
            said_param = found.get(param)
            rest = clause.replace(target, " ") if target else clause
            resolution = resolve(rest, said_param, names)
            if resolution.candidates:
                return _clarify(f"which {param} did you mean?", resolution.candidates)
            if resolution.match:
                found = {**found, param: resolution.match}
            elif said_param is not None:
                return _clarify(f"which {param}? I know: {', '.join(names[:10])}", names[:10])
        bound = _time_bound(clause)
        if bound and not set(found) & _TIMED_PARAMS:
            return _clarify(f"{spec.id} can't be limited to {bound!r}: say it without that to {spec.verb} "
                            f"now, and undo it when you want it back", [spec.id])
        missing = [n for n, f in spec.params.model_fields.items() if f.is_required() and n not in found]
        if missing:
            return _clarify(f"{spec.id} on {target or 'it'} needs {', '.join(missing)}: what should "
                            f"{'they' if len(missing) > 1 else 'it'} be?", [spec.id])
        try:
            return spec.call(target, found)
        except ValidationError as exc:
            errors = [{"field": ".".join(map(str, e["loc"])) or "params", "message": e["msg"]} for e in exc.errors()]
            return ParsedCommand(intent=Intent.CLARIFY, candidates=[spec.id], errors=errors, confidence=0.7,
                                 message=format_validation_error(spec.id, exc, spec.secret_params))

    def _unknown(self, masked: str, ranked: list[tuple[_Scored, dict[str, Any]]]) -> ParsedCommand:
        low = masked.lower()
        signal = bool(platforms_in(low)) or bool(set(resources_in(low)) - {"github.team"}) or bool(
            shape_resources(masked, {})) or any(verb_hits(s.verb, low)[0] >= 2.0 for s in all_specs() if s.mutating)
        if not signal and re.match(r"(?:who|what|when|where|which|how|is|are|was|were|do|does|did)\b", low):
            return ParsedCommand(intent=Intent.REFUSE, confidence=0.6,
                                 message="I answer questions about your platforms and the changes made to them only")
        if not signal:
            # Nothing from the catalog in it: ask (a model, in the hybrid parser, may know better);
            # out-of-scope requests the rules recognise were refused before this point.
            return _clarify("didn't understand that command", _closest(low), confidence=0.1)
        top = [s.spec.id for s, _ in ranked[:3] if s.score > 0] or _closest(low)
        return _clarify(f"not sure which action you mean: {', '.join(top)}?", top, confidence=0.3)


PLATFORM_TIE_MARGIN = 1.0
#: Where a resource kind exists on several platforms and none is named, the one we run ourselves
#: (zero set-up) is meant: "create a vector index …" is a pgvector index.
DEFAULT_PLATFORM = {"index": "pgvector"}


#: Params that take a time or a duration: a "for an hour" in the request goes to one of them.
_TIMED_PARAMS = frozenset({"seconds", "until", "since", "duration", "ttl", "expires", "expires_at"})
_TIME_BOUND = re.compile(
    r"\b(?:for|during)\s+(?:the\s+next\s+)?(?:an?|one|a\s+few|a\s+couple\s+(?:of\s+)?|\d+(?:\.\d+)?)\s*"
    r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?)\b"
    r"|\b(?:until|till|til)\s+(?:\d{1,2}(?::\d{2})?\s*(?:am|pm)?|noon|midnight|tomorrow|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|next\s+week)\b",
    re.IGNORECASE,
)


def _time_bound(clause: str) -> str | None:
    """A time limit the request puts on a change ("for an hour", "until 5pm"), as written."""
    match = _TIME_BOUND.search(clause)
    return match.group(0) if match else None


def _complete(spec: ActionSpec, found: dict[str, Any]) -> bool:
    return all(name in found for name, field in spec.params.model_fields.items() if field.is_required())


def _platform_tie(ranked: list[tuple[_Scored, dict[str, Any]]], clause: str,
                  inventory: dict[str, list[str]]) -> ParsedCommand | int | None:
    """The same verb on the same kind of resource on several platforms, none named: ask, don't guess.

    Returns None (no tie), the index in ``ranked`` of the one option whose inventory knows a
    name said in the clause, or a clarify naming the options.
    """
    best = ranked[0][0]
    low = clause.lower()
    if platforms_in(low):
        return None
    options = [0] + [
        i for i, (other, _) in enumerate(ranked[1:8], start=1)
        if other.spec.verb == best.spec.verb and other.spec.resource == best.spec.resource
        and other.spec.platform != best.spec.platform and best.score - other.score < PLATFORM_TIE_MARGIN
        and (_complete(other.spec, ranked[i][1]) or not _complete(best.spec, ranked[0][1]))
    ]
    if len(options) == 1:
        return None
    default = DEFAULT_PLATFORM.get(best.spec.resource)
    preferred = [i for i in options if ranked[i][0].spec.platform == default]
    holders = [
        i for i in options
        if any(_says(low, name)
               for name in inventory.get(f"{ranked[i][0].spec.platform}.{ranked[i][0].spec.resource}", []))
    ]
    if len(holders) == 1:
        return holders[0]
    if not holders and preferred:
        return preferred[0]
    names = [ranked[i][0].spec.platform for i in options]
    return _clarify(
        f"which {best.spec.resource} do you mean: on {', '.join(names[:-1])} or {names[-1]}? name the platform",
        [ranked[i][0].spec.id for i in options], confidence=0.3,
    )


def _closest(low: str) -> list[str]:
    """The three actions whose examples read most like the text (for "didn't understand")."""
    words = {w for w in tokens(low[:300]) if w not in STOPWORDS}
    idf = _idf()
    scored = [
        (sum(idf.get(w, 0.0) for w in words & example_tokens(spec)),
         max((difflib.SequenceMatcher(None, low[:80], e.lower()[:80]).quick_ratio() for e in spec.examples), default=0.0),
         spec.id)
        for spec in all_specs()
    ]
    return [spec_id for *_, spec_id in sorted(scored, reverse=True)[:3]]

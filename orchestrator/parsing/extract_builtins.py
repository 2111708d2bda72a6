"""Rules for the built-in intents (help, approve/reject, undo, freeze, explain, history, status)
and for what the offline parser refuses (out of scope, instructions smuggled into data).

Each rule reads the *masked* text (quoted spans replaced by placeholders), so words inside
quotes never trigger anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from adapters.registry import all_specs
from orchestrator.parsing import extract as ex
from orchestrator.parsing.extract_lexicon import FOREIGN_PLATFORMS, platforms_in, verb_hits
from orchestrator.state import Intent, ParsedCommand

__all__ = ["BUILTIN_TOPICS", "builtin", "environment", "refusal", "target_platform"]

BUILTIN_TOPICS = ("undo", "freeze", "unfreeze", "approve", "reject", "history", "status", "explain", "policy",
                  "approvals", "inventory")

_INJECTION = re.compile(
    r"\b(?:ignore|disregard|override|bypass)\b[^.!?]{0,40}?\b(?:instructions?|rules|prompts?|guardrails)\b"
    r"|\bjailbreak|\bdeveloper mode\b"
    r"|\b(?:reveal|print|show|repeat)\b[^.!?]{0,20}\bsystem prompt\b",
    re.IGNORECASE,
)
_DATA_TASK = re.compile(
    r"^(?:(?:can you |could you |please |pls )?(?:summari[sz]e|translate|paraphrase|proofread|rewrite)\b"
    r"|(?:here'?s|here is|below is) (?:an? |the )?(?:email|message|ticket|log|doc|text|payload)"
    r"|(?:what|how) (?:does|do) (?:this|these|that) (?:log|message|line|error)"
    r"|what does this\b)",
    re.IGNORECASE,
)
_CHITCHAT = re.compile(
    r"^(?:(?:can you |could you |please )?(?:write|compose|draft|tell) (?:me |us )?(?:a |an )?"
    r"(?:poem|story|joke|song|essay|haiku|limerick)"
    r"|(?:write|compose) (?:me |us )?(?:a|an|some|the)\b"
    r"|tell me a joke|(?:please )?(?:book|buy) (?:a |an |me )?(?:flight|hotel|taxi|table|tickets?)"
    r"|what(?:'s| is) the weather)",
    re.IGNORECASE,
)
_SECRETS = re.compile(
    r"\b(?:send|email|mail|show|give|tell|print|dump|reveal|export|post|share|leak)\b[^.]{0,60}"
    r"\b(?:passwords?|credentials?|secrets?|private keys?|api keys? values?|tokens? values?)\b"
    r"|\b(?:passwords?|credentials?|secrets?)\b[^.]{0,40}\b(?:to my|to me|personal|gmail|outside)\b",
    re.IGNORECASE,
)


#: "<some kind of text>: …" — what follows is data someone pasted, not the user's command.
_PASTED = re.compile(
    r"^(?P<intro>[^:]{0,80}?\b(?:e-?mail|message|ticket|log(?: line)?|doc(?:ument)?|note|text|payload|comment|"
    r"transcript|snippet|thread|dm|chat|post|review|feedback|request|wrote|said|says|writes)\b[^:]{0,40}?)"
    r"(?::|->|—)\s*\S",
    re.IGNORECASE,
)


def _commands_in(text: str) -> bool:
    """Whether text reads like a command: a mutating catalog verb said outright."""
    low = text.lower()
    return any(verb_hits(spec.verb, low)[0] >= 1.5 for spec in all_specs() if spec.mutating)


def refusal(raw: str, masked: str, quoted: list[ex.Quoted]) -> ParsedCommand | None:
    """A ``refuse`` when the command is out of scope or carries smuggled instructions.

    Text inside quotes, or pasted after "message: …"/"email: …", is data. If that data reads
    like a command and the user's own words around it ask for nothing from the catalog, the
    command is refused rather than the data obeyed.
    """
    low = masked.lower()
    if _INJECTION.search(raw):
        return _refuse("instructions inside the message are treated as data, never as commands")
    if quoted and _commands_in(" ; ".join(q.content for q in quoted[:20])) and not _commands_in(masked):
        return _refuse("the quoted text asks for a change; quoted text is data, never a command")
    pasted = _PASTED.match(masked)
    if pasted and not _commands_in(pasted.group("intro")) and _commands_in(masked[pasted.end() - 1:]):
        return _refuse("the pasted text asks for a change; pasted text is data, never a command")
    if _DATA_TASK.search(low) or (quoted and re.search(r"\b(?:summari[sz]e|translate|what do they want)\b", low)):
        return _refuse("processing pasted text is out of scope; quoted or pasted text is never run as a command")
    if _CHITCHAT.search(low):
        return _refuse("that is out of scope: I change and inspect the platforms in the catalog")
    if _SECRETS.search(low):
        return _refuse("secrets are never shown or sent anywhere")
    if not platforms_in(low) and any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", low) for f in FOREIGN_PLATFORMS):
        return _refuse("that platform is not in the catalog; run `sophia-iac actions` to see what is")
    return None


def _refuse(message: str) -> ParsedCommand:
    return ParsedCommand(intent=Intent.REFUSE, message=message, confidence=0.9)


_PROD = re.compile(r"\b(?:prod|production|live)\b", re.IGNORECASE)
_ENV = re.compile(r"\b(staging|stage|dev|development|preview|qa|test|sandbox|uat)\b", re.IGNORECASE)


def environment(low: str) -> str | None:
    """The environment named in the text: ``prod`` for prod/production/live, else the word."""
    if _PROD.search(low):
        return "prod"
    match = _ENV.search(low)
    if not match:
        return None
    word = match.group(1).lower()
    return {"stage": "staging", "development": "dev"}.get(word, word)


def target_platform(masked: str, inventory: dict[str, list[str]]) -> tuple[str | None, str | None]:
    """(platform, target) named in the text: an inventory name, or a name whose shape says its platform."""
    low = masked.lower()
    for key, names in inventory.items():
        for name in sorted(names, key=len, reverse=True):
            if re.search(rf"(?<![\w/-]){re.escape(name.lower())}(?![\w/-])", low):
                return key.split(".")[0], name
    if repo := ex.owner_repos(masked):
        return "github", repo[0]
    if chan := ex.channels(masked):
        return "slack", chan[0]
    wh = re.search(r"\b([A-Za-z][A-Za-z0-9_]*_WH)\b", masked, re.IGNORECASE)
    if wh:
        return "snowflake", wh.group(1)
    named = re.search(r"\b(?:project|index|channel|key|warehouse)\s+([A-Za-z0-9][\w.-]*)", masked)
    platforms = platforms_in(low)
    if named and platforms and named.group(1).lower() not in {"in", "on", "for", "the"}:
        return platforms[0], named.group(1)
    return None, None


def _with_target(low: str, masked: str, inventory: dict[str, list[str]]) -> tuple[str | None, str | None]:
    platforms = platforms_in(low)
    platform, target = target_platform(masked, inventory)
    if platforms:
        return platforms[0], target if platform in (None, platforms[0]) else None
    return platform, target


def _help(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    if re.fullmatch(r"(?:help|\?+|h|commands|usage)[.!?]*|(?:show )?help(?: me)?(?: with| on| for)?\W+.*|"
                    r"what can (?:you|i|sophia) do.*|(?:list|show)(?: me)? (?:the |all )?commands.*|"
                    r"how (?:do|can|should) (?:i|we|you) .*",
                    low):
        if re.match(r"how (?:do|can) (?:i|we) (?:undo|revert|roll ?back) (?:chg_|the last)", low):
            return None
        platforms = platforms_in(low)
        topic = platforms[0] if platforms else next(
            (t for t in BUILTIN_TOPICS if re.search(rf"\b{t}\b", low)), None)
        return ParsedCommand(intent=Intent.HELP, topic=topic, confidence=0.9)
    return None


_APPROVE = re.compile(r"\b(?:approve[ds]?|lgtm|approving|sign off on|ok to go|go ahead with)\b")
_REJECT = re.compile(r"\b(?:reject(?:ed|ing)?|deny|denied|decline[ds]?|veto|do not approve|don't approve)\b")


def _approve(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    reject, approve = _REJECT.search(low), _APPROVE.search(low)
    if not (reject or approve):
        return None
    runs = ex.run_ids(low)
    intent = Intent.REJECT if reject and (not approve or reject.start() < approve.start()) else Intent.APPROVE
    if runs:
        return ParsedCommand(intent=intent, run_id=runs[0], confidence=0.95)
    if re.match(rf"^(?:ok,? |yes,? |no,? |nope,? )?{intent.value}\b", low) or re.search(
        r"\b(?:it|that|this|the) (?:run|request|change|one)?\b", low
    ) and len(low.split()) <= 5:
        return ParsedCommand(intent=Intent.CLARIFY, message=f"which run should I {intent.value}? give its run id",
                             confidence=0.8)
    return None


_UNDO_VERB = re.compile(r"\b(?:undo|revert|roll ?back|reverse|back out)\b")


def _undo(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    verb = _UNDO_VERB.search(low)
    if not verb:
        return None
    changes = ex.change_ids(low)
    if changes:
        return ParsedCommand(intent=Intent.UNDO, change_id=changes[0], confidence=0.95)
    if re.search(r"\b(?:deploy|deployment|dpl_)", low) or ex.deployment_ids(masked):
        return None
    platform, target = _with_target(low, masked, inv)
    since = ex.time_after(low, "since")
    everything = re.search(r"\b(?:everything|all(?: the)?(?: \w+)? changes|all changes|every change)\b", low)
    last = re.search(r"\b(?:last|latest|previous|most recent)\b", low)
    if since and (everything or platform):
        if platform is None:
            return _clarify_undo()
        return ParsedCommand(intent=Intent.UNDO, platform=platform, since=since, confidence=0.9)
    if last and re.search(r"\b(?:change|changes|edit)\b", low):
        if platform is None:
            return _clarify_undo()
        return ParsedCommand(intent=Intent.UNDO, platform=platform, target=target, confidence=0.9)
    if re.fullmatch(r"(?:please )?(?:undo|revert|roll ?back)(?: (?:it|that|this))?[.!?]*", low):
        return _clarify_undo()
    return None


def _clarify_undo() -> ParsedCommand:
    return ParsedCommand(
        intent=Intent.CLARIFY, confidence=0.8,
        message="undo what? give a change id (chg_…), 'the last change to <platform>', "
                "or 'everything on <platform> since <time>'",
    )


def _freeze(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    unfreeze = re.search(r"\b(?:unfreeze|un-freeze|thaw|(?:lift|remove|cancel|stop|drop) (?:the |a )?"
                         r"(?:change )?freeze)\b", low)
    freeze = re.search(r"\b(?:freeze|frozen)\b", low)
    if not (unfreeze or freeze):
        return None
    env = environment(low)
    if env is None:
        return ParsedCommand(intent=Intent.CLARIFY, confidence=0.7,
                             message="which environment? (e.g. prod or staging)")
    if unfreeze:
        return ParsedCommand(intent=Intent.UNFREEZE, environment=env, confidence=0.9)
    until = ex.time_after(low, "until")
    reason = None
    match = re.search(r"(?:\bfor |\bbecause |\bdue to |, |— |- )([^,]{3,120})$", masked)
    if match and not re.match(r"(?:until|till|til)\b", match.group(1).lower()):
        reason = match.group(1).strip(" .")
    return ParsedCommand(intent=Intent.FREEZE, environment=env, until=until, reason=reason, confidence=0.9)


def _explain(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    changes = ex.change_ids(low)
    if re.match(r"(?:explain|why\b|how come\b)", low) or (
        changes and re.search(r"\b(?:why|explain)\b", low)
    ):
        if changes:
            return ParsedCommand(intent=Intent.EXPLAIN, change_id=changes[0], confidence=0.9)
        return ParsedCommand(intent=Intent.EXPLAIN, question=masked, confidence=0.8)
    return None


_HISTORY = re.compile(
    r"^(?:show |list |get )?(?:me )?(?:the )?(?:history|audit log|ledger)\b|\bhistory\b"
    r"|\bwhat(?: has)? changed\b"
    r"|\b(?:show|list)(?: me)? (?:the |all )?(?:recent )?changes\b"
    r"|\b(?:recent|latest) changes\b"
)


def _history(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    if not _HISTORY.search(low):
        return None
    platform, target = _with_target(low, masked, inv)
    since = ex.time_after(low, "since")
    if since is None and (day := re.search(r"\b(today|yesterday)\b", low)):
        since = day.group(1)
    return ParsedCommand(intent=Intent.HISTORY, platform=platform, target=target, since=since, confidence=0.9)


_STATUS = re.compile(
    r"^(?:status|health|state)\b|(?<![\w.])status(?![\w.])|\bhealth(?:y)?\b|\bhow(?:'s| is| are)\b.*\b(?:doing|going)\b"
    r"|^(?:is|are)\b.*\b(?:ok|okay|up|down|healthy|working|running|alive|fine)\b"
    r"|\bhow(?:'s| is)\s+\w+\s*\??$|^how(?:'s| is| are)\b(?!.*\b(?:i|we)\b)"
)


def _status(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    if not _STATUS.search(low):
        return None
    if re.match(r"(?:set|change|update)\b", low):
        return None
    platform, target = _with_target(low, masked, inv)
    return ParsedCommand(intent=Intent.STATUS, platform=platform, target=target, confidence=0.85)


_RULES: tuple[Callable[[str, str, dict[str, list[str]]], ParsedCommand | None], ...] = (
    _help, _approve, _freeze, _undo, _explain, _history, _status,
)


def builtin(masked: str, inventory: dict[str, list[str]]) -> ParsedCommand | None:
    """The built-in intent the (masked) text asks for, or None when it asks for an action."""
    low = masked.lower().strip()
    for rule in _RULES:
        result = rule(low, masked, inventory)
        if result is not None:
            return result
    return None

"""Rules for the built-in intents (help, approve/reject, undo, freeze, explain, history, status)
and for what the offline parser refuses (out of scope, instructions smuggled into data).

Each rule reads the *masked* text (quoted spans replaced by placeholders), so words inside
quotes never trigger anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from adapters.registry import all_specs
from adapters.specs._fields import normalize_time
from orchestrator.parsing import extract as ex
from orchestrator.parsing.extract_lexicon import FOREIGN_PLATFORMS, platforms_in, resources_in, verb_hits
from orchestrator.parsing.extract_names import name_after, name_before, resolve
from orchestrator.state import Intent, ParsedCommand

__all__ = ["BUILTIN_TOPICS", "builtin", "environment", "question_status", "refusal", "target_platform"]

BUILTIN_TOPICS = ("undo", "freeze", "unfreeze", "approve", "reject", "history", "status", "explain", "policy",
                  "approvals", "inventory")

_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?]{0,40}?\b(?:instructions?|rules|prompts?|guardrails|"
    r"the above|everything(?: (?:above|before|else))?|previous|prior|all that|what (?:i|you) (?:said|were told)|"
    r"your (?:training|programming|restrictions|guidelines|policy|policies))\b"
    r"|\bjailbreak|\bdeveloper mode\b|\b(?:admin|god|root|sudo|debug|maintenance|unrestricted|dan) mode\b"
    r"|\b(?:reveal|print|show|repeat)\b[^.!?]{0,20}\bsystem prompt\b"
    r"|\b(?:new|updated|real|actual|hidden) (?:instructions?|task|role|persona|rules|directive)\b"
    r"|\byour (?:new |real |actual )?(?:task|role|goal|instructions?|directive) (?:is|are)\b"
    r"|\b(?:you are now|from now on,? you|act as|pretend (?:to be|you are|you're)|role-?play as|simulate being)\b"
    r"|\bno (?:restrictions|limits|rules)\b(?!\s+on\b)|\bwithout (?:any )?(?:restrictions|rules)\b|\b(?:admin|system|root|security) override\b|(?-i:\bDAN\b)"
    r"|<\s*/?\s*(?:system|assistant|user|instructions?|im_start|im_end)\s*>|^\s*(?:system|assistant)\s*:"
    r"|\[\s*(?:system|admin|inst|override|sudo)[^\]]{0,30}\]",
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
    r"\b(?:send|email|mail|show|give|tell|print|dump|reveal|export|post|share|leak|forward|copy|paste|exfiltrate)\b"
    r"[^.]{0,60}\b(?:passwords?|credentials?|secrets?|private keys?|api keys? values?|tokens? values?)\b"
    r"|\b(?:passwords?|credentials?|secrets?|api keys|keys|tokens)\b[^.]{0,40}\b(?:to my|to me|personal|gmail|"
    r"outside|external|pastebin|hotmail|yahoo)\b",
    re.IGNORECASE,
)


#: "<some kind of text>: …" — what follows is data someone pasted, not the user's command.
_PASTED = re.compile(
    r"^(?P<intro>[^:]{0,80}?\b(?:e-?mail|message|ticket|log(?: line)?|doc(?:ument)?|note|text|payload|comment|"
    r"transcript|snippet|thread|dm|chat|post|review|feedback|request|wrote|said|says|writes|fwd|fw|forward(?:ed|ing)?|"
    r"subject|excerpt|quote|paste[d]?|copied|screenshot)\b[^:]{0,40}?)"
    r"(?::|->|—)\s*\S",
    re.IGNORECASE,
)


#: "the ticket says to …": a command relayed from data the user did not write.
_RELAYED = re.compile(
    r"^(?:the |this |that |a |an |our |some |their )?(?:customer |vendor |user |incoming |latest |last |new |support )?"
    r"(?:e-?mails?|messages?|tickets?|logs?|docs?|documents?|notes?|payloads?|comments?|webhooks?|alerts?|"
    r"pr(?: description)?|readme|issue(?: body)?|customer|vendor|stranger|bot|tweet|dm|chat|thread)\b[^.]{0,40}?"
    r"\b(?:says?|said|wrote|writes|asks?|asked|requests?|requested|tells? us|told us|wants|instructs?|instructed|"
    r"demands?|demanded)\b(?P<rest>.*)$"
)
#: Asks to get around the controls themselves: approvals, the ledger, freezes, policy.
_CONTROLS = re.compile(
    r"\b(?:skip(?:ping)?|bypass(?:ing)?|without|no need for|don'?t need|circumvent(?:ing)?|override|avoid(?:ing)?|"
    r"ignore|ignoring)\b(?: the| any| an| a| all)?(?: \w+)?\s+(?:approvals?|reviews? process|sign[- ]?offs?|"
    r"four[- ]eyes|the ledger|ledger|audit(?:ing| log| trail)?|freeze|change freeze|polic(?:y|ies)|guardrails?|"
    r"checks|safety checks|dry[- ]run)\b"
    r"|\b(?:delete|erase|wipe|clear|purge|rewrite|edit|tamper with|truncate|disable|turn off|stop|remove|drop)\b"
    r"(?: the| our| all| this)?(?: \w+)?\s+(?:ledger|audit (?:log|trail)|change (?:history|log)|history|"
    r"audit(?:ing)?|change records|logging)\b"
)


#: Requests outside what a control plane does, each with the reason given back and whether it
#: stands even beside a catalog command (exfiltration and bulk runs do; "create an asana task to
#: book a meeting with Acme" is a task, not a booking).
_OUT_OF_SCOPE: tuple[tuple[re.Pattern[str], str, bool], ...] = (
    (re.compile(
        r"\b(?:pay|wire|transfer|remit|refund|reimburse|send (?:over |out )?(?:the |a |some )?(?:money|funds|payment|cash|[$£€]))\b[^.?!]{0,40}?"
        r"(?:[$£€]\s?\d|\b\d[\d,.]*\s?(?:k\b|usd|gbp|eur|dollars|pounds|euros)|\binvoices?\b|\bmoney\b|\bfunds\b|"
        r"\bpayments?\b|\bbank\b|\bpayroll\b)"
        r"|\b(?:pay|settle|approve payment (?:of|for)) (?:the |this |that |an? |our )?(?:invoice|bill|vendor|contractor)s?\b"),
     "moving money is out of scope: I change and inspect the platforms in the catalog", False),
    (re.compile(
        r"\b(?:export|send|email|e-mail|mail|forward|copy|dump|download|share|upload|sync|move|pull)\b[^.?!]{0,60}?"
        r"\b(?:contacts?|customers?|leads?|emails?|e-mail addresses|phone numbers|personal data|pii|user list|member list|"
        r"members|recordings?|transcripts?|call data|crm data|list of (?:users|people|customers))\b[^.?!]{0,60}?"
        r"\b(?:to|into|onto|in)\b[^.?!]{0,30}?\b(?:my|personal|private|home|own|gmail|hotmail|yahoo|outlook\.com|"
        r"icloud|proton\w*|dropbox|google drive|usb|laptop|pastebin)\b"),
     "exporting personal or customer data to a private place is out of scope, and never done by this tool", True),
    (re.compile(
        r"\b(?:book|schedule|set up|arrange|organi[sz]e|put)\b (?:me |us |a |an |the )*(?:\w+ )?"
        r"(?:meeting|call|1:1|one-on-one|demo|sync|lunch|dinner|calendar (?:invite|slot)|room)\b"
        r"|\bsend (?:a |an )?(?:calendar )?invite for\b"),
     "booking meetings is out of scope: I change and inspect the platforms in the catalog", False),
    (re.compile(
        r"\b(?:salar(?:y|ies)|compensation|payroll|pay ?slips?|pay bands?|bonus(?:es)?|performance reviews?|"
        r"hr (?:records?|files?|data)|disciplinary|sick (?:leave|notes?)|home address(?:es)?|"
        r"social security|national insurance numbers?)\b"),
     "HR and personal records are out of scope, and never read or changed by this tool", False),
    (re.compile(
        r"\b(?:buy|order|purchase|procure|top up|renew)\b[^.?!]{0,40}?\b(?:credits?|laptops?|licen[cs]es?|seats?|"
        r"hardware|servers?|subscriptions?|plans?|domains? names?)\b"
        r"|\b(?:cancel|upgrade|downgrade)\b[^.?!]{0,30}?\b(?:subscription|billing|plan|contract)\b"
        r"|\b(?:change|update)\b[^.?!]{0,30}?\b(?:billing|payment method|credit card)\b"
        r"|\bsign\b[^.?!]{0,30}?\b(?:contract|dpa|nda|msa|agreement|sow|order form)\b"),
     "purchases, billing and contracts are out of scope: I change and inspect the platforms in the catalog", False),
    (re.compile(
        r"\breset\b[^.?!]{0,30}?\bpasswords?\b|\b(?:turn off|disable|remove|bypass|switch off)\b[^.?!]{0,30}?"
        r"\b(?:2fa|mfa|two[- ]factor|sso|single sign[- ]on)\b|\bmake (?:me|him|her|them) (?:an? )?(?:org(?:anization)? )?"
        r"(?:owner|admin|administrator|superuser)\b"),
     "account and security administration is out of scope here: ask your identity or platform admins", False),
    (re.compile(r"\b(?:tweet|post (?:it )?(?:on|to) (?:twitter|x|linkedin|facebook|instagram|the blog)|"
                r"(?:publish|send out) (?:a )?press release)\b"),
     "public posts are out of scope: I change and inspect the platforms in the catalog", False),
    (re.compile(r"\b(?:approve|submit|file|process|sign off)\b (?:my|his|her|their|our|the|this|that) "
                r"(?:expense(?: report)?s?|reimbursements?|timesheets?|pto|annual leave|holiday request|time off)\b"
                r"|\bgive (?:me|him|her|them) a (?:raise|promotion|bonus)\b"),
     "HR and personal records are out of scope, and never read or changed by this tool", True),
    (re.compile(r"\b(?:run|execute|exec)\b (?:this |that |the |a |my )?(?:shell |bash |python )?"
                r"(?:script|command|one-liner|snippet)\s*:|\bcurl\b[^|]{0,200}\|\s*(?:ba|z)?sh\b|\brm -rf\b"),
     "I don't run scripts or shell commands: I change the platforms in the catalog, one planned change at a time", True),
    (re.compile(
        r"\b(?:run|execute|do|apply|process|go through)\b (?:every|each|all(?: of)?(?: the)?|the) (?:\w+ )?"
        r"(?:commands?|lines?|steps?|instructions?)\b[^.?!]{0,30}?\b(?:in|from|of|on) (?:this|that|the|attached|my)\b"
        r"[^.?!]{0,20}?\b(?:file|script|doc(?:ument)?|runbook|list|csv|gist|paste|below|attachment)\b"),
     "I don't run commands in bulk from a file: send each change as its own command, so each is planned and checked", True),
)


def _out_of_scope(low: str) -> ParsedCommand | None:
    catalog_command: bool | None = None
    for pattern, reason, always in _OUT_OF_SCOPE:
        if pattern.search(low):
            if not always:
                catalog_command = _commands_in(low) if catalog_command is None else catalog_command
                if catalog_command:
                    continue
            return _refuse(reason)
    return None


#: The built-ins that change something, said outright: guarded exactly like catalog actions.
_BUILTIN_COMMAND = re.compile(
    r"\b(?:un-?freeze|freeze|thaw|lift (?:the |a |our )?(?:\w+ )?freeze|approve|reject|undo|revert|roll ?back)\b")


def _commands_in(text: str) -> bool:
    """Whether text reads like a command: a mutating catalog verb or a changing built-in said outright."""
    low = text.lower()
    if _BUILTIN_COMMAND.search(low):
        return True
    return any(verb_hits(spec.verb, low)[0] >= 1.5 for spec in all_specs() if spec.mutating)


def refusal(raw: str, masked: str, quoted: list[ex.Quoted]) -> ParsedCommand | None:
    """A ``refuse`` when the command is out of scope or carries smuggled instructions.

    Text inside quotes, or pasted after "message: …"/"email: …", is data. If that data reads
    like a command and the user's own words around it ask for nothing from the catalog, the
    command is refused rather than the data obeyed.
    """
    low = masked.lower()
    if _INJECTION.search(masked) or (
            _INJECTION.search(raw) and not (quoted and _commands_in(masked) and not _PASTED.match(masked))):
        # An attack quoted as the *data* of a command the user gives ("create an issue titled
        # 'bot obeyed "ignore previous instructions"'") is just data: it is never executed.
        return _refuse("instructions inside the message are treated as data, never as commands")
    if quoted and _commands_in(" ; ".join(q.content for q in quoted[:20])) and not _commands_in(masked):
        return _refuse("the quoted text asks for a change; quoted text is data, never a command")
    pasted = _PASTED.match(masked)
    if pasted and not _commands_in(pasted.group("intro")) and _commands_in(masked[pasted.end() - 1:]):
        return _refuse("the pasted text asks for a change; pasted text is data, never a command")
    relayed = _RELAYED.match(low)
    if relayed and _commands_in(relayed.group("rest")):
        return _refuse("a command relayed from a message or ticket is data, never a command")
    if _CONTROLS.search(low):
        return _refuse("approvals, freezes and the ledger are not negotiable from a command")
    if _DATA_TASK.search(low) or (quoted and re.search(r"\b(?:summari[sz]e|translate|what do they want)\b", low)):
        return _refuse("processing pasted text is out of scope; quoted or pasted text is never run as a command")
    if _CHITCHAT.search(low):
        return _refuse("that is out of scope: I change and inspect the platforms in the catalog")
    if (outside := _out_of_scope(low)) is not None:
        return outside
    if _SECRETS.search(low):
        return _refuse("secrets are never shown or sent anywhere")
    foreign = [f for f in FOREIGN_PLATFORMS if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", low)]
    ours = platforms_in(re.sub("|".join(rf"(?<![\w-]){re.escape(f)}(?![\w-])" for f in foreign), " ", low)) if foreign else []
    if foreign and not ours and not re.search(r"\b(?:captures?|materiali[sz]ations?|connectors?)\b", low):
        # (sources and destinations of an estuary capture are named after other systems)
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
        said = resolve(masked, None, names)
        if said.match and said.exact:  # named as it is, or in another spacing ("temp articles")
            return key.split(".")[0], said.match
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
    kinds = set(resources_in(low)) - {"github.team"}
    if len(kinds) == 1 and (not platforms or next(iter(kinds)).startswith(platforms[0] + ".")):
        # "the stripe-events capture": a resource noun says the platform, the word before or after it the name
        from orchestrator.parsing.extract_params import NOUNS

        kind = next(iter(kinds))
        after = name_after(masked, NOUNS.get(kind, "-"), [])
        name = name_before(masked, NOUNS.get(kind, "-"), []) or (
            after if after and not re.fullmatch(r"[a-z]+", after) else None)  # "the capture doing" names nothing
        if kind in NOUNS and name and "QQ" not in name:
            return kind.split(".")[0], name
    return None, None


def _with_target(low: str, masked: str, inventory: dict[str, list[str]]) -> tuple[str | None, str | None]:
    platforms = platforms_in(low)
    platform, target = target_platform(masked, inventory)
    if platforms:
        return platforms[0], target if platform in (None, platforms[0]) else None
    return platform, target


_HELP = re.compile(
    r"(?:help|\?+|h|commands|usage|options)[.!?]*$|(?:show )?help(?: me)?(?: with| on| for)?\W+.*|help me\b.*"
    r"|what can (?:you|i|we|sophia|this(?: \w+)?) (?:do|help)\b.*|(?:list|show)(?: me)? (?:the |all |your )?(?:commands|actions)\b.*"
    r"|how (?:do|can|should|would) (?:i|we|you|one) .*|how does .* work\b.*|(?:explain|tell me) how .* works?\b.*"
    r"|what (?:commands|actions|operations|things) (?:are|can|do|does|is)\b.*|what (?:are|is) (?:my|the|your) options\b.*"
    r"|(?:what|which) (?:platforms|tools|integrations) (?:do you|can you|are)\b.*"
    r"|(?:i'?m|i am) (?:lost|confused|stuck|new here)\b.*|getting started\b.*|usage (?:for|of|on) .*"
)


def _help_topic(low: str) -> str | None:
    platforms = platforms_in(low)
    if platforms:
        return platforms[0]
    for topic in BUILTIN_TOPICS:
        stem = {"approvals": "approval", "freeze": "freez", "unfreeze": "unfreez"}.get(topic, topic)
        if re.search(rf"\b{stem}(?:e|es|s|ing|ed)?\b", low):
            return topic
    owners = {key.split(".")[0] for key in resources_in(low)}
    return owners.pop() if len(owners) == 1 else None


def _help(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    if _HELP.match(low):
        if re.match(r"how (?:do|can) (?:i|we) (?:undo|revert|roll ?back) (?:chg_|the last)", low):
            return None
        return ParsedCommand(intent=Intent.HELP, topic=_help_topic(low), confidence=0.9)
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


_UNDO_VERB = re.compile(r"\b(?:undo|un-do|revert|roll ?back|reverse|back out|take back)\b")


def _undo(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    verb = _UNDO_VERB.search(low)
    if not verb:
        return None
    changes = ex.change_ids(low)
    if changes:
        return ParsedCommand(intent=Intent.UNDO, change_id=changes[0], confidence=0.95)
    if re.search(r"\b(?:deploy|deployment|dpl_)", low) or ex.deployment_ids(masked):
        return None
    changed = re.search(r"\b(?:change|changes|changed|edit|edits|did|done|made|thing|things|action|actions|step)\b", low)
    if re.search(r"\b(?:last|past|previous|latest) (?:two|three|four|five|few|couple|several|\d+)\b|"
                 r"\b(?:two|three|four|five|\d+) (?:last |latest |previous )?(?:changes|edits|actions)\b", low):
        return _clarify_undo()  # several changes: one undo each, by id or "everything since <time>"
    platform, target = _with_target(low, masked, inv)
    since = ex.time_after(low, "since")
    if since is None and changed and (day := re.search(r"\b(today|yesterday)(?:'s)?\b", low)):
        since = day.group(1)
    everything = re.search(r"\b(?:everything|all(?: the)?(?: \w+)? changes|all changes|every change|"
                           r"(?:today|yesterday)'?s? changes)\b", low)
    last = re.search(r"\b(?:last|latest|previous|most recent|just)\b", low)
    if since and (everything or platform or changed):
        if platform is None:
            return _clarify_undo()
        return ParsedCommand(intent=Intent.UNDO, platform=platform, since=since, confidence=0.9)
    if (last and changed) or re.search(r"\bthe (?:change|edit)s? (?:to|on|in|for)\b", low):
        if platform is None:
            return _clarify_undo()
        return ParsedCommand(intent=Intent.UNDO, platform=platform, target=target, confidence=0.9)
    if re.fullmatch(r"(?:please )?(?:undo|revert|roll ?back|reverse)(?: (?:it|that|this))?[.!?]*", low):
        return _clarify_undo()
    if re.match(r"(?:undo|un-do|reverse|back out|take back)\b", low) or (changed and verb.start() < 20):
        return _clarify_undo()  # undo what, exactly? never guess which change
    return None


def _clarify_undo() -> ParsedCommand:
    return ParsedCommand(
        intent=Intent.CLARIFY, confidence=0.8,
        message="undo what? give a change id (chg_…), 'the last change to <platform>', "
                "or 'everything on <platform> since <time>'",
    )


_UNFREEZE = re.compile(
    r"\b(?:unfreeze|un-freeze|unfrozen|thaw(?:ed)?)\b"
    r"|\b(?:lift|end|remove|cancel|stop|drop|call off|release|clear|kill|turn off)\b(?: the| a| our| this| that)?"
    r"(?: \w+)?(?: change| code| deploy(?:ment)?)? freeze\b"
    r"|\bfreeze (?:on \w+ )?(?:is|has) (?:over|done|finished|ended|lifted)\b"
    r"|\b(?:can|may) (?:take|accept|get|receive) (?:changes|deploys|deployments) again\b"
    r"|\b(?:changes|deploys|deployments) (?:are |can )?(?:allowed|open|resume|unblocked)(?: again)?\b"
)
_FREEZE = re.compile(r"\b(?:freeze|frozen|freezing)\b")
#: Freeze said without the word: only read as one when an environment is named.
_SOFT_FREEZE = re.compile(
    r"\block(?:ing)? down\b|\block (?:the )?(?:prod|production|live|staging|stage)\b|\b(?:no more|block(?:ing)?|halt(?:ing)?|hold(?:ing)?|pause|stop(?:ping)?|"
    r"disallow|prevent|forbid) (?:all |any |the )?(?:more )?(?:changes|deploys|deployments|writes|changing)\b"
    r"|\b(?:nobody|no one|noone) (?:touches|changes|deploys to)\b"
)


def _freeze(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    if re.match(r"(?:is|are|was|were|has|have|when|why)\b", low):
        return None  # "is prod frozen?" asks; it does not freeze
    unfreeze = _UNFREEZE.search(low)
    freeze = _FREEZE.search(low)
    soft = _SOFT_FREEZE.search(low)
    env = environment(low)
    if env and not unfreeze and re.search(r"\bunlock\b", low):
        unfreeze = re.search(r"\bunlock\b", low)  # "unlock prod": only with an environment named
    if not (unfreeze or freeze or (soft and env)):
        return None
    if env is None:
        if platforms_in(low) or ex.change_ids(low):
            return None  # "freeze" as a word in some other request; nothing to freeze without an environment
        return ParsedCommand(intent=Intent.CLARIFY, confidence=0.7,
                             message="which environment? (e.g. prod or staging)")
    if unfreeze:
        return ParsedCommand(intent=Intent.UNFREEZE, environment=env, confidence=0.9)
    until = ex.time_after(low, "until")
    reason = None
    match = re.search(r"(?:\bfor |\bbecause(?: of)? |\bdue to |, |— |- )([^,]{3,120})$", masked)
    if match and not re.match(r"(?:until|till|til)\b", match.group(1).lower()):
        reason = match.group(1).strip(" .")
    return ParsedCommand(intent=Intent.FREEZE, environment=env, until=until, reason=reason, confidence=0.9)


def _explain(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    changes = ex.change_ids(low)
    if re.match(r"(?:explain|why\b|how come\b|what (?:was|is) the (?:reason|rationale|justification)|"
                r"what (?:caused|made|led to|triggered|prompted)\b|tell me why\b|(?:do|does|did) (?:you|anyone|someone) know why\b|"
                r"reason for\b|wh(?:at|o) (?:was|is) behind\b)", low) or (
        changes and re.search(r"\b(?:why|explain|reason|rationale|context|behind|caused)\b", low)
    ):
        if changes:
            return ParsedCommand(intent=Intent.EXPLAIN, change_id=changes[0], confidence=0.9)
        return ParsedCommand(intent=Intent.EXPLAIN, question=masked, confidence=0.8)
    return None


_HISTORY = re.compile(
    r"^(?:show |list |get |pull up |open |view |see )?(?:me )?(?:the |our |my )?"
    r"(?:history|audit(?: log| trail)?|ledger|change ?log|activity(?: log| feed)?|timeline)\b"
    r"|\bhistory\b|\baudit (?:log|trail)\b|\bchange ?log\b|\bactivity (?:log|feed)\b|\b(?:recent|latest) activity\b"
    r"|\bwhat(?:'s| has| have)?(?: been| was| were| got)? (?:changed|modified|touched|edited|updated|done|happened|changing)\b"
    r"|\bwhat did (?:we|you|i|someone|somebody|anyone|anybody|people|sophia|they) (?:change|do|modify|touch|edit)\b"
    r"|\bwho (?:has |have )?(?:touched|changed|modified|edited|updated|made changes|messed with|did something)\b"
    r"|\b(?:was|were|been|got) (?:changed|modified|touched|edited)\b"
    r"|\b(?:show|list|get|see|view|give)(?: me)? (?:the |all |any |our |my )?(?:recent |latest |past )?changes\b"
    r"|\b(?:recent|latest|past|previous|today'?s|yesterday'?s|week'?s|day'?s) changes\b"
    r"|^(?:any|all) (?:recent )?changes\b|\bchanges (?:made|applied|done|since|today|yesterday)\b"
    r"|\b(?:show|list|get|see|view|give|pull up)(?: me| us)? (?:the |our |my )?(?:last|latest|most recent|recent) "
    r"(?:\d+ |few |couple(?: of)? |several )?(?:changes|edits|actions)\b"
    r"|^(?:has |have )?(?:anything|something|anyone|anybody|somebody|someone) (?:been |got |just )?"
    r"(?:changed?|modified|touched|edited)\b"
    r"|\bwhat(?:'s| has)? happened (?:with|to|on|in)\b"
)


def _history(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    if not _HISTORY.search(low):
        return None
    platform, target = _with_target(low, masked, inv)
    since = ex.time_after(low, "since")
    if since is None and (day := re.search(
            r"\b(today|yesterday|this morning|earlier today|(?:last|this|past) week|"
            r"(?:this|last|past) \d* ?(?:hours?|days?))\b", low)):
        said = day.group(1)
        said = "last week" if said.endswith("week") else said
        try:
            since = normalize_time(said.replace("this ", "the last ") if said.endswith(("hour", "day")) else said)
        except ValueError:
            since = None
    return ParsedCommand(intent=Intent.HISTORY, platform=platform, target=target, since=since, confidence=0.9)


_STATUS = re.compile(
    r"^(?:status|health|state)\b|(?<![\w.-])status(?![\w.-])|\bhealth(?:y)?\b|\bhow(?:'s| is| are)\b.*\b(?:doing|going|looking)\b"
    r"|^(?:is|are)\b.*\b(?:ok|okay|up|down|healthy|working|running|alive|fine|broken|reachable|online|offline|"
    r"degraded|failing|erroring|connected|responding|green|red|happy|stable|available)\b"
    r"|^(?:is|are|was|were)\b.*\b(?:suspended|paused|resumed|active|inactive|enabled|disabled|archived|live|"
    r"deployed|protected|private|public|tracked|stuck|idle|stopped|started|on|off)\b"
    r"|\bhow(?:'s| is)\s+\w+\s*\??$|^how(?:'s| is| are)\b(?!.*\b(?:i|we)\b)"
    r"|^(?:is|are) (?:\w+ ){0,3}(?:good|alright|all right|ok|okay)\b|^(?:all|everything) (?:good|ok|okay|fine) (?:with|on|in)\b"
    r"|\buptime\b"
    r"|\b(?:state|health|condition) of\b"
    r"|^(?:are there |is there |any )(?:any )?(?:problems|issues|errors|incidents|outages|failures|alerts)\b"
    r"|^(?:is|are) (?:anything|something|everything|all|stuff) (?:broken|wrong|down|failing|ok|okay|fine|up)\b"
    r"|^what'?s (?:up|wrong|going on) with\b"
)
#: "check pinecone", "ping portkey", "check on estuary": a look at a platform, said in a few words.
_CHECK = re.compile(r"^(?:check|ping|check on|check up on|check in on|look at|sanity check)\s+(?:the\s+|our\s+)?\S+(?:\s+\S+){0,2}$")


def _status(low: str, masked: str, inv: dict[str, list[str]]) -> ParsedCommand | None:
    checked = _CHECK.match(low.rstrip(" ?!.")) and (platforms_in(low) or target_platform(masked, inv)[0])
    if not (_STATUS.search(low) or checked):
        return None
    if re.match(r"(?:set|change|update)\b", low):
        return None
    platform, target = _with_target(low, masked, inv)
    return ParsedCommand(intent=Intent.STATUS, platform=platform, target=target, confidence=0.85)


_QUESTION = re.compile(r"^(?:is|are|was|were|what|what's|whats|which|who|how|does|did|has|have|had)\b|^do\b.*\?$")
_LISTING = re.compile(r"^(?:show|list|get|view|see|display|give)(?: me| us)?(?: (?:all|our|the|my|every|of|current))*"
                      r"(?: [\w-]+)?? (?:warehouses|databases|indexes|indices|collections|channels|keys|projects|repos|"
                      r"repositories|instances|sequences|webhooks|properties|pipelines|captures|materializations|"
                      r"materialisations|roles|domains|deployments|configs|budgets|teams|files)\b")


def question_status(masked: str, inventory: dict[str, list[str]]) -> ParsedCommand | None:
    """A question or a listing about the platforms ("is ETL_WH suspended?", "list our warehouses") as
    ``status``; None when the text is not one or names nothing we manage."""
    low = masked.lower().strip()
    if not (_QUESTION.match(low) or _LISTING.match(low)):
        return None
    platform, target = _with_target(low, masked, inventory)
    if platform is None:
        owners = {key.split(".")[0] for key in resources_in(low)}
        platform = owners.pop() if len(owners) == 1 else None
    if platform is None and not (environment(low) and re.search(r"\b(?:frozen|freeze)\b", low)):
        return None
    return ParsedCommand(intent=Intent.STATUS, platform=platform, target=target, confidence=0.6)


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

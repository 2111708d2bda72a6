"""Params and targets for a chosen action, read from one (masked) clause.

Extractors are keyed by param name, so an action whose params reuse a known name
(``size``, ``limit_usd``, ``dimension`` …) is understood without code here; a few actions
override where the same name means something else (a stage's ``label``, a task's ``name``).
Values come back raw; the action's params model validates and normalises them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from adapters.catalog import ActionSpec
from orchestrator.parsing import extract as ex
from orchestrator.parsing.extract_lexicon import STOPWORDS
from orchestrator.parsing.extract_names import NAME, name_after, name_before, name_near, unquote
from orchestrator.parsing.extract_snowflake import SNOWFLAKE_EXTRACTORS, SNOWFLAKE_KEYS, snowflake_target

__all__ = ["params_for", "target_for"]

Q = list[ex.Quoted]


def _first(pattern: str, text: str, flags: int = re.IGNORECASE) -> str | None:
    match = re.search(pattern, text, flags)
    return match.group(1) if match else None


def _list(text: str) -> list[str]:
    return [p for p in re.split(r"\s*(?:,|\+|&|\band then\b|\bthen\b|\band\b|\bor\b)\s*", text.strip(" .")) if p]


# ---- param extractors: (masked clause, quoted spans, action id) -> raw value or None


def _size(m: str, q: Q, a: str) -> Any:
    return ex.size(re.sub(r"\bsmall(?:er)? (?:than|change)\b", "", m))


def _seconds(m: str, q: Q, a: str) -> Any:
    if a == "snowflake.warehouse.create" and not re.search(r"suspend|idle|sleep|timeout", m, re.IGNORECASE):
        return None
    found = ex.durations(m)
    return found[-1] if found else None


def _role(m: str, q: Q, a: str) -> Any:
    return (
        _first(r"\bthe\s+([A-Za-z][\w$]*)\s+role\b", m)
        or _first(r"\brole\s+(?!to\b|from\b|away\b)([A-Za-z][\w$]*)", m)
        or _first(r"\b(?:grant|grnat|revoke|give|remove|add)\s+(?:the\s+)?(?!an?\b|the\b|role\b)([A-Za-z][\w$]*)\s+(?:role\s+)?(?:to|from)\b", m)
    )


_OBJECTS = r"(contacts?|compan(?:y|ies)|deals?|tickets?|products?|line[ _]items?|quotes?|people|accounts?)"


def _object_type(m: str, q: Q, a: str) -> Any:
    return _first(rf"\b{_OBJECTS}\b", m)


def _label(m: str, q: Q, a: str) -> Any:
    if a == "hubspot.pipeline.stage.create":
        said = _first(r"\bstage\s+(?:called\s+|named\s+)?(?!(?:at|to|in|on|into|for|with|of)\b)(QQ\d+|[^,]+?)"
                      r"\s+(?:to|in|on|into|for|with|at)\s+(?:the\s+)?", m)
        return unquote(said, q) if said else (name_after(m, "stage", q) or name_before(m, "stage", q))
    if a == "hubspot.property.update":
        found = _first(r"\b(?:label|rename|relabel|re-label|retitle)\b.*?\bto\s+(.+?)\s*$", m)
        return unquote(found, q) if found else None
    found = _first(r"\blabel(?:led|ed)?\s+(?:as\s+)?(QQ\d+|.+?)(?:,|$|\s+(?:type|with|and|in|on)\b)", m)
    return unquote(found, q) if found else None


def _prop_type(m: str, q: Q, a: str) -> Any:
    return _first(r"\btype\s+(\w+)", m) or _first(
        r"\b(number|numeric|date|datetime|enumeration|enum|boolean|bool|checkbox|dropdown|text|string)\s+(?:\w+\s+)?"
        r"property\b", m)


def _probability(m: str, q: Q, a: str) -> Any:
    return _first(r"(\d{1,3}(?:\.\d+)?)\s?(?:%|percent\b)", m) or _first(
        r"\bprobability\s+(?:of\s+|at\s+|=\s*)?(\d*\.?\d+)", m) or _first(r"\bat\s+(0?\.\d+)\b", m)


def _since(m: str, q: Q, a: str) -> Any:
    return ex.time_after(m.lower(), "since")


def _sequence(m: str, q: Q, a: str) -> Any:
    return name_before(m, "sequence", q) or name_after(m, "sequence", q)


_ENV_KEY = r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{3,})\b"
_ENV_KEY_NC = r"\b(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{3,})\b"


def _env_key(m: str, q: Q, a: str) -> Any:
    return _first(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*=", m, 0) or _first(_ENV_KEY, m, 0) or _first(
        r"\b(?:var|variable|env)\s+([A-Za-z_][A-Za-z0-9_]*)", m)


def _env_value(m: str, q: Q, a: str) -> Any:
    found = _first(r"\b[A-Za-z_][A-Za-z0-9_]*\s*=\s*(QQ\d+|\S+)", m, 0) or _first(
        rf"{_ENV_KEY_NC}\s+to\s+(QQ\d+|\S+)", m, 0) or _first(
        rf"{_ENV_KEY_NC}(?:\s+(?!to\b)[\w.-]+){{1,6}}\s+to\s+(QQ\d+|\S+)\s*$", m, 0)
    return unquote(found.rstrip(",;"), q) if found else None


def _environment(m: str, q: Q, a: str) -> Any:
    # staging/qa/uat/test are named too, so that validation asks instead of defaulting to production
    found = re.findall(r"\b(?:in|for|on|to)\s+(?:the\s+)?(preview|development|dev|production|prod|staging|stage|qa|uat|"
                       r"test)\b", m, re.IGNORECASE)
    if not found and a.startswith("vercel.env."):
        found = list(dict.fromkeys(w.lower() for w in re.findall(r"\b(preview|development|production)\b", m, re.IGNORECASE)))
        found = found if len(found) == 1 else []  # "marketing-site preview": one environment named, bare
    return found[-1] if found else None


def _deployment(m: str, q: Q, a: str) -> Any:
    found = ex.deployment_ids(m)
    return found[0] if found else None


def _domain(m: str, q: Q, a: str) -> Any:
    found = ex.domains(m)
    return found[0] if found else None


def _instance_type(m: str, q: Q, a: str) -> Any:
    return _first(r"\b((?:gpu|cpu)_\d+x_[a-z0-9_]+)\b", m)


def _region(m: str, q: Q, a: str) -> Any:
    return _first(r"\b([a-z]{2,}(?:-[a-z]+)+-\d)\b", m)


def _count(m: str, q: Q, a: str) -> Any:
    return ex.count(m)


def _public_key(m: str, q: Q, a: str) -> Any:
    found = re.search(r"((?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d{3}|sk-ssh-ed25519@openssh\.com)\s+[A-Za-z0-9+/=]{16,}"
                      r"(?:\s+[\w.+-]+@[\w.-]+)?)", m)
    return found.group(1) if found else None


def _private(m: str, q: Q, a: str) -> Any:
    if re.search(r"\bprivate\b", m, re.IGNORECASE):
        return True
    if re.search(r"\bpublic\b", m, re.IGNORECASE):
        return False
    return None


def _description(m: str, q: Q, a: str) -> Any:
    found = _first(r"\bdescription\s+(?:of\s+|:\s*)?(QQ\d+|.+?)\s*$", m)
    return unquote(found, q) if found else None


def _branch(m: str, q: Q, a: str) -> Any:
    return (
        _first(r"\bprotect\s+(?:the\s+)?([\w.-]+)\s+(?:branch\s+)?(?:on|of|in|for)\b", m)
        or _first(r"\bthe\s+([\w./-]+)\s+branch\b", m)
        or _first(r"\bbranch\s+(?!protection)([\w./-]+)", m)
    )


_NUMBER_WORDS = {"zero": "0", "no": "0", "one": "1", "a single": "1", "an": "1", "a": "1", "two": "2", "three": "3",
                 "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_NUM = rf"(-?\d+|{'|'.join(sorted(_NUMBER_WORDS, key=len, reverse=True))})"


def _number(value: str | None) -> str | None:
    return None if value is None else _NUMBER_WORDS.get(value.lower(), value)


def _reviews(m: str, q: Q, a: str) -> Any:
    if re.search(r"\b(?:remove|drop|disable|turn off|stop requiring|no longer require|no)\s+(?:the\s+)?"
                 r"(?:required\s+)?(?:pr\s+|code\s+)?(?:reviews?|approvals?)\b", m, re.IGNORECASE):
        return "0"
    return _number(_first(rf"(?<![\w-]){_NUM}\s+(?:required\s+)?(?:approving\s+)?(?:pr\s+)?(?:code\s+)?"
                          r"(?:reviews?|reviewers?|approvals?|approvers?|sign-?offs?)\b", m)
                   or _first(r"\b(?:reviews?|reviewers?|approvals?)\s*(?:to|=|:|of)\s*(-?\d+)\b", m))


def _gh_user(m: str, q: Q, a: str) -> Any:
    handles = ex.handles(m)
    if handles:
        return handles[0]
    return _first(r"\b(?:add|put|remove|invite|kick|take)\s+(?:user\s+)?(?!the\b|user\b)([A-Za-z0-9][A-Za-z0-9-]*)"
                  r"\s+(?:to|on|off|from|out|into)\b", m)


def _url(m: str, q: Q, a: str) -> Any:
    found = ex.urls(m)
    return found[0] if found else None


def _events(m: str, q: Q, a: str) -> Any:
    words = r"([a-z_]+(?:\s*(?:,|and|\+|&)\s*[a-z_]+)*)"
    found = _first(rf"\b(?:for|on)\s+{words}\s+events?\b", m) or _first(rf"\bfor\s+{words}\s+(?:to|at)\s+https?://", m)
    return _list(found) if found else None


def _hook_id(m: str, q: Q, a: str) -> Any:
    return _first(r"\b(?:hook|webhook)\s+(?:id\s+)?#?(\d+)", m) or _first(r"\b(\d{2,})\b", m)


_FIGMA_EVENTS = r"(FILE_UPDATE|FILE_VERSION_UPDATE|FILE_DELETE|LIBRARY_PUBLISH|FILE_COMMENT|PING|DEV_MODE_STATUS_UPDATE)"


def _figma_event(m: str, q: Q, a: str) -> Any:
    return _first(rf"\b{_FIGMA_EVENTS}\b", m) or _first(
        r"\b(file version update|version update|file update|file delete|library publish|file comment|comment|"
        r"dev mode)s?\b", m)


def _fallback(m: str, q: Q, a: str) -> Any:
    pair = re.search(r"\bfall\s?s?\s?back\s+from\s+([\w.-]+)\s+to\s+(.+?)\s*$", m, re.IGNORECASE)
    if pair:
        return [pair.group(1), *_list(pair.group(2))]
    found = _first(r"\bfall\s?s?\s?back\s+(?:to\s+)?(.+?)\s*$", m) or _first(r"\bfallback\s+(?:to\s+|:\s*)?(.+?)\s*$", m)
    return _list(found) if found else None


def _loadbalance(m: str, q: Q, a: str) -> Any:
    found = _first(r"\bload\s?-?balanc\w*\b.*?\b(?:across|between|over|to)\s+(.+?)\s*$", m)
    return _list(found) if found else None


def _retry(m: str, q: Q, a: str) -> Any:
    return _first(r"\bretr(?:y|ies)\s+(?:to\s+|=\s*|:\s*)?(-?\d+)", m) or _first(
        r"(?<![\w-])(-?\d+)\s+(?:times|retries|attempts)\b", m)


def _money(m: str, q: Q, a: str) -> Any:
    return ex.money(m)


def _dimension(m: str, q: Q, a: str) -> Any:
    return _first(r"(?<![\w-])(-?\d+)\s?(?:-?d\b|dimensions?|dims?\b)", m) or _first(
        r"\bdim(?:ension)?s?\s*(?:of\s+|=\s*|:\s*)?(-?\d+)", m)


def _metric(m: str, q: Q, a: str) -> Any:
    found = _first(r"\b(cosine|cos|euclidean|l2[-_]squared|l2|dot\s?product|dot|inner[\s_]product|ip|manhattan|hamming)\b", m)
    return found.replace(" ", "") if found and found.lower().startswith("dot") else found


def _m(m: str, q: Q, a: str) -> Any:
    return _first(r"\bm\s*(?:=|to|of|:)?\s*(-?\d+)", m)


def _ef(m: str, q: Q, a: str) -> Any:
    return _first(r"\bef[_\s-]?construction\s*(?:=|to|of|:)?\s*(-?\d+)", m)


def _replicas(m: str, q: Q, a: str) -> Any:
    return _number(_first(rf"(?<![\w-]){_NUM}\s+replicas?\b", m)) or _first(
        r"\breplicas?\s+(?:to\s+|=\s*|of\s+)?(-?\d+)", m) or _first(r"\breplicas?\b.{0,40}?\bto\s+(-?\d+)\b", m)


def _topic(m: str, q: Q, a: str) -> Any:
    found = _first(r"\btopic\b.*?(?:\bto\b|:)\s*(.+?)\s*$", m)
    return unquote(found, q) if found else None


def _users(m: str, q: Q, a: str) -> Any:
    found = ex.handles(m) + ex.emails(m) + re.findall(r"\b([UW][A-Z0-9]{8,})\b", m)
    return found or None


def _team(m: str, q: Q, a: str) -> Any:
    if a == "asana.project.create":
        found = name_before(m, "team", q) or _first(r"\bteam\s+(QQ\d+|[A-Z][\w-]*)", m, 0)
        return unquote(found, q) if found else None
    return _first(r"\bteam\s+(?!is\b)([A-Za-z][\w-]*)", m) or name_before(m, "team", q)


#: Where a title said without quotes ends: the metadata people tack on after a comma.
_TITLE_TAIL = re.compile(
    r"(?:,|;|\s+-)\s*(?:(?:and\s+)?(?:priority|prio|urgent|asap|critical|blocker|p[0-4]|(?:high|low|medium|normal)\b"
    r"(?:\s+prio(?:rity)?)?|description|desc|details|assign(?:ed)?(?:\s+to)?|due|label(?:led|s)?)\b)"
    r"|\s+(?:description|desc|details)\s*:", re.IGNORECASE)


def _title(m: str, q: Q, a: str) -> Any:
    if q:
        return q[0].content
    found = (_first(r"\b(?:titled|called|named)\s+(.+?)\s*$", m) or _first(r":\s*(.+?)\s*$", m)
             or _first(r"\s[-–—]\s+(.+?)\s*$", m))
    if found and (tail := _TITLE_TAIL.search(found)):
        found = found[:tail.start()].strip() or found
    return found


def _priority(m: str, q: Q, a: str) -> Any:
    return _first(r"\b(urgent|high|medium|normal|low|no)[\s-]+prio(?:rity)?\b", m) or _first(
        r"\b(?:an?|the)\s+(urgent|high-priority|critical)\b", m) or _first(r"\bpriority\s*(?:of\s+|:\s*|is\s+)?(\w+)", m) or _first(
        r"\bprio\s*:?\s*(\w+)", m) or _first(r"\b(p[0-4])\b", m) or _first(r"\b(urgent|asap|critical|blocker)\b", m)


def _task_name(m: str, q: Q, a: str) -> Any:
    if q:
        return q[0].content
    found = _first(r"\btask\s+(?:called\s+|named\s+)?(.+?)\s+(?:in|to|on|for)\s+(?:the\s+)?(?:asana\s+)?", m) or _first(
        r":\s*(.+?)\s*(?:,|$)", m)
    return found


#: A ``secret://NAME`` reference as said (its form is checked by the params model, not here).
_REF = r"(secret://[^\s,;]+)"
_PREVIOUS_REF = rf"\b(?:previous|prior|old|current)(?:\s+(?:value|one|secret))?(?:\s+(?:is|in|at|from|kept in|=|:))?\s*{_REF}"


def _previous(m: str, q: Q, a: str) -> Any:
    found = _first(_PREVIOUS_REF, m)
    return found.rstrip(".") if found else None


def _secret_value(m: str, q: Q) -> Any:
    previous = _previous(m, q, "")
    refs = [r.rstrip(".") for r in re.findall(_REF, m) if r.rstrip(".") != previous]
    if refs:
        return refs[0]
    # A value typed in place of a reference: caught so that it is refused (never stored).
    found = _first(r"\b(?:to|=|value)\s+(QQ\d+|\S+)\s*$", m) or _first(
        r"\bsecret\s+[A-Za-z_]\w*\s+(?:to|=)\s+(QQ\d+|\S+)", m)
    if found and not ex.owner_repos(found):
        return unquote(found.rstrip(".,;"), q)
    return None


def _secret_name(m: str, q: Q) -> Any:
    bare = re.sub(_REF, " ", m)
    return (_first(r"\bsecrets?\s+(?:named\s+|called\s+)?(?!(?:in|on|to|from|for|of|the|at|using|with)\b)"
                   r"([A-Za-z_][A-Za-z0-9_]*)\b(?!/)", bare)
            or _first(r"\b([A-Z_][A-Z0-9_]*)\s+(?:actions\s+|github\s+)?secret\b", bare, 0)
            or _first(_ENV_KEY, bare, 0))


def _name(m: str, q: Q, a: str) -> Any:
    return _secret_name(m, q) if a.startswith("github.secret.") else _task_name(m, q, a)


def _value(m: str, q: Q, a: str) -> Any:
    return _secret_value(m, q) if a.startswith("github.secret.") else _env_value(m, q, a)


def _visibility(m: str, q: Q, a: str) -> Any:
    return _first(r"\b(public|private|internal)\b", m)


def _any_branch(m: str, q: Q, a: str) -> Any:
    if a != "github.repo.set_default_branch":
        return _branch(m, q, a)
    return (_first(r"\bdefault\s+branch\b.*?\bto\s+(?:the\s+)?(?:branch\s+)?([\w./-]+?)[.,;]?(?:\s|$)", m)
            or _first(r"\b(?:make|set|use)\s+(?:the\s+)?(?:branch\s+)?([\w./-]+)\s+(?:branch\s+)?(?:as\s+)?the\s+default\b", m)
            or _first(r"\bdefault\s+branch\s+(?:of\s+\S+\s+)?(?:is|=|:|should\s+be|to\s+be)\s+([\w./-]+?)[.,;]?(?:\s|$)", m))


def _assignee(m: str, q: Q, a: str) -> Any:
    found = ex.emails(m)
    if found:
        return found[0]
    if re.search(r"\b(?:assign(?:ed)?\s+(?:it\s+)?to\s+me|assign to me|to myself)\b", m, re.IGNORECASE):
        return "me"
    return None


_SEQ_NOUNS = "sequence|sequences|cadence|campaign|drip"
#: A quoted span or a Title-Case run ("Q4 Outbound", "Webinar Follow-up"), case-sensitive.
_TITLE_RUN = r"(QQ\d+|(?-i:(?!Apollo\b)[A-Z0-9][\w&'-]*(?:\s+(?:[A-Z0-9][\w&'-]*|[a-z]\d[\w.-]*)){0,5}))"


def _apollo_seq(m: str, q: Q, a: str) -> Any:
    named = name_before(m, _SEQ_NOUNS, q) or name_after(m, _SEQ_NOUNS, q)
    if named:
        return named
    found = _first(rf"\b(?:to|into|in|on|onto|for)\s+(?:the\s+)?(?:apollo(?:'s)?\s+)?{_TITLE_RUN}", m)
    return unquote(found, q) if found else None


def _apollo_sequence_target(m: str, q: Q) -> str | None:
    """A sequence said without the noun: "pause Q4 Outbound in apollo", "apollo - stop Q4 Outbound"."""
    named = name_near(m, _SEQ_NOUNS, q)
    if named:
        return named
    found = _first(rf"{_TITLE_RUN}\s+(?:in|on|from)\s+apollo\b", m) or _first(
        rf"^(?:apollo(?:'s)?\s*[:,-]?\s*)?[a-z][\w-]*(?:\s+(?:off|on|up|down|back))?\s+(?:the\s+)?(?:apollo(?:'s)?\s+)?{_TITLE_RUN}", m)
    return unquote(found, q) if found else None


def _gong_call(m: str, q: Q, a: str) -> Any:
    """A Gong call's id: the digits after "call" ("gong call 7782342274025937895", "call #778…")."""
    return _first(r"\bcall\s+(?:id\s+)?#?(\d{6,20})\b", m) or _first(r"\b(\d{12,20})\b", m)


_EXTRACTORS: dict[str, Callable[[str, Q, str], Any]] = {
    "size": _size, "auto_suspend_seconds": _seconds, "seconds": _seconds, "role": _role,
    "object_type": _object_type, "label": _label, "type": _prop_type, "probability": _probability,
    "since": _since, "sequence": _apollo_seq, "key": _env_key, "value": _value, "environment": _environment,
    "deployment_id": _deployment, "domain": _domain, "instance_type": _instance_type, "region": _region,
    "count": _count, "public_key": _public_key, "private": _private, "description": _description,
    "branch": _any_branch, "required_reviews": _reviews, "user": _gh_user, "url": _url, "endpoint": _url,
    "events": _events, "hook_id": _hook_id, "event_type": _figma_event, "fallback": _fallback,
    "loadbalance": _loadbalance, "retry": _retry, "limit_usd": _money, "dimension": _dimension,
    "metric": _metric, "m": _m, "ef_construction": _ef, "replicas": _replicas, "topic": _topic,
    "users": _users, "team": _team, "title": _title, "priority": _priority, "name": _name,
    "assignee": _assignee, "previous": _previous, "visibility": _visibility,
    "call": _gong_call,
    **SNOWFLAKE_EXTRACTORS,
}


#: Extractors whose answer depends on the action asked about (the rest depend on the text only).
_PER_ACTION = frozenset({_seconds, _label, _environment, _team, _name, _value, _any_branch})


def params_for(spec: ActionSpec, masked: str, quoted: Q, memo: dict[Any, Any] | None = None) -> dict[str, Any]:
    """Raw param values found in the clause for ``spec`` (only the ones present).

    ``memo``, shared across the specs scored for one clause, keeps each extractor from
    running again on the same text (most params recur across the catalog).
    """
    found: dict[str, Any] = {}
    for name in spec.params.model_fields:
        extractor = _EXTRACTORS.get(name)
        if extractor is None:
            continue
        if memo is None:
            value = extractor(masked, quoted, spec.id)
        else:
            key = (name, spec.id) if extractor in _PER_ACTION else name
            if key not in memo:
                memo[key] = extractor(masked, quoted, spec.id)
            value = memo[key]
        if value is not None and value != []:
            found[name] = value
    return found


# ---- targets


_WH = r"\b([A-Za-z][A-Za-z0-9_$]*_(?:WH|wh))\b"
_UPPER_ID = r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b"
_KEBAB = r"\b([a-z][a-z0-9]*(?:-[a-z0-9]+)+)\b"
_VERCEL_SKIP = {"vercel", "prod", "production", "preview", "development", "dev", "the", "deployment", "project",
                "deploy", "it", "staging", "env", "var", "domain", "live", "previous"}


def _not_param(value: str | None, params: dict[str, Any]) -> str | None:
    if value is None:
        return None
    flat = {str(v).lower() for v in params.values() if not isinstance(v, list)}
    flat |= {str(x).lower() for v in params.values() if isinstance(v, list) for x in v}
    return None if value.lower() in flat else value


def _vercel_project(m: str, q: Q, params: dict[str, Any]) -> str | None:
    values = {str(v).lower() for v in params.values()}
    for pattern in (
        rf"\bproject\s+{NAME}", rf"(?:\bthe\s+)?{NAME}\s+project\b",
        rf"\b(?:on|for|from|to)\s+(?:the\s+)?{NAME}", rf"\bin\s+(?:the\s+)?{NAME}",
        rf"^(?:vercel\s*:?\s*)?(?:please\s+)?(?:roll\s?back|revert|promote)\s+(?:the\s+)?{NAME}",
    ):
        for match in re.finditer(pattern, m, re.IGNORECASE):
            name = unquote(match.group(1).split()[0] if not match.group(1).startswith("QQ") else match.group(1), q)
            low = name.lower()
            if (low in _VERCEL_SKIP or low in STOPWORDS or "." in low or low.startswith("dpl_") or "=" in low
                    or low in values or low in ("http", "https")):
                continue
            if re.fullmatch(r"[A-Z][A-Z0-9_]+", name) and "_" in name:
                continue  # an env var name, not a project
            return name
    return None


def _generic(spec: ActionSpec, m: str, q: Q, nouns: str) -> str | None:
    return name_near(m, nouns, q)


NOUNS = {
    "snowflake.warehouse": "warehouse|wh", "snowflake.database": "database|db",
    "estuary.capture": "capture", "estuary.materialization": "materialization|materialisation",
    "hubspot.property": "property|field", "hubspot.pipeline": "pipeline", "apollo.sequence": "sequence",
    "lambdalabs.instance": "instance|instances|box|boxes|machine", "lambdalabs.ssh_key": "ssh key|key",
    "portkey.api_key": "api key|key", "portkey.config": "config", "portkey.budget": "workspace|key",
    "openrouter.key": "api key|key", "pgvector.index": "index", "pinecone.index": "index",
    "weaviate.index": "collection|class|index", "slack.channel": "channel",
    "linear.project": "project", "asana.project": "project",
}


def target_for(spec: ActionSpec, masked: str, quoted: Q, params: dict[str, Any]) -> str | None:
    """The target named in the clause for ``spec``, as said (inventory resolution comes later)."""
    m = masked
    key = f"{spec.platform}.{spec.resource}"
    if spec.id == "snowflake.role.grant" or spec.id == "snowflake.role.revoke":
        return (_first(r"\buser\s+([A-Za-z][\w.@-]*)", m)
                or _first(r"\b(?:give|grant|assign)\s+(?!the\b|user\b|role\b|an?\b)([A-Za-z][\w.-]*)\s+the\b", m)
                or _not_param(_first(r"\b(?:to|from)\s+(?!the\b)([A-Za-z][\w.@-]*)\s*[.!?]*$", m), params)
                or _not_param(_first(r"\b(?:to|from)\s+(?!the\b)([A-Za-z][\w.@-]*)", m), params))
    if key in SNOWFLAKE_KEYS:
        return snowflake_target(spec, m, quoted, params)
    if spec.platform == "github":
        found = [r for r in ex.owner_repos(m) if r != params.get("branch")]  # "make release/2.0 the default …"
        return found[0] if found else None
    if spec.platform == "usergems" or spec.id.startswith("apollo.contact."):
        found = ex.emails(m)
        return found[0] if found else None
    if key == "gong.call.access":
        found = ex.emails(m)
        return found[0] if found else None
    if spec.platform == "estuary":
        found = ex.owner_repos(m)
        return found[0] if found else _generic(spec, m, quoted, NOUNS[key])
    if spec.platform == "vercel":
        return _vercel_project(m, quoted, params)
    if spec.platform == "slack":
        found = ex.channels(m)
        if found:
            return found[0]
        name = name_near(m, "channel", quoted) or _first(r"\btopic\s+(?:in|of|for)\s+(?:the\s+)?([\w.-]+)", m)
        return name.lstrip("#").lower() if name else None
    if spec.id == "figma.webhook.create":
        return _first(r"\bteam\s+(?:id\s+)?(\d+)", m)
    if spec.id == "figma.webhook.delete":
        return _first(r"\b(?:webhook|hook)\s+(?:with\s+id\s+|id\s+)?(\d+)", m) or _first(r"\b(\d{3,})\b", m)
    if spec.id == "figma.file.get":
        return (_first(r"\bfile\s+(?:key\s+)?((?=[A-Za-z]*\d)[A-Za-z0-9]{6,})\b", m)
                or _first(r"\bfile\s+(?:key\s+)?((?-i:[A-Za-z]*[A-Z][A-Za-z]*[a-z][A-Za-z]*|[A-Za-z]*[a-z][A-Za-z]*[A-Z][A-Za-z]*))\b", m)
                or _first(r"figma\.com/(?:file|design)/([A-Za-z0-9]{6,})", m))
    if spec.id == "hubspot.pipeline.stage.create":
        return (name_before(m, "pipeline", quoted) or name_after(m, "pipeline", quoted)
                or _first(r"\b(?:to|on|in)\s+(?:the\s+)?" + NAME + r"\s*(?:$|,|\bat\b|\bwith\b)", m))
    if spec.id == "hubspot.pipeline.create":
        return _generic(spec, m, quoted, "pipeline")
    if key == "apollo.sequence":
        return _apollo_sequence_target(m, quoted)
    if spec.platform == "hubspot":
        return _first(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b", m, 0) or name_near(m, "property", quoted)
    if spec.id == "linear.issue.create":
        return (_first(r"\b(?:team|in|for|to)\s+(?:the\s+)?(?:team\s+)?([A-Z][A-Z0-9]{1,9})\b(?!\s*=)", m, 0)
                or _first(r"(?:^|\s)([A-Z][A-Z0-9]{1,9})\s+(?:team|ticket|issue|bug|board|backlog)\b", m, 0))
    if spec.id == "asana.task.create":
        project = _first(r"\b(?:project|in|to)\s+(?:the\s+)?(?:asana\s+)?(?:project\s+)?(QQ\d+|[A-Z0-9][\w&'-]*"
                         r"(?:\s+[A-Z0-9][\w&'-]*){0,5})", m, 0)
        return unquote(project, quoted) if project else None
    if key == "snowflake.warehouse":
        return (_first(_WH, m, 0) or _not_param(_generic(spec, m, quoted, NOUNS[key]), params)
                or _first(_UPPER_ID, m, 0))
    if key == "snowflake.database":
        return _generic(spec, m, quoted, NOUNS[key]) or _first(_UPPER_ID, m, 0)
    if key in ("linear.project", "asana.project"):
        bare = _first(r"^(?:\w+\s+)?(?:the\s+)?(QQ\d+|[A-Z0-9][\w&'-]*(?:\s+[A-Z0-9][\w&'-]*){0,5})\s+(?:in|on|from|to)\s+"
                      r"(?:the\s+)?(?:linear|asana)\b", m, 0)  # "archive Q3 Planning in asana"
        return name_near(m, "project", quoted) or (unquote(bare, quoted) if bare else None)
    nouns = NOUNS.get(key)
    named = _not_param(_generic(spec, m, quoted, nouns), params) if nouns else None
    if named:
        return named
    kebab = [k for k in re.findall(_KEBAB, m) if k not in {str(v) for v in params.values()}]
    return kebab[0] if kebab else None

"""Finding resource names in a clause, and resolving loose names against the inventory.

Names come from quoted strings, "called X" / "named X", a resource noun followed or preceded
by a name ("warehouse ETL_WH", "the Enterprise Sales pipeline"), or identifier-shaped tokens.
Quoted spans arrive masked as ``QQn`` and are swapped back for their content here.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from orchestrator.parsing import extract as ex
from orchestrator.parsing.extract_lexicon import PLATFORM_ALIASES, STOPWORDS

__all__ = ["Resolution", "name_after", "name_before", "name_near", "resolve", "said_loosely", "unquote"]

_PLATFORM_WORDS = {alias for aliases in PLATFORM_ALIASES.values() for alias in aliases}
#: Words that are never a resource name on their own.
NOT_NAMES = STOPWORDS | _PLATFORM_WORDS | {
    "called", "named", "titled", "labelled", "labeled", "new", "old", "existing", "current",
    "warehouse", "database", "db", "index", "collection", "class", "project", "channel", "key", "api", "repo",
    "team", "user", "sequence", "pipeline", "stage", "property", "capture", "materialization", "instance",
    "box", "config", "workspace", "budget", "webhook", "hook", "file", "task", "issue", "ticket", "domain",
    "deploy", "deployment", "env", "var", "variable", "ssh", "one", "there", "here", "prod", "production",
    "preview", "development", "dev", "staging", "limit", "role", "private", "public", "vector", "gpu",
    "that", "which", "what", "where", "when", "everything", "anything", "something", "contact", "them",
    "right", "again", "both", "each", "every", "dims", "dimensions", "replicas", "as", "is",
    "into", "onto", "off", "out", "over", "under", "about", "across", "after", "before", "via", "per", "than",
    "so", "if", "but", "not", "no", "yes", "ok", "using",
    "should", "must", "needs", "need", "will", "shall", "has", "have", "had", "was", "were", "be", "been", "being",
    "got", "gets", "does", "did", "do", "may", "might", "cadence", "campaign",
}

_ID = r"[A-Za-z0-9][\w./@-]{0,120}"
_TITLE_WORD = r"(?:(?!QQ\d)[A-Z0-9][\w&'-]{0,60})"
#: A name: a quote placeholder, a Title-Case run ("Series B Founders"), or one identifier token.
#: Case-sensitive even inside IGNORECASE patterns (``(?-i:…)``), so "the" never joins a Title run.
_VERSION_WORD = r"(?:[a-z]\d[\w.-]{0,10})"  # "v2", "q3" inside a Title-Case name ("Payments v2")
NAME = rf"(?-i:(QQ\d+|{_TITLE_WORD}(?:\s+(?:{_TITLE_WORD}|{_VERSION_WORD})){{0,5}}|{_ID}))"


def unquote(value: str, quoted: list[ex.Quoted]) -> str:
    """Swap ``QQn`` placeholders back for the quoted text."""

    def sub(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return quoted[index].content if index < len(quoted) else ""

    return re.sub(r"QQ(\d+)", sub, value).strip()


def _ok(candidate: str) -> bool:
    words = candidate.lower().split()
    return bool(words) and words[0] not in NOT_NAMES and not all(w in NOT_NAMES for w in words)


def _trim(candidate: str) -> str:
    words = candidate.split()
    while words and words[-1].lower() in NOT_NAMES | {"of", "and", "for", "the"}:
        words.pop()
    return " ".join(words).strip(" .,:;!?)(")


_CONNECTORS = frozenset({"with", "in", "on", "for", "to", "from", "and", "then", "at", "using", "of", "by"})


def _lower_tail(masked: str, end: int) -> str:
    """The lower-case words that finish a Title-Case name ("Webinar follow-up", "Board deck"), or "".

    Only up to a clear boundary — the end, punctuation, a connector ("in", "for", …) or a
    platform word — and only words that could be part of a name; otherwise nothing is added.
    """
    platform = "|".join(map(re.escape, sorted(_PLATFORM_WORDS, key=len, reverse=True)))
    stop = "|".join(sorted(_CONNECTORS))
    tail = re.match(rf"((?:\s+(?-i:[a-z][\w&'-]*))(?:\s+(?-i:[A-Za-z0-9][\w&'-]*)){{0,3}}?)"
                    rf"(?=\s*(?:$|[.,;:!?)]|\s+(?:{stop}|{platform})\b))", masked[end:], re.IGNORECASE)
    if tail is None:
        return ""
    words = tail.group(1).split()
    if any(w.lower() in NOT_NAMES | _CONNECTORS or w.isdigit() for w in words):  # "dim 384" is a param
        return ""
    return " " + " ".join(words)


def name_after(masked: str, anchors: str, quoted: list[ex.Quoted]) -> str | None:
    """The name right after one of the ``anchors`` (a regex alternation), e.g. ``called|named``.

    After "called"/"named"/"titled" any word is a name ("an index called a"); after a resource
    noun, common words are not ("the index with …"). A Title-Case name may finish in lower case
    ("sequence Webinar follow-up in apollo"): see :func:`_lower_tail`.
    """
    explicit = anchors == "called|named|titled"
    for match in re.finditer(rf"\b(?:{anchors})\s+(?:(?:called|named|titled)\s+)?{NAME}", masked, re.IGNORECASE):
        found = match.group(1)
        # a Title-Case name in words, not an identifier ("SupportTickets", "ETL_WH", "v2.1")
        if re.fullmatch(_TITLE_WORD + r"(?:\s+\S+)*", found) and not re.search(r"[\d_./@]|\w[A-Z]", found):
            found += _lower_tail(masked, match.end(1))
        candidate = found.strip(" .,:;!?)(") if explicit else _trim(found)
        if explicit and candidate and candidate.split()[0].lower() not in _CONNECTORS:
            return unquote(_trim(candidate) or candidate.split()[0], quoted)
        if candidate and _ok(candidate):
            return unquote(candidate, quoted)
    return None


def name_before(masked: str, nouns: str, quoted: list[ex.Quoted]) -> str | None:
    """The name right before one of the ``nouns`` (``the Enterprise Sales pipeline``)."""
    # "the Onboarding revamp project": a capitalised run that continues in lower case up to the noun
    platform = "|".join(map(re.escape, _PLATFORM_WORDS))
    spoken = re.search(rf"\b(?:the|our|a|an)\s+((?-i:[A-Z][\w&'-]*)(?:\s+(?!(?:{platform})\b)[\w&'-]+){{1,4}}?)"
                       rf"(?:\s+(?:{platform}))?\s+(?:{nouns})\b", masked, re.IGNORECASE)
    if spoken and _ok(spoken.group(1)) and not re.search(r"\b(?:to|in|on|for|from|with|and)\b", spoken.group(1)):
        return unquote(spoken.group(1), quoted)
    pattern = rf"(?:\bthe\s+|\ba\s+|\ban\s+|^|\s){NAME}(?:\s+(?:{'|'.join(map(re.escape, _PLATFORM_WORDS))}))?\s+(?:{nouns})\b"
    for match in re.finditer(pattern, masked, re.IGNORECASE):
        candidate = _trim(match.group(1))
        # a Title run may have swallowed a leading verb ("Archive Office Move"): keep the tail
        if candidate and _ok(candidate):
            return unquote(candidate, quoted)
        tail = candidate.split()[1:] if candidate else []
        if tail and _ok(" ".join(tail)):
            return unquote(" ".join(tail), quoted)
    return None


def name_near(masked: str, nouns: str, quoted: list[ex.Quoted]) -> str | None:
    """A name for a resource: "called X", then "<noun> X", then "X <noun>"."""
    colon = re.search(rf"\b(?:{nouns})\b[^:]{{0,40}}:\s*{NAME}\s*[.!]*$", masked, re.IGNORECASE)
    return (
        name_after(masked, "called|named|titled", quoted)
        # a lone lower-case word after the colon is an instruction ("sequence X: deactivate"), not a name
        or (unquote(colon.group(1), quoted) if colon and colon.group(1).split()[0].lower() not in STOPWORDS
            and not re.fullmatch(r"[a-z]+", colon.group(1)) else None)
        or name_after(masked, nouns, quoted)
        or name_before(masked, nouns, quoted)
    )


@dataclass
class Resolution:
    """The outcome of resolving a name against the inventory."""

    match: str | None = None
    candidates: list[str] = field(default_factory=list)
    exact: bool = False  #: the name was said as it is (not a partial or close match)


_GENERIC = {"wh", "warehouse", "acmeco", "source", "materialize", "db", "the", "prod", "index", "key", "project",
            "channel", "sequence", "pipeline", "capture", "materialization", "collection", "team"}


def _parts(name: str) -> set[str]:
    split = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return {p for p in re.split(r"[\s_/.-]+", split.lower()) if p and p not in _GENERIC}


def _squash(name: str) -> str:
    """A name without case, spaces, dashes, underscores or an ``owner/`` prefix: "Temp Articles" → "temparticles"."""
    return re.sub(r"[\s_.-]+", "", name.rsplit("/", 1)[-1].lower())


def said_loosely(low: str, names: list[str]) -> list[str]:
    """Inventory names said as words in another spacing or case ("temp articles", "data pipelines")."""
    words = re.findall(r"[a-z0-9]+", low)
    grams = {"".join(words[i:i + n]) for n in range(2, 5) for i in range(len(words) - n + 1)}
    return [n for n in names if len(_squash(n)) >= 4 and _squash(n) in grams]


def resolve(text: str, said: str | None, names: list[str]) -> Resolution:
    """Resolve a resource against the inventory ``names`` (case-insensitive, fuzzy).

    ``said`` is the name extracted from the text, if any. Exact mentions win; then names whose
    distinctive words appear in the text; then close spellings. Several equally good matches
    come back as ``candidates`` (ambiguous); none as an empty resolution.
    """
    low = text.lower()
    loose = said_loosely(low, names)
    if said:
        exact = [n for n in names if n.lower() == said.lower()]
        longer = [n for n in loose if exact and _squash(exact[0]) in _squash(n) and n != exact[0]]
        if exact and not longer:
            return Resolution(exact[0], exact=True)
    mentioned = [n for n in names if re.search(rf"(?<![\w/-]){re.escape(n.lower())}(?![\w/-])", low)]
    mentioned += [n for n in loose if n not in mentioned]
    if len(mentioned) > 1:
        # "the temp articles collection" says TempArticles, not Articles: a longer name whose
        # squashed form contains every other match is the one meant
        longest = max(mentioned, key=lambda n: len(_squash(n)))
        if all(_squash(m) in _squash(longest) for m in mentioned):
            return Resolution(longest, exact=longest.lower() in low or longest in loose)
    if len(mentioned) == 1:
        return Resolution(mentioned[0], exact=True)
    if len(mentioned) > 1:
        longest = max(mentioned, key=len)
        if all(m.lower() in longest.lower() for m in mentioned):
            return Resolution(longest, exact=True)
        return Resolution(None, mentioned)
    words = set(re.findall(r"[a-z0-9]+", low))
    partial = [n for n in names if _parts(n) & words]
    if said and re.search(r"[-_\d/.]", said) and not any(_squash(said) in _squash(n) for n in partial):
        partial = []  # an identifier was said and it is none of these: "staging-gateway" is never prod-gateway
    if len(partial) == 1:
        return Resolution(partial[0])
    if len(partial) > 1:
        return Resolution(None, partial)
    if said:
        close = difflib.get_close_matches(said.lower(), [n.lower() for n in names], n=3, cutoff=0.8)
        originals = [n for n in names if n.lower() in close]
        if len(originals) == 1:
            return Resolution(originals[0])
        if originals:
            return Resolution(None, originals)
    return Resolution()

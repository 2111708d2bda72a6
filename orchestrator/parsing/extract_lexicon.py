"""The offline parser's vocabulary: platform names, resource nouns and verb synonyms.

The catalog (``adapters.registry``) says which actions exist; this module says how people
refer to them. Each action's trigger words are its verb's synonyms plus the content words of
its example utterances, so a new action with good examples is understood without code here.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache, lru_cache

from adapters.catalog import ActionSpec
from adapters.registry import all_specs, catalog_platforms

__all__ = [
    "FOREIGN_PLATFORMS",
    "PLATFORM_ALIASES",
    "RESOURCE_NOUNS",
    "STOPWORDS",
    "VERB_SYNONYMS",
    "example_tokens",
    "fix_typos",
    "join_phrasal",
    "platforms_in",
    "resources_in",
    "strip_filler",
    "tokens",
    "verb_hits",
]

PLATFORM_ALIASES: dict[str, tuple[str, ...]] = {
    "snowflake": ("snowflake", "snow flake"),
    "estuary": ("estuary",),
    "hubspot": ("hubspot", "hub spot"),
    "gong": ("gong",),
    "usergems": ("usergems", "user gems"),
    "apollo": ("apollo", "apollo's"),
    "vercel": ("vercel",),
    "lambdalabs": ("lambdalabs", "lambda labs", "lambda cloud", "lambda"),
    "github": ("github", "gh", "git hub"),
    "figma": ("figma",),
    "portkey": ("portkey",),
    "openrouter": ("openrouter", "open router"),
    "pgvector": ("pgvector", "pg vector"),
    "pinecone": ("pinecone",),
    "weaviate": ("weaviate",),
    "slack": ("slack",),
    "linear": ("linear",),
    "asana": ("asana",),
}

#: Platforms we do not manage: a command about one of them (and none of ours) is refused.
FOREIGN_PLATFORMS = (
    "aws", "amazon web services", "s3", "gcp", "google cloud", "kubernetes", "k8s", "heroku",
    "jira", "confluence", "notion", "trello", "datadog", "pagerduty", "cloudflare", "digitalocean", "netlify",
    "zendesk admin", "salesforce admin", "okta", "bitbucket", "gitlab",
    "ec2", "azure", "mongodb", "mongo", "redis", "mysql", "rds", "dynamodb", "firebase", "supabase", "databricks",
    "redshift", "stripe", "shopify", "twilio", "sendgrid", "mailchimp", "zoom", "discord", "microsoft teams",
    "ms teams", "circleci", "jenkins", "dockerhub", "docker hub", "terraform cloud", "sentry", "new relic", "grafana",
    "splunk", "elasticsearch", "opensearch", "airflow", "fivetran", "intercom", "zendesk", "freshdesk", "clickup",
    "dropbox", "google drive", "auth0", "mixpanel", "amplitude", "qdrant", "milvus", "chromadb", "aws lambda",
    "lambda function", "lambda functions", "azure devops", "cloud run", "app engine", "fly.io", "render.com",
)

#: noun → the (platform.resource) keys it can name.
RESOURCE_NOUNS: dict[str, tuple[str, ...]] = {
    "warehouse": ("snowflake.warehouse",), "warehouses": ("snowflake.warehouse",), "wh": ("snowflake.warehouse",),
    "database": ("snowflake.database",), "db": ("snowflake.database",), "databases": ("snowflake.database",),
    "role": ("snowflake.role",),
    "capture": ("estuary.capture",), "captures": ("estuary.capture",),
    "materialization": ("estuary.materialization",), "materialisation": ("estuary.materialization",),
    "property": ("hubspot.property",), "properties": ("hubspot.property",), "field": ("hubspot.property",),
    "pipeline": ("hubspot.pipeline", "hubspot.pipeline.stage"),
    "stage": ("hubspot.pipeline.stage",),
    "call": ("gong.call",), "calls": ("gong.call",),
    "users": ("gong.user",), "seat": ("gong.user",), "seats": ("gong.user",),
    "contact": ("usergems.contact", "apollo.contact"),
    "sequence": ("apollo.sequence", "apollo.contact"), "sequences": ("apollo.sequence",),
    "cadence": ("apollo.sequence", "apollo.contact"), "campaign": ("apollo.sequence", "apollo.contact"),
    "env": ("vercel.env",), "variable": ("vercel.env",), "var": ("vercel.env",), "vars": ("vercel.env",),
    "deployment": ("vercel.deployment",), "deploy": ("vercel.deployment",), "deployments": ("vercel.deployment",),
    "domain": ("vercel.domain",),
    "instance": ("lambdalabs.instance",), "instances": ("lambdalabs.instance",), "box": ("lambdalabs.instance",),
    "boxes": ("lambdalabs.instance",), "gpu": ("lambdalabs.instance",), "machine": ("lambdalabs.instance",),
    "ssh": ("lambdalabs.ssh_key",),
    "repo": ("github.repo", "github.branch_protection", "github.webhook"),
    "repository": ("github.repo",), "repos": ("github.repo",),
    "branch": ("github.branch_protection",), "protection": ("github.branch_protection",),
    "reviews": ("github.branch_protection",), "review": ("github.branch_protection",),
    "approvals": ("github.branch_protection",),
    "team": ("github.team",),
    "secret": ("github.secret",), "secrets": ("github.secret",), "visibility": ("github.repo",),
    "webhook": ("github.webhook", "figma.webhook"), "hook": ("github.webhook", "figma.webhook"),
    "file": ("figma.file",),
    "key": ("portkey.api_key", "openrouter.key", "lambdalabs.ssh_key", "portkey.budget"),
    "config": ("portkey.config",), "routing": ("portkey.config",),
    "fallback": ("portkey.config",), "loadbalance": ("portkey.config",), "retry": ("portkey.config",),
    "retries": ("portkey.config",),
    "budget": ("portkey.budget",), "spend": ("portkey.budget",), "workspace": ("portkey.budget",),
    "limit": ("openrouter.key", "portkey.budget"),
    "index": ("pgvector.index", "pinecone.index", "weaviate.index"),
    "collection": ("weaviate.index",), "class": ("weaviate.index",),
    "replicas": ("pinecone.index",),
    "channel": ("slack.channel",), "topic": ("slack.channel",),
    "project": ("linear.project", "asana.project", "vercel.env", "vercel.deployment", "vercel.domain"),
    "issue": ("linear.issue",), "ticket": ("linear.issue",), "bug": ("linear.issue",), "bugs": ("linear.issue",),
    "task": ("asana.task",),
    "schema": ("snowflake.schema",), "schemas": ("snowflake.schema",),
    "monitor": ("snowflake.resource_monitor",), "quota": ("snowflake.resource_monitor",),
    "credits": ("snowflake.resource_monitor",), "user": ("snowflake.user",),
}

#: catalog verb → phrases that mean it (the verb itself is always included).
VERB_SYNONYMS: dict[str, tuple[str, ...]] = {
    "create": ("new", "make", "add", "set up", "setup", "spin up", "open", "issue", "generate",
               "provision", "start a", "file", "register", "subscribe"),
    "scale": ("resize", "size", "bump", "upsize", "downsize", "scale up", "scale down", "make", "change the size",
              "the size of",
              "grow", "shrink", "bigger", "smaller"),
    "suspend": ("pause", "stop", "sleep", "halt", "turn off", "shut down", "on hold"),
    "resume": ("wake", "wake up", "start", "turn on", "turn back on", "back on", "unpause", "restart", "back up",
               "bring back up"),
    "set_auto_suspend": ("auto suspend", "auto-suspend", "autosuspend", "idle timeout", "suspend after", "idle after",
                         "go idle", "goes idle", "sleep after", "inactivity", "idle for"),
    "drop": ("delete", "remove", "get rid of", "destroy", "nuke", "trash", "purge", "blow away", "erase"),
    "grant": ("give", "assign", "share"),
    "revoke": ("take away", "take the", "strip", "remove", "pull", "withdraw", "stop sharing", "unshare"),
    "enable": ("turn on", "re-enable", "reenable", "start", "resume", "switch on", "back on", "unlock"),
    "disable": ("turn off", "stop", "pause", "switch off", "halt", "deactivate", "on hold", "suspend", "lock out"),
    "archive": ("retire", "archiving", "remove", "delete", "get rid of", "put in the archive", "move to the archive", "in the archive",
                "to the archive", "into the archive"),
    "unarchive": ("un-archive", "restore", "bring back", "reopen"),
    "update": ("rename", "change", "label to", "set", "relabel", "re-label", "retitle"),
    "list": ("show", "who", "which", "get", "fetch"),
    "track": ("watch", "monitor", "start tracking"),
    "untrack": ("stop tracking", "stop watching", "unwatch", "remove", "delete", "drop", "take off", "no longer track"),
    "activate": ("turn on", "start", "enable", "switch on", "resume", "unpause", "restart", "kick off", "back on",
                 "relaunch", "re-enable", "reactivate", "go live", "launch"),
    "deactivate": ("pause", "turn off", "stop", "disable", "switch off", "halt", "on hold", "suspend", "kill"),
    "add_to_sequence": ("add", "put", "enroll", "enrol", "sign up", "push", "drop into", "subscribe"),
    "remove_from_sequence": ("remove", "take out", "take off", "unenroll", "unenrol", "un-enroll", "drop", "pull"),
    "set": ("add", "put", "protect", "require", "=", "turn on", "enable", "protection", "cap", "limit"),
    "unset": ("remove", "delete", "drop", "clear"),
    "promote": ("ship", "go live", "make live", "to production", "production deployment"),
    "rollback": ("roll back", "revert"),
    "add": ("attach", "point", "connect", "register", "upload", "import"),
    "remove": ("detach", "take off", "delete", "drop", "disconnect", "revoke"),
    "launch": ("spin up", "start", "boot", "provision"),
    "terminate": ("kill", "shut down", "delete", "destroy", "tear down", "nuke", "trash", "purge", "blow away",
                  "erase", "get rid of"),
    "add_member": ("add", "put", "invite", "join"),
    "remove_member": ("remove", "take off", "kick", "drop"),
    "delete": ("remove", "drop", "kill", "get rid of", "destroy", "nuke", "trash", "purge", "blow away", "erase"),
    "get": ("show", "fetch", "read", "open", "metadata"),
    "rotate": ("roll", "cycle", "regenerate"),
    "configure": ("tune", "set", "give", "scale", "change"),
    "invite": ("add", "pull", "bring", "into"),
    "set_topic": ("topic",),
    "set_limit": ("limit", "cap", "raise", "lower", "increase", "decrease", "set"),
    "undrop": ("un-drop", "restore", "recover", "bring back"),
    "set_quota": ("quota", "raise", "lower", "increase", "decrease", "change", "set"),
    "set_visibility": ("visibility", "public", "private", "internal", "open source", "open-source"),
    "set_default_branch": ("default branch", "as default", "as the default", "the default"),
}

STOPWORDS = frozenset(
    ["a", "an", "the", "to", "of", "on", "in", "for", "with", "from", "at", "by", "and", "or", "then", "please", "pls", "plz", "can", "could", "would", "you", "u", "we", "i", "me", "my", "our", "it", "its", "it's", "is", "are", "be", "this", "that", "these", "those", "up", "down", "back", "new", "now", "just", "also", "too", "some", "all"]
)

_TOKEN = re.compile(r"[a-z0-9][a-z0-9_'-]*")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens."""
    return _TOKEN.findall(text.lower())


#: Everyday verbs that say little on their own: they score lower than specific ones.
WEAK_VERBS = frozenset({"make", "add", "set", "get", "put", "give", "start", "stop", "open", "change", "show",
                        "remove", "delete", "take the", "pull", "bring", "into", "turn on", "turn off", "size"})


def _inflect(word: str) -> str:
    """A regex for a verb and its -s/-ed/-ing forms (suspend → suspending, archive → archived)."""
    if not word.isalpha() or len(word) < 3:
        return re.escape(word)
    if word.endswith("e"):
        return f"{word[:-1]}(?:e|es|ed|ing)"
    last = word[-1]
    double = f"|{last}(?:ed|ing)" if last in "bdgmnprt" and word[-2] in "aeiou" and word[-3] not in "aeiou" else ""
    return f"{word}(?:s|es|ed|ing{double})?"


#: Particles of phrasal verbs that take away, which may come after the object: "take priya off",
#: "turn it off". ("on", "up" and "back" stay joined: "turn X back on" is its own phrase.)
_PARTICLES = frozenset({"off", "out", "down", "away"})


def _phrase_re(phrase: str) -> re.Pattern[str]:
    if not phrase[0].isalnum():
        return re.compile(re.escape(phrase))
    words = phrase.split()
    if len(words) == 2 and words[1] in _PARTICLES:  # the object may sit between verb and particle
        return re.compile(rf"(?<![\w-]){_inflect(words[0])}\s+(?:[\w@./'-]+\s+){{0,5}}?{words[1]}(?![\w-])")
    body = r"\s+".join([_inflect(words[0]), *map(re.escape, words[1:])])
    return re.compile(rf"(?<![\w-]){body}(?![\w-])")


#: A be-verb right before a verb makes it a state, not a request: "ANALYTICS_WH is suspended".
_STATE_BEFORE = re.compile(r"\b(?:is|are|was|were|been|being|isn'?t|aren'?t|wasn'?t|weren'?t)"
                           r"(?:\s+(?:now|already|still|currently|not|all|just))?\s*$")


@lru_cache(maxsize=1)
def _platform_patterns() -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for platform in catalog_platforms():
        for alias in PLATFORM_ALIASES.get(platform, (platform,)):
            out.append((platform, re.compile(rf"(?<![\w/-]){re.escape(alias)}(?![\w/-])")))
    return out


#: Aliases that name a platform only next to one of its resource words ("postgres" is also a
#: common capture name; "postgres index" is pgvector).
WEAK_ALIASES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "pgvector": (re.compile(r"(?<![\w/-])postgres(?:ql)?(?![\w/-])"), re.compile(r"\b(?:index|vector|embeddings?)\b")),
}


def platforms_in(low: str) -> list[str]:
    """Catalog platforms named in lower-cased text, in order of first mention."""
    found: list[tuple[int, str]] = []
    for platform, (alias, context) in WEAK_ALIASES.items():
        match = alias.search(low)
        if match and context.search(low):
            found.append((match.start(), platform))
    for platform, pattern in _platform_patterns():
        match = pattern.search(low)
        if match and platform not in {p for _, p in found}:
            found.append((match.start(), platform))
    return [p for _, p in sorted(found)]


def resources_in(low: str) -> Counter[str]:
    """``platform.resource`` keys whose nouns appear in lower-cased text, with how many nouns hit each.

    A sub-resource named by its own noun ("stage" as well as "pipeline") counts higher than its parent.
    """
    words = set(tokens(low))
    keys: Counter[str] = Counter()
    for noun, refs in RESOURCE_NOUNS.items():
        if noun in words:
            keys.update(refs)
    if "env var" in low or "environment variable" in low:
        keys["vercel.env"] += 1
    if "api key" in low:
        keys.update(("portkey.api_key", "openrouter.key"))
    if "default branch" in low:  # a repo setting, not branch protection
        keys["github.repo"] += 2
    if "ssh key" in low or "ssh-" in low:
        keys["lambdalabs.ssh_key"] += 1
    if "#" in low:
        keys["slack.channel"] += 1
    return keys


#: A determiner or a number right before a word makes it a noun ("a $50 limit", "the rollback").
_NOUN_BEFORE = re.compile(r"(?:\b(?:a|an|the|its|their|your|our|my)(?:\s+[\w-]+)?|\d"
                          r"|\bwith (?:a|an) (?:[$£€]?[\d.,]+[km]?\s?)?(?:usd|dollars?|euros?|pounds?|bucks)?)\s*$")


@cache
def _verb_patterns(verb: str) -> list[tuple[str, re.Pattern[str]]]:
    phrases = (verb.replace("_", " "), *VERB_SYNONYMS.get(verb, ()))
    return [(p, _phrase_re(p)) for p in phrases]


@lru_cache(maxsize=2048)
def verb_hits(verb: str, low: str) -> tuple[float, int, int]:
    """How strongly lower-cased text says ``verb``: (score, start, end of the best hit).

    The verb itself scores 2, a multi-word synonym 1.8, a synonym 1.5, an everyday verb 1;
    start and end are -1 when nothing matched.
    """
    best, where, end = 0.0, -1, -1
    for index, (phrase, pattern) in enumerate(_verb_patterns(verb)):
        single = " " not in phrase
        match = next((m for m in pattern.finditer(low)
                      if not (single and _NOUN_BEFORE.search(low, max(0, m.start() - 30), m.start()))
                      and not _STATE_BEFORE.search(low, max(0, m.start() - 30), m.start())), None)
        if match:
            if index == 0:
                score = 2.0
            elif phrase in WEAK_VERBS:
                score = 1.0
            elif len(match.group(0).split()) > len(phrase.split()):
                score = 1.2  # a phrasal verb around its object ("take priya off"): weaker than said whole
            else:
                score = 1.8 if (" " in phrase or "-" in phrase) else 1.5
            if score > best or (score == best and match.start() < where):
                best, where, end = score, match.start(), match.end()
    return best, where, end


@cache
def example_tokens(spec: ActionSpec) -> frozenset[str]:
    """Content words of an action's examples (platform, verb and resource words included)."""
    words: set[str] = set()
    for example in spec.examples:
        words.update(t for t in tokens(example) if t not in STOPWORDS and not any(c.isdigit() for c in t))
    return frozenset(words)


def all_actions() -> list[ActionSpec]:
    """The catalog, in registry order (re-exported so the parser imports one module)."""
    return all_specs()


_FILLER_HEAD = re.compile(
    r"^(?:(?:hi|hey|hello|yo|ok|okay|so|right|quick one|quick q|question|sorry)\b[\s,:;!.-]*)*"
    r"(?:(?:could|can|would|will) (?:you|u|we|i)(?: please| pls| kindly)?(?: (?:mind|be able to|go ahead and))? "
    r"|(?:please|pls|plz|kindly) |i'?d like (?:you )?to |i want (?:you )?to |i need (?:you )?to |we need to |"
    r"let'?s |go ahead and |is it possible to |is there a way to )*",
    re.IGNORECASE,
)
_FILLER_TAIL = re.compile(
    r"(?:[\s,]+(?:please|pls|plz|thanks|thank you|thx|ty|asap|if you can|when you can|cheers|ta|"
    r"(?:when(?:ever)?|once) (?:you )?(?:get|have|find) (?:a |the )?(?:sec|second|min|minute|moment|chance|mo)"
    r"|(?:when(?:ever)?|if) (?:you'?re|you are) (?:free|around)|no rush|no hurry)[\s.!?🙏🙂👍]*)+$",
    re.IGNORECASE)


_PHRASAL = re.compile(r"\b(turn|switch|shut|spin|wake|kick|take)\s+(it|them|that|this|those|these)\s+(back\s+)?(on|off|down|up)\b",
                      re.IGNORECASE)


_PHRASAL_NAMED = re.compile(r"\b(roll|turn|switch|shut|wake|spin)\s+(?!the\b|a\b|an\b|it\b|them\b)([\w./@-]+)\s+"
                            r"(back|on|off|down|up)\b(?!\s+(?:on|off|up|down)\b)", re.IGNORECASE)


def join_phrasal(text: str) -> str:
    """Rejoin a phrasal verb split by its object ("turn it off" → "turn off it", "roll web back" →
    "roll back web") so verb synonyms match."""
    text = _PHRASAL.sub(lambda m: f"{m.group(1)} {m.group(3) or ''}{m.group(4)} {m.group(2)}", text)
    return _PHRASAL_NAMED.sub(lambda m: f"{m.group(1)} {m.group(3)} {m.group(2)}", text)


def strip_filler(text: str) -> str:
    """Drop greetings and politeness around a command ("hi! could you please … thanks")."""
    stripped = _FILLER_TAIL.sub("", _FILLER_HEAD.sub("", text, count=1)).strip(" ,")
    return stripped or text


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    words: set[str] = set()
    for verb, synonyms in VERB_SYNONYMS.items():
        words.update(w for w in (verb, *synonyms) if w.isalpha() and len(w) >= 4)
    words.update(n for n in RESOURCE_NOUNS if n.isalpha() and len(n) >= 4)
    words.update(a for aliases in PLATFORM_ALIASES.values() for a in aliases if a.isalpha() and len(a) >= 4)
    return frozenset(words)


def _one_edit(typo: str, word: str) -> bool:
    """Adjacent swap, or one letter missing, extra or (in long words) wrong — inside the word only.

    Edits at either end are not typos but other words ("user"/"users", "preview"/"review").
    """
    if abs(len(typo) - len(word)) > 1 or typo == word or typo[0] != word[0]:
        return False
    if len(typo) != len(word) and min(len(typo), len(word)) < 6:
        return False  # "going" is not "gong": short words one letter apart are usually other words
    if len(typo) == len(word):
        diffs = [i for i, (a, b) in enumerate(zip(typo, word, strict=True)) if a != b]
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1:
            return typo[diffs[0]] == word[diffs[1]] and typo[diffs[1]] == word[diffs[0]]
        return len(diffs) == 1 and len(word) >= 7 and 0 < diffs[0] < len(word) - 1
    short, long_ = (typo, word) if len(typo) < len(word) else (word, typo)
    return any(long_[:i] + long_[i + 1:] == short for i in range(1, len(long_) - 1))


def fix_typos(text: str) -> str:
    """Correct misspelt catalog words ("archvie" → "archive"); names and identifiers are left alone."""
    vocab = _vocabulary()

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        low = word.lower()
        if low in vocab or len(low) < 4 or (word != low and match.start() != 0):
            return word
        for candidate in vocab:
            if _one_edit(low, candidate):
                return candidate
        return word

    return re.sub(r"(?<![\w@./#-])[A-Za-z]+(?![\w@./-])", fix, text)

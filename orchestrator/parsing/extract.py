"""Value extractors for the offline parser: clean text, quoted strings, and typed values.

Every function here is total (never raises on any string) and linear in the input: the
regexes avoid nested quantifiers, and :func:`clean` bounds the input length first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from adapters.specs._fields import normalize_time

__all__ = [
    "MAX_CHARS",
    "Quoted",
    "change_ids",
    "channels",
    "clean",
    "count",
    "deployment_ids",
    "domains",
    "durations",
    "emails",
    "handles",
    "mask_quotes",
    "money",
    "owner_repos",
    "run_ids",
    "size",
    "time_after",
    "urls",
]

#: Longer commands are cut: nothing in the catalog needs more, and it bounds parse time.
MAX_CHARS = 2000

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "`": "'", "«": '"', "»": '"'})


def clean(text: object) -> str:
    """NFKC-normalise, drop control and zero-width characters, unify quotes, collapse spaces."""
    raw = text if isinstance(text, str) else ("" if text is None else str(text))
    raw = raw[: MAX_CHARS * 2]
    raw = unicodedata.normalize("NFKC", raw)
    raw = _CONTROL.sub(" ", raw.replace("\n", " ").replace("\t", " "))
    raw = raw.replace("’", "'").translate(_QUOTES)
    return re.sub(r"\s+", " ", raw).strip()[:MAX_CHARS]


@dataclass(frozen=True)
class Quoted:
    """A quoted span: where it was, and what was inside the quotes."""

    start: int
    end: int
    content: str


_QUOTED = re.compile(r'"([^"]{1,500})"|(?<![\w])\'([^\']{1,500})\'(?![\w])')


def mask_quotes(text: str) -> tuple[str, list[Quoted]]:
    """Replace each quoted span with a placeholder ``QQn`` so rules never read inside data."""
    spans: list[Quoted] = []

    def sub(match: re.Match[str]) -> str:
        inner = (match.group(1) or match.group(2) or "").strip()
        if _ID_ONLY.fullmatch(inner):
            return f" {inner} "  # a pasted `run_…`/`chg_…` is an id to act on, not data
        spans.append(Quoted(match.start(), match.end(), (match.group(1) or match.group(2) or "").strip()))
        return f" QQ{len(spans) - 1} "

    masked = _QUOTED.sub(sub, text)
    return re.sub(r"\s+", " ", masked).strip(), spans


_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}")
_URL = re.compile(r"https?://[^\s\"'<>]{1,500}", re.IGNORECASE)
_DOMAIN = re.compile(
    r"(?<![@/\w.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,8}(?:com|io|org|net|dev|app|co|ai|so|xyz|tech|cloud|"
    r"info|biz|us|uk|de|fr|eu|me|sh|gg|tv|site|online|store|shop))(?![\w-])",
    re.IGNORECASE,
)
_OWNER_REPO = re.compile(r"(?<![\w./@:-])([A-Za-z0-9][A-Za-z0-9-]{0,38})/([A-Za-z0-9._-]{1,100})(?![\w/])")
_CHANNEL = re.compile(r"(?<![\w&])#([a-z0-9][a-z0-9._-]{0,79})", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w.@])@([A-Za-z0-9][A-Za-z0-9._-]{0,79})")
#: Ids as people paste them: ``chg_…``/``run_…`` in any length or case, ``chg-…``, ``r-91bc``, or the
#: word then a token with a digit ("change 77", "run 5d17aa", "change #1042"). Which record an id
#: names is settled by the store (:meth:`Store.resolve_run_id`, :meth:`Ledger.resolve_change_id`), not here.
_CHANGE = re.compile(
    r"(?<![\w-])(chg[_-][0-9a-z]{3,32})(?![\w-])"
    r"|\bchange(?: id)?:? #?((?=[0-9a-z]*\d)[0-9a-z]{1,32})(?![\w-])",
    re.IGNORECASE,
)
_RUN = re.compile(
    r"(?<![\w-])(run[_-](?:[0-9a-f]{6,32}|(?=[0-9a-z]*\d)[0-9a-z]{3,32})|r-(?=[0-9a-z]*\d)[0-9a-z]{3,32})(?![\w-])"
    r"|\brun(?: id)?:? #?((?=[0-9a-z]*\d)[0-9a-z]{3,32})(?![\w-])",
    re.IGNORECASE,
)
_ID_ONLY = re.compile(r"(?:chg|run)[_-][0-9a-z]{3,32}|r-[0-9a-z]{3,32}", re.IGNORECASE)
_DEPLOYMENT = re.compile(r"\bdpl_[A-Za-z0-9]{6,64}\b")


def emails(text: str) -> list[str]:
    """Email addresses, lower-cased, in order."""
    return [m.group(0).strip(".'").lower() for m in _EMAIL.finditer(text)]


def urls(text: str) -> list[str]:
    """URLs, without trailing punctuation."""
    return [m.group(0).rstrip(".,;:!?)") for m in _URL.finditer(text)]


def domains(text: str) -> list[str]:
    """Bare domain names (not inside a URL or an email)."""
    stripped = _URL.sub(" ", _EMAIL.sub(" ", text))
    return [m.group(1).lower() for m in _DOMAIN.finditer(stripped)]


def owner_repos(text: str) -> list[str]:
    """``owner/repo`` (or ``org/team``) tokens outside URLs."""
    stripped = _URL.sub(" ", text)
    return [f"{m.group(1)}/{m.group(2).rstrip('.')}" for m in _OWNER_REPO.finditer(stripped)]


def channels(text: str) -> list[str]:
    """``#channel`` names, lower-cased, without the ``#``."""
    return [m.group(1).rstrip(".").lower() for m in _CHANNEL.finditer(text)]


def handles(text: str) -> list[str]:
    """``@handle`` names (not email domains), without the ``@``."""
    return [m.group(1).rstrip(".") for m in _HANDLE.finditer(_EMAIL.sub(" ", text))]


def change_ids(text: str) -> list[str]:
    """Ledger change ids as written (``chg_…``, ``chg-…``, "change 77"), lower-cased, in order."""
    return [(m.group(1) or m.group(2)).lower() for m in _CHANGE.finditer(text)]


def run_ids(text: str) -> list[str]:
    """Run ids as written (``run_…``, ``r-91bc``, "run 5d17aa"), lower-cased, in order."""
    return [(m.group(1) or m.group(2)).lower() for m in _RUN.finditer(text)]


def deployment_ids(text: str) -> list[str]:
    """Vercel ``dpl_…`` deployment ids."""
    return [m.group(0) for m in _DEPLOYMENT.finditer(text)]


_SIZE = re.compile(
    r"(?<![\w-])(x{1,3}[\s-]?(?:small|large)|[2-6]\s?x[\s-]?large|extra[\s-]?(?:small|large)|small|medium|large|"
    r"xs|xl|xxl|xxxl|[2-6]xl)(?![\w-])",
    re.IGNORECASE,
)


def size(text: str) -> str | None:
    """The last warehouse size word (``x-large``, ``XL``, ``medium`` …), as written."""
    found = [m.group(1) for m in _SIZE.finditer(text)]
    return found[-1] if found else None


_DURATION = re.compile(
    r"(?<![\w.])(\d{1,6}(?:\.\d{1,3})?|an?|one)\s?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)(?![\w])",
    re.IGNORECASE,
)


def durations(text: str) -> list[str]:
    """Durations as written (``5 minutes``, ``90s``, ``an hour``)."""
    return [f"{m.group(1)} {m.group(2)}" for m in _DURATION.finditer(text)]


_MONEY = re.compile(
    r"(?:\$\s?(\d[\d,]{0,12}(?:\.\d{1,2})?)\s?(k|m)?(?![\w])"
    r"|(?<![\w.$])(\d[\d,]{0,12}(?:\.\d{1,2})?)\s?(k|m)?\s?(?:usd|dollars?|bucks)\b)",
    re.IGNORECASE,
)


def money(text: str) -> str | None:
    """The first amount of money, normalised for :func:`money_usd` (``1.5k``, ``500``)."""
    match = _MONEY.search(text)
    if not match:
        return None
    number = match.group(1) or match.group(3)
    scale = match.group(2) or match.group(4) or ""
    return f"{number}{scale.lower()}"


_COUNT = re.compile(r"(?<![\w.])(\d{1,3})\s(?:instances|boxes|machines|nodes|gpus?|of them)\b", re.IGNORECASE)
_WORD_COUNT = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


def count(text: str) -> int | None:
    """A count of things to launch: ``4 x gpu…``, ``2 instances``, ``spin up 2 …``."""
    match = _COUNT.search(text)
    if match:
        return int(match.group(1))
    match = re.search(r"\b(?:launch|spin up|start|get|create|boot)\s+(\d{1,2}|two|three|four|five|six|seven|eight)\s",
                      text, re.IGNORECASE)
    if match:
        word = match.group(1).lower()
        return int(word) if word.isdigit() else _WORD_COUNT[word]
    return None


_TIME_WORDS = (
    r"(?:\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2})?|"
    r"\d{1,4} ?(?:minutes?|mins?|hours?|hrs?|days?|weeks?|[mhdw]) ago|\d{1,2}(?::\d{2})?\s?(?:am|pm)?|"
    r"(?:next |this |last )?(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?(?:\s(?:at\s)?\d{1,2}(?::\d{2})?\s?(?:am|pm)?)?|"
    r"today|yesterday|tomorrow(?:\s(?:at\s)?\d{1,2}(?::\d{2})?\s?(?:am|pm)?)?|tonight|noon|midnight|eod|end of day|"
    r"this morning|(?:the )?(?:last|past) (?:\d{1,4} )?(?:minutes?|hours?|days?|weeks?)|"
    r"\d{1,4} ?(?:minutes?|mins?|hours?|hrs?|days?|weeks?|[mhdw]) ago|an? (?:hour|day|week) ago|\d{1,4}[mhdw])"
)
_TIME_AFTER = {
    key: re.compile(rf"\b(?:{words})\s+({_TIME_WORDS})(?![\w:])", re.IGNORECASE)
    for key, words in {
        "since": r"since|from|after|in the|over the|for the|changed",
        "until": r"until|till|til|through|thru|to",
    }.items()
}


def time_after(text: str, kind: str) -> str | None:
    """The canonical time after ``since …`` (``kind="since"``) or ``until …`` (``"until"``)."""
    pattern = _TIME_AFTER[kind]
    for match in pattern.finditer(text):
        try:
            return normalize_time(match.group(1))
        except ValueError:
            continue
    if kind == "since":
        tail = re.search(rf"\b((?:the )?(?:last|past) \d{{0,4}} ?(?:minutes?|hours?|days?|weeks?)|{_TIME_WORDS} ago)\b",
                         text, re.IGNORECASE)
        if tail:
            try:
                return normalize_time(tail.group(1))
            except ValueError:
                return None
    return None

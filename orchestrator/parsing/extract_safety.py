"""Hesitation: words that make a change request not a request to change anything (yet).

A command that is negated ("don't delete ETL_WH"), hypothetical ("should we drop it?",
"what happens if I delete the index"), conditional ("if ETL_WH is idle, suspend it"),
offers alternatives ("suspend ETL_WH or ANALYTICS_WH") or reaches past what it names
("… and everything else", "on all warehouses") is answered with ``clarify`` — the parser
never turns it into a change. Rules read the masked text, so quoted data never triggers them.
"""

from __future__ import annotations

import re

from adapters.registry import all_specs
from orchestrator.parsing import extract as ex
from orchestrator.parsing.extract_lexicon import RESOURCE_NOUNS, verb_hits

__all__ = ["hesitation"]

_NEGATION = re.compile(
    r"\b(?:don'?t|do not|dont|never|no need to|not|doesn'?t|shouldn'?t|mustn'?t|won'?t|refrain from|avoid)\b"
    r"((?:\s+[\w'-]+){1,5})"
)
_HYPOTHETICAL = re.compile(
    r"^(?:should|shall|would|must|ought) (?:we|i|you|someone)\b"
    r"|^(?:maybe|perhaps|possibly)\b|\b(?:maybe|perhaps)\s*\?\s*$"
    r"|^what (?:happens|would happen|if)\b|^(?:is|would) it (?:be )?(?:safe|ok|okay|wise|a good idea|risky|bad)\b"
    r"|^(?:do|does|did) (?:we|i|you) (?:need|have|want) to\b|^(?:any reason|why not)\b"
    r"|^(?:i'?m |i am )?(?:thinking|wondering|considering)(?: about| of| whether| if)?\b"
    r"|^(?:if|when|once|whenever|unless)\b(?! (?:possible|you can|you could|you don'?t mind|you have (?:a|the) (?:sec|second|minute|moment|time))\b)"
    r"|\b(?:only if|if and only if|unless)\b"
)
_QUANTIFIED_TAIL = re.compile(
    r"\b(?:everything|anything|whatever|whichever|all of them|all the rest|the rest|every one|each one|"
    r"all others|and others)\b"
)
_PLURALS = "|".join(sorted({re.escape(n) for n in RESOURCE_NOUNS} | {
    "warehouses", "databases", "indexes", "indices", "collections", "channels", "keys", "projects", "repos",
    "repositories", "instances", "sequences", "webhooks", "hooks", "properties", "pipelines", "captures",
    "materializations", "roles", "tasks", "issues", "domains", "deployments", "configs", "budgets",
}, key=len, reverse=True))
_QUANTIFIED = re.compile(rf"\b(?:all|every|each|any)\b(?:\s+(?!(?:{_PLURALS})\b)[\w'-]+){{0,3}}?\s+(?:{_PLURALS})\b")
_VALUE = re.compile(r"[A-Za-z0-9_./@$:-]+")


def _mutating_verb(text: str) -> bool:
    if re.search(r"\b(?:freeze|unfreeze|thaw|undo|revert|roll ?back|lock|unlock)\b", text):
        return True
    return any(verb_hits(spec.verb, text)[0] >= 1.5 for spec in all_specs() if spec.mutating)


def _alternatives(masked: str, inventory: dict[str, list[str]]) -> list[str]:
    """Two values offered as alternatives ("ETL_WH or ANALYTICS_WH", "large or x-large")."""
    known = {n.lower() for names in inventory.values() for n in names}
    for match in re.finditer(r"([\w./@$:-]+)\s+or\s+(?:the\s+|maybe\s+|perhaps\s+)?([\w./@$:-]+)", masked):
        pair = [match.group(1), match.group(2)]

        def value_like(word: str) -> bool:
            return bool(
                word.lower() in known or ex.size(word) == word or ex.emails(word) or ex.owner_repos(word)
                or re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|\$?\d[\d.,]*[km]?|#[\w-]+|@[\w.-]+", word)
            )

        if all(value_like(w) for w in pair):
            return pair
    return []


def hesitation(masked: str, inventory: dict[str, list[str]], *, action: bool) -> tuple[str, list[str]] | None:
    """Why a change request should not be carried out as said, with candidates; None when it is plain.

    ``action`` is whether the request was read as catalog actions (alternatives and quantifiers
    only count there: "undo everything on slack since 14:00" is a plain undo).
    """
    low = masked.lower().strip()
    for match in _NEGATION.finditer(low):
        if _mutating_verb(match.group(1)):
            return "that reads as *not* making a change; say what you want done", []
    if _HYPOTHETICAL.search(low):
        return "that reads as a question or a condition, not a command; say exactly what to change", []
    if not action:
        return None
    if (pair := _alternatives(masked, inventory)):
        return f"which one: {pair[0]} or {pair[1]}?", pair
    if _QUANTIFIED_TAIL.search(low) or _QUANTIFIED.search(low):
        return "that reaches past the names given; list exactly what to change", []
    return None

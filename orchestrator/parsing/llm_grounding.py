"""Is a value the model returned actually in the user's words? ("never invent a value")

A small model under constrained decoding fills every slot it is offered: a size nobody
asked for, a stage label, a platform for a bare "status". These checks keep only what the
request grounds: the value appears in the text, or some short phrase of the text
normalises to it through the same params model (``"5 minutes"`` → ``300``, ``"x-small"`` →
``XSMALL``, ``"$200"`` → ``200.0``), or — for one-word values — a word of the text is its
stem (``deal`` → ``deals``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from adapters.catalog import ActionSpec
from adapters.specs._fields import normalize_time

__all__ = ["grounded_param", "grounded_text", "grounded_time", "phrases"]

_TOKEN = re.compile(r"[^\s,;]+")
_EDGE = "\"'`()[]{}<>.!?:"


def phrases(text: str, longest: int = 4) -> list[str]:
    """Every run of 1 to ``longest`` words of ``text`` (punctuation at the edges trimmed)."""
    tokens = [t.strip(_EDGE) for t in _TOKEN.findall(text)]
    tokens = [t for t in tokens if t]
    out: list[str] = []
    for size in range(1, longest + 1):
        out.extend(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))
    return out


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= 3}


def grounded_text(value: str, text: str) -> bool:
    """``value`` appears in ``text`` (case-insensitive), or is one word whose stem the text has."""
    low_value, low = value.strip().lower(), text.lower()
    if not low_value:
        return False
    if low_value in low:
        return True
    if re.fullmatch(r"[a-z0-9]+", low_value):
        return any(low_value.startswith(w) or w.startswith(low_value) for w in _words(text))
    return False


def _number_in(value: float, text: str) -> bool:
    forms = {f"{value:g}", str(int(value))} if float(value).is_integer() else {f"{value:g}", str(value)}
    return any(re.search(rf"(?<![\d.]){re.escape(f)}(?![\d])", text) for f in forms)


def grounded_param(spec: ActionSpec, name: str, clean: Mapping[str, Any], text: str) -> bool:
    """Whether the validated value of param ``name`` is grounded in ``text`` (see module doc).

    Booleans and objects are not checked (a flag is said in too many ways; objects are
    built from several phrases).
    """
    value = clean.get(name)
    if value is None or isinstance(value, bool | dict):
        return True
    if isinstance(value, list):
        return all(isinstance(v, bool | dict) or grounded_text(str(v), text) for v in value) or _by_phrase(
            spec, name, clean, text
        )
    if isinstance(value, int | float) and _number_in(float(value), text):
        return True
    if isinstance(value, str) and grounded_text(value, text):
        return True
    return _by_phrase(spec, name, clean, text)


def _by_phrase(spec: ActionSpec, name: str, clean: Mapping[str, Any], text: str) -> bool:
    want = clean.get(name)
    for phrase in phrases(text):
        try:
            got = spec.params.model_validate({**clean, name: phrase}).model_dump(mode="json")[name]
        except (ValidationError, ValueError, TypeError):
            continue
        if got == want:
            return True
    return False


def grounded_time(value: str, text: str) -> bool:
    """A canonical time (``17:00``, ``monday``, ``2h``) that some phrase of the text normalises to."""
    for phrase in phrases(text, longest=3):
        try:
            if normalize_time(phrase) == value:
                return True
        except ValueError:
            continue
    return False

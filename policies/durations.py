"""Durations as packs and commands write them: ``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``."""

from __future__ import annotations

import re

__all__ = ["parse_duration"]

_PART = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> int:
    """Seconds in ``value``: an int (seconds) or a string like ``"1h30m"``.

    Raises:
        ValueError: for anything else, negative or zero included.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")  # noqa: TRY004 — pydantic validators need ValueError
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if text.isdigit():
            seconds = int(text)
        elif text and _PART.sub("", text) == "":
            seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text))
        else:
            raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 15m, 2h, 1d)")
    else:
        raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 15m, 2h, 1d)")  # noqa: TRY004 — as above
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return seconds

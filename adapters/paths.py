"""Safe request paths: every HTTP adapter builds its paths here, from a template and segments.

Targets and params come from command text and LLM output, and ids from vendor answers: all
untrusted. Formatted into a path by hand, ``acme/..`` as a GitHub team turns
``DELETE /orgs/acme/teams/../memberships/mona`` into ``DELETE /orgs/acme/memberships/mona``
(httpx, like every server, resolves dot segments): the user leaves the whole organisation.

:func:`api_path` fills a literal template (``"/orgs/{org}/teams/{team}/memberships/{user}"``,
the vendor document's own spelling) with values, each checked by :func:`segment` and
percent-quoted with ``quote(value, safe="")``, so a value is always exactly one path segment.

Refusal rules (:class:`~orchestrator.errors.ValidationFailedError` naming the field, before
anything is sent). A segment is refused when it

* is empty, ``.`` or ``..``;
* contains ``/``, ``\\``, ``?``, ``#`` or ``%`` (``%`` so that pre-encoded dot segments such as
  ``%2e%2e`` or ``.%2E`` and double encodings never reach a server that decodes before it
  normalises);
* contains a control or format character (Unicode categories Cc, Cf, Zl, Zp: CR, LF, NUL,
  DEL, zero-width and bidi controls, line separators);
* contains a Unicode look-alike of a dot or a separator: anything whose NFKC form holds one of
  the characters above (U+FF0F FULLWIDTH SOLIDUS → ``/``, U+FF0E → ``.``, U+FE68 → ``\\``), whose
  NFKC form is a dot segment (U+2024 ONE DOT LEADER, U+2025 TWO DOT LEADER), or one of the
  slashes NFKC leaves alone (U+2215 DIVISION SLASH, U+2044 FRACTION SLASH, U+29F8/U+29F9,
  U+2216 SET MINUS). Quoted, these would be harmless bytes to an RFC 3986 server, but some
  stacks fold compatibility characters after decoding; no vendor name we send needs them, so
  refusing is the simpler guarantee. Other non-ASCII text (``café``) is quoted as UTF-8;
* is longer than :data:`MAX_SEGMENT` (512) characters. The longest names these vendors accept
  are 255 characters (Snowflake identifiers, git branch names, DNS names 253); 512 leaves room
  for quoting (``"…"``) while a fully encoded segment (≤ 512 × 12 bytes = 6 KB) still fits the
  8 KB request line of common proxies, so a 10 kB string is refused here, not by a proxy as 414.

A field listed in ``slashes`` (GitHub branch names such as ``release/1.0``) may contain ``/``:
each ``/``-separated part must pass every rule above, and the slashes are sent encoded
(``%2F``), so the value stays one segment and can't climb even on a server that decodes
``%2F`` before routing.

:func:`check_path` is the last line: :class:`~adapters.http.PlatformClient` refuses any path
that is not a plain absolute path of clean segments, whoever built it.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Collection
from typing import Any
from urllib.parse import quote, unquote

from orchestrator.errors import ValidationFailedError

__all__ = ["MAX_SEGMENT", "api_path", "check_path", "segment"]

#: Longest segment accepted, in characters (see the module doc for why 512).
MAX_SEGMENT = 512

_FORBIDDEN = frozenset("/\\?#%")
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
#: Slash look-alikes NFKC does not fold.
_SLASH_LOOKALIKES = frozenset("\u2215\u2044\u29f8\u29f9\u2216\u29f5")
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: RFC 3986 pchar: unreserved, pct-encoded, sub-delims, ":" and "@".
_PCHAR = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*")
_HINT = "use the name exactly as the platform shows it (no '/', '\\', '?', '#', '%', '.' or '..' parts)"


def _refuse(field: str, value: str, why: str) -> ValidationFailedError:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return ValidationFailedError(
        f"{field}: {shown!r} can't be used in a request path: {why}",
        hint=f"check the {field}; {_HINT}",
        details={"field": field, "reason": why},
    )


def _problem(part: str) -> str | None:
    """Why ``part`` (one would-be segment) is refused, or None."""
    if part in ("", ".", ".."):
        return "it is empty" if not part else f"{part!r} is a dot segment"
    for char in part:
        if char in _FORBIDDEN:
            return f"it contains {char!r}"
        if unicodedata.category(char) in _BAD_CATEGORIES:
            return f"it contains the control character U+{ord(char):04X}"
        if char in _SLASH_LOOKALIKES:
            return f"it contains U+{ord(char):04X}, a look-alike of '/'"
    folded = unicodedata.normalize("NFKC", part)
    if folded != part:
        if folded.strip(".") == "":
            return "it is a look-alike of a dot segment"
        if found := next((c for c in folded if c in _FORBIDDEN or c in _SLASH_LOOKALIKES), None):
            return f"it contains a look-alike of {found!r}"
    return None


def segment(value: Any, field: str, *, slashes: bool = False) -> str:
    """``value`` checked and percent-quoted as exactly one path segment.

    Args:
        value: a string or an int (ids); bools, None and other types are refused.
        field: the name shown in the error (``target``, ``user``, ``hook_id``).
        slashes: allow ``/`` between parts that each pass the rules; sent as ``%2F``.

    Raises:
        ValidationFailedError: naming ``field`` and why (see the module doc for the rules).
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _refuse(field, repr(value), f"expected text, got {type(value).__name__}")
    text = str(value)
    if len(text) > MAX_SEGMENT:
        raise _refuse(field, text, f"it is {len(text)} characters long (at most {MAX_SEGMENT})")
    for part in text.split("/") if slashes else [text]:
        why = _problem(part)
        if why is not None:
            raise _refuse(field, text, why)
    return quote(text, safe="")


def api_path(template: str, /, *, slashes: Collection[str] = (), **values: Any) -> str:
    """The path ``template`` names, each ``{field}`` filled with :func:`segment` of its value.

    ``template`` is a literal written in the adapter (``"/repos/{owner}/{repo}/hooks/{hook_id}"``,
    ``"/api/v2/warehouses/{name}:suspend"``), never built from input; every field must be given
    and every value used. Query parameters go in the request's ``params``, never here.

    Raises:
        ValidationFailedError: a value is not a safe segment (the field is named).
        TypeError: the template and the values disagree (a programming error).
    """
    fields = _FIELD.findall(template)
    if set(fields) != set(values) or len(fields) != len(set(fields)):
        raise TypeError(f"api_path({template!r}): fields {sorted(fields)} but values for {sorted(values)}")
    path = _FIELD.sub(
        lambda m: segment(values[m.group(1)], m.group(1), slashes=m.group(1) in slashes), template
    )
    check_path(path)
    return path


def check_path(path: str) -> None:
    """Refuse a request path that is not ``/`` + clean segments (every client call passes here).

    Clean: RFC 3986 path characters only (so no ``?``, ``#``, ``\\``, spaces or control
    characters), no empty segment, and no segment that decodes, once or repeatedly, to a dot
    segment or to ``/``-separated parts one of which is.

    Raises:
        ValidationFailedError: naming the path and the bad segment.
    """
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise _refuse("path", str(path), "a request path must start with a single '/'")
    if path == "/":
        return
    for raw in path[1:].split("/"):
        why = None
        if not raw:
            why = "it has an empty segment"
        elif not _PCHAR.fullmatch(raw):
            bad = next((c for c in raw if c != "%" and c not in _PATH_SAFE), "%")
            why = f"segment {raw[:40]!r} holds {bad!r}, which must be quoted"
        else:
            decoded = raw
            for _ in range(3):
                decoded = unquote(decoded)
                if any(part in (".", "..") for part in re.split(r"[/\\]", decoded)):
                    why = f"segment {raw[:40]!r} decodes to a dot segment"
                    break
        if why is not None:
            raise _refuse("path", path, why)


_PATH_SAFE = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@")

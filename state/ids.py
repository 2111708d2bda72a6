"""Ids as people paste them, settled against the store: ``r-91bc`` → ``run_91bc…`` when exactly one run matches.

The parser accepts ids in loose shapes (``run_5d17aa``, ``r-91bc``, ``RUN-9A8B7C``, "change 77",
``chg-01jf…``); which record one names is decided here, by the rows that exist, never by a regex
alone: an exact id wins, else a unique id starting with the prefix plus the fragment. No match or
several matches raise :class:`NotFoundError` saying which, and what to type instead.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from orchestrator.errors import NotFoundError

__all__ = ["resolve_id"]

#: How many candidates an ambiguous fragment lists.
_SHOWN = 5


#: What people put before the hex part of an id, longest first.
_LEADS = {
    "run": ("run_", "run-", "run", "r-", "r_"),
    "chg": ("change_", "change-", "change", "chg_", "chg-", "chg", "c-", "c_"),
}


def _fragment(token: str, prefix: str) -> str | None:
    text = token.strip().strip("`'\"#<>").lower()
    for lead in _LEADS[prefix]:
        if text.startswith(lead):
            text = text[len(lead):]
            break
    return text if re.fullmatch(r"[0-9a-f]{2,32}", text) else None


def resolve_id(session: Session, model: Any, prefix: str, token: str, *, noun: str, hint: str) -> str:
    """The one ``model`` id that ``token`` names (``prefix`` is ``run`` or ``chg``).

    Raises:
        NotFoundError: no row matches, or several do (they are listed).
    """
    if session.get(model, token) is not None:
        return token
    fragment = _fragment(token, prefix)
    if fragment is None:
        raise NotFoundError(f"no {noun} {token}", hint=hint)
    found = list(session.exec(select(model.id).where(col(model.id).startswith(f"{prefix}_{fragment}"))
                              .order_by(col(model.id)).limit(_SHOWN + 1)))
    if len(found) == 1:
        return str(found[0])
    if not found:
        raise NotFoundError(f"no {noun} {token}", hint=hint)
    shown = ", ".join(found[:_SHOWN]) + (", …" if len(found) > _SHOWN else "")
    raise NotFoundError(f"{noun} id {token} matches several: {shown}", hint=f"give more of the id; {hint}")

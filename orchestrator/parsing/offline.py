"""Offline parser (foundation version): catalog examples plus a few extractors.

Handles the pgvector actions and the built-ins status, history, undo, approve, reject and
help. Anything else answers ``clarify`` with the closest catalog actions.
"""

from __future__ import annotations

import difflib
import re

from pydantic import ValidationError

from adapters.catalog import format_validation_error
from adapters.registry import all_specs, catalog_platforms, spec_for
from orchestrator.state import Intent, ParsedCommand

__all__ = ["OfflineParser"]

CHANGE_ID = re.compile(r"\bchg_[0-9a-f]{12}\b")
RUN_ID = re.compile(r"\brun_[0-9a-f]{12}\b")
NAME = r"[\"']?([A-Za-z0-9][A-Za-z0-9_-]*)[\"']?"


class OfflineParser:
    """Rule- and catalog-driven parser; deterministic and fast."""

    name = "offline"

    def parse(self, text: str, inventory: dict[str, list[str]] | None = None) -> ParsedCommand:
        """Parse one command; never raises."""
        raw = (text or "").strip()[:2000]
        low = raw.lower()
        if not low:
            return ParsedCommand(intent=Intent.CLARIFY, message="the command is empty: say what to do")
        platform = next((p for p in catalog_platforms() if re.search(rf"\b{p}\b", low)), None)
        if re.match(r"^(help|\?|what can you do)", low):
            return ParsedCommand(intent=Intent.HELP, topic=platform)
        if m := re.match(r"^(approve|reject)\b", low):
            run = RUN_ID.search(low)
            if not run:
                return ParsedCommand(intent=Intent.CLARIFY, message=f"which run should I {m.group(1)}? give its run id")
            return ParsedCommand(intent=Intent(m.group(1)), run_id=run.group(0))
        if re.match(r"^(undo|revert|roll ?back)\b", low):
            if cid := CHANGE_ID.search(low):
                return ParsedCommand(intent=Intent.UNDO, change_id=cid.group(0))
            since = re.search(r"since\s+(.+)$", low)
            return ParsedCommand(intent=Intent.UNDO, platform=platform, since=since.group(1) if since else None)
        if re.match(r"^(status|health)\b", low) or re.search(r"\bhow (is|are)\b.*\bdoing\b", low):
            return ParsedCommand(intent=Intent.STATUS, platform=platform)
        if re.match(r"^(history|what changed|show (the )?changes|changes)\b", low):
            return ParsedCommand(intent=Intent.HISTORY, platform=platform)
        return self._action(raw, low)

    def _action(self, raw: str, low: str) -> ParsedCommand:
        target: str | None
        if "index" in low or "pgvector" in low:
            named = re.search(rf"index(?:\s+(?:called|named))?\s+{NAME}", raw, re.IGNORECASE)
            target = named.group(1) if named else None
            if target and target.lower() in {"called", "named", "with"}:
                target = None
            if re.search(r"\b(delete|drop|remove|destroy)\b", low):
                return self._call("pgvector.index.delete", target, {})
            if re.search(r"\b(create|make|new|add|provision)\b", low):
                params: dict[str, object] = {}
                if dim := re.search(r"(-?\d+)\s*(?:-\s*)?(?:dimensions?|dims?|d\b)", low) or re.search(
                    r"dimension(?:s)?\s*(?:of|=|:)?\s*(-?\d+)", low
                ):
                    params["dimension"] = int(dim.group(1))
                if metric := re.search(r"\b(cosine|l2|euclidean|inner[ _-]product|dot(?: product)?|ip)\b", low):
                    params["metric"] = metric.group(1)
                return self._call("pgvector.index.create", target, params)
            if re.search(r"\b(configure|tune|set|change)\b", low):
                params = {}
                if m := re.search(r"\bm\s*(?:=|to|:)?\s*(\d+)", low):
                    params["m"] = int(m.group(1))
                if ef := re.search(r"ef[ _]?construction\s*(?:=|to|:)?\s*(\d+)", low):
                    params["ef_construction"] = int(ef.group(1))
                return self._call("pgvector.index.configure", target, params)
        return self._not_understood(low)

    def _call(self, action_id: str, target: str | None, params: dict[str, object]) -> ParsedCommand:
        spec = spec_for(action_id)
        if not target:
            return ParsedCommand(intent=Intent.CLARIFY, message=f"which {spec.target} should {action_id} act on?")
        try:
            call = spec.call(target, params)
        except ValidationError as err:
            missing = [str(e["loc"][0]) for e in err.errors() if e["type"] == "missing"]
            if missing:
                return ParsedCommand(
                    intent=Intent.CLARIFY,
                    message=f"{action_id} needs {', '.join(missing)}: say the value",
                    candidates=[action_id],
                )
            return ParsedCommand(
                intent=Intent.CLARIFY, message=format_validation_error(action_id, err), candidates=[action_id],
                errors=[{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in err.errors()],
            )
        return ParsedCommand(intent=Intent.ACTION, actions=[call], confidence=0.9)

    def _not_understood(self, low: str) -> ParsedCommand:
        scored = []
        for spec in all_specs():
            best = max((difflib.SequenceMatcher(None, low, ex.lower()).ratio() for ex in spec.examples), default=0)
            scored.append((best, spec.id))
        scored.sort(reverse=True)
        closest = [sid for _score, sid in scored[:3]]
        return ParsedCommand(
            intent=Intent.CLARIFY,
            message="didn't understand that command",
            candidates=closest,
            confidence=0.0,
        )

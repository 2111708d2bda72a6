"""Hybrid parser: the offline parser when it is confident, the LLM otherwise.

The offline parser always runs first (it is fast and free). Its answer stands when

* it refuses (a smuggled instruction or an out-of-scope request is never handed to a model
  that might be talked into it), or
* it is confident (``confidence >= threshold``). On the offline parser's scale, below 0.5
  means "didn't understand" (0.1) or "not sure which action / which platform" (0.3); from
  0.5 up it has decided: an action (0.55 + 0.1 × its margin over the runner-up), a built-in,
  or a deliberate question (a missing param or an ambiguous target, 0.6-0.7) that a model
  can't answer either, because the user did not say it.

Otherwise the LLM parser answers; its answer passes the same catalog validation and safety
net as always, and a *change* it proposes must also be one the offline parser had among its
candidates (:meth:`HybridParser.consensus`), or it becomes a ``clarify`` naming the proposal. If the model is unreachable, the offline answer is used
when it is safe on its own (anything but a low-confidence change); a low-confidence change
becomes a ``clarify`` naming what the offline parser guessed. ``ParsedCommand.parser`` says
which parser decided (``offline`` or ``llm``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.config import Settings, get_settings
from orchestrator.parsing.llm import LLMParser, LLMUnavailableError, ParseUsage
from orchestrator.parsing.llm_context import mentioned_platforms
from orchestrator.state import MUTATING_INTENTS, Intent, ParsedCommand

__all__ = ["DEFAULT_THRESHOLD", "HybridParser"]

#: Offline answers at or above this confidence are final (set a priori from the offline
#: parser's confidence scale, not tuned on a held-out split; see the module docstring).
DEFAULT_THRESHOLD = 0.5


class HybridParser:
    """Offline first, the LLM when offline is unsure; see the module docstring.

    Args:
        settings: where the model is (defaults to :func:`get_settings`).
        offline: the offline parser (``OfflineParser()`` when None).
        llm: the LLM parser (built from settings when None, on first use).
        threshold: the offline confidence at which the LLM is skipped.
    """

    name = "hybrid"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        offline: Any | None = None,
        llm: LLMParser | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.settings = settings or get_settings()
        if offline is None:
            from orchestrator.parsing.offline import OfflineParser

            offline = OfflineParser()
        self.offline = offline
        self._llm = llm
        self.threshold = threshold
        self.last_usage: ParseUsage | None = None

    @property
    def llm(self) -> LLMParser:
        """The LLM parser (built on first use, so an offline-only answer never imports LangChain)."""
        if self._llm is None:
            self._llm = LLMParser(self.settings)
        return self._llm

    def parse(self, text: str, inventory: Mapping[str, Sequence[str]] | None = None) -> ParsedCommand:
        """Parse one command (see the module docstring for who decides).

        Raises:
            ConfigError: the model endpoint refused the key or doesn't know the model.
        """
        self.last_usage = None
        inv = {k: list(v) for k, v in (inventory or {}).items()}
        first = self.offline.parse(text, inv).model_copy(update={"parser": "offline"})
        if self.offline_decides(first):
            return first
        try:
            answer = self.llm.parse(text, inv)
        except LLMUnavailableError as exc:
            return self._fallback(first, exc)
        finally:
            if self._llm is not None:
                self.last_usage = self._llm.last_usage
        return self.consensus(first, answer.model_copy(update={"parser": "llm"}), text, inv)

    def consensus(
        self, first: ParsedCommand, answer: ParsedCommand, text: str, inventory: Mapping[str, Sequence[str]]
    ) -> ParsedCommand:
        """A change the model proposes stands only if the rules had it among their candidates.

        The model is asked only when the offline parser was unsure; a change it proposes is
        kept when every action is one the offline parser itself proposed or ranked as a candidate and,
        if those candidates span several platforms, the request names (or the inventory
        places) the platform chosen. Otherwise the proposal becomes a question: clarify
        rather than a guess. Answers that change nothing pass as they are.
        """
        if answer.intent is not Intent.ACTION:
            return answer
        offered = set(first.candidates) | {a.action for a in first.actions}
        proposed = [a.action for a in answer.actions]
        agreed = all(action in offered for action in proposed)
        if agreed and len({c.split(".", 1)[0] for c in offered}) > 1:
            placed = set(mentioned_platforms(text)) | {
                key.split(".", 1)[0] for key, names in inventory.items()
                for a in answer.actions if a.target and a.target in names
            }
            agreed = all(action.split(".", 1)[0] in placed for action in proposed)
        if agreed:
            return answer
        guess = "; ".join(f"{a.action} {a.target or ''}".strip() for a in answer.actions)
        return ParsedCommand(
            intent=Intent.CLARIFY,
            message=f"not sure what you meant; did you mean: {guess}?",
            candidates=list(dict.fromkeys([*proposed, *first.candidates])),
            parser="llm",
            confidence=0.4,
        )

    def offline_decides(self, parsed: ParsedCommand) -> bool:
        """Whether the offline answer is final (a refusal, or confident)."""
        return parsed.intent is Intent.REFUSE or parsed.confidence >= self.threshold

    def _fallback(self, first: ParsedCommand, exc: LLMUnavailableError) -> ParsedCommand:
        if first.intent not in MUTATING_INTENTS or first.intent is Intent.UNDO and first.change_id:
            return first
        guess = ", ".join(f"{a.action} {a.target or ''}".strip() for a in first.actions)
        return ParsedCommand(
            intent=Intent.CLARIFY,
            message=f"the model is unavailable ({exc.code}) and I'm not sure what you meant"
            + (f"; did you mean: {guess}?" if guess else "; rephrase it more plainly"),
            candidates=[a.action for a in first.actions],
            parser="offline",
            confidence=first.confidence,
        )

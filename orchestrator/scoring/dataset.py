"""The eval dataset format (DESIGN.md): one JSON case a line, ``{"id", "text", "inventory"?, "expect"}``.

``expect`` has the shape of :meth:`ParsedCommand.expect_shape`: an intent plus only the fields
that matter for it; for ``action`` an ordered list of ``{action, target, params}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orchestrator.state import Intent

__all__ = ["Case", "DatasetError", "load_cases"]


class DatasetError(ValueError):
    """A dataset line that is not a valid case (names the file and line)."""


class Case(BaseModel):
    """One eval case."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    text: str
    inventory: dict[str, list[str]] = Field(default_factory=dict)
    expect: dict[str, Any]

    @field_validator("expect")
    @classmethod
    def _intent(cls, value: dict[str, Any]) -> dict[str, Any]:
        Intent(str(value.get("intent")))  # raises ValueError for an unknown intent
        return value

    @property
    def intent(self) -> str:
        """The expected intent."""
        return str(self.expect["intent"])


def load_cases(path: str | Path) -> list[Case]:
    """Read a JSONL dataset; blank lines and ``//`` comment lines are skipped.

    Raises:
        DatasetError: for a line that is not JSON or not a case, or a repeated id.
    """
    cases: list[Case] = []
    seen: set[str] = set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            case = Case.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValueError) as exc:
            raise DatasetError(f"{path}:{number}: not a valid case: {exc}") from exc
        if case.id in seen:
            raise DatasetError(f"{path}:{number}: duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases

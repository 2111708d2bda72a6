"""The suite's closing word on contract tests: how many ran, and every one that was skipped.

A contract test that skips looks like a pass in an exit status of 0, so the session ends with a
banner that can't be missed whenever one did: the count, and each reason with how many tests it
stopped. A contract test is one under ``tests/contract/``, or any test whose skip reason starts
with :data:`~tests.contract.provision.SKIP_TAG` (Linear's adapter tests, the Slack surfaces).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .provision import SKIP_TAG, known_outcome

__all__ = ["ContractTally", "tally", "write_summary"]

CONTRACT_DIR = "tests/contract/"
#: The banner's title (``.ci/run`` fails on any ``SKIPPED`` line but the pulumi CLI's and the
#: unclear-licence documents' cross-checks anyway).
BANNER = "CONTRACT TESTS SKIPPED"


@dataclass
class ContractTally:
    """Contract tests seen this session: how many ran, and the skipped ones' reasons."""

    ran: int
    skipped: Counter[str]

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])
    else:
        text = str(longrepr)
    return text.removeprefix("Skipped: ").strip()


def tally(stats: dict[str, list[Any]]) -> ContractTally:
    """Count a terminal reporter's ``stats`` (reports by outcome) for contract tests."""
    skipped: dict[str, str] = {}
    for report in stats.get("skipped", []):
        reason = _reason(report)
        nodeid = getattr(report, "nodeid", "")
        if nodeid.startswith(CONTRACT_DIR) or reason.startswith(SKIP_TAG):
            skipped[nodeid] = reason
    ran: set[str] = set()
    for outcome in ("passed", "failed", "error", "xfailed", "xpassed"):
        for report in stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if nodeid.startswith(CONTRACT_DIR) and nodeid not in skipped:
                ran.add(nodeid)
    return ContractTally(ran=len(ran), skipped=Counter(skipped.values()))


def summary_lines(result: ContractTally) -> Iterable[str]:
    """The lines under the banner: one per reason, most frequent first."""
    for reason, count in result.skipped.most_common():
        yield f"{count:>5}  {reason}"
    yield (
        "These tests check the adapters against the vendors' own API documents; a green run"
        " that skipped them says nothing about those contracts."
    )


def write_summary(terminal: Any) -> None:
    """Write the contract summary on pytest's terminal reporter (called by the root conftest)."""
    result = tally(terminal.stats)
    if result.ran == 0 and result.skipped_count == 0:
        return
    outcome = known_outcome()
    if outcome is not None and outcome.installed_in is not None:
        terminal.write_line(
            f"contract servers: Prism installed this session by `npm ci` in tests/contracts/prism"
            f" ({outcome.installed_in:.0f} s; reused from now on)"
        )
    if result.skipped_count == 0:
        terminal.write_line(f"contract tests: {result.ran} ran, none skipped", green=True)
        return
    title = f"{result.skipped_count} {BANNER} ({result.ran} ran)"
    terminal.write_sep("!", title, red=True, bold=True)
    for line in summary_lines(result):
        terminal.write_line(line, red=True, bold=True)
    terminal.write_sep("!", title, red=True, bold=True)


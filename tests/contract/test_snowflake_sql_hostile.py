"""Hostile names never change what a Snowflake SQL statement does.

User and resource-monitor statements can't bind identifiers, so they name them in the text.
For every SQL action, Hypothesis puts a hostile string (quote breaks, ``;`` chains, comments,
``'`` breaks, backslashes, control characters, look-alikes, 10 kB strings, and the path-escape
set of :mod:`.hostile_support`) into the target or a string param, and a recording transport
answers every request ``200 {}``. Every statement that reaches the transport must be one of
the fixed templates below with each identifier a double-quoted strict name (letters, digits,
space, ``_``, ``$``, ``-``: nothing that can end the quotes); anything else must have been
refused as :class:`~orchestrator.errors.ValidationFailedError`. Free text (the email) travels
only as a bind variable, never in the statement.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.catalog import ActionCall
from adapters.data.snowflake import SnowflakeAdapter, quoted, strict_name
from adapters.http import reset_breakers
from orchestrator.errors import ValidationFailedError

from .hostile_support import BENIGN, NASTY, Recorder

_ID = r'"[A-Za-z0-9_$ -]{1,255}"'
#: Every statement is one of these constants: names (and quotas) travel only as bind variables.
TEMPLATES = [
    re.compile(p)
    for p in (
        r"DESCRIBE USER IDENTIFIER\(\?\)",
        r"CREATE USER IDENTIFIER\(\?\)( EMAIL = \?)?( DEFAULT_ROLE = \?)?",
        r"DROP USER IDENTIFIER\(\?\)",
        r"ALTER USER IDENTIFIER\(\?\) SET DISABLED = (TRUE|FALSE)",
        r"SHOW RESOURCE MONITORS LIKE \?",
        (
            r"CREATE RESOURCE MONITOR IDENTIFIER\(\?\) WITH CREDIT_QUOTA = \? FREQUENCY = (MONTHLY|DAILY|WEEKLY|YEARLY|NEVER)"
            r" START_TIMESTAMP = IMMEDIATELY TRIGGERS ON 100 PERCENT DO SUSPEND"
        ),
        r"ALTER WAREHOUSE IDENTIFIER\(\?\) SET RESOURCE_MONITOR = IDENTIFIER\(\?\)",
        r"ALTER RESOURCE MONITOR IDENTIFIER\(\?\) SET CREDIT_QUOTA = \?",
        r"DROP RESOURCE MONITOR IDENTIFIER\(\?\)",
    )
]
SQL_ACTIONS = sorted(a for a in BENIGN if a.startswith(("snowflake.user.", "snowflake.resource_monitor.")))
INJECTIONS = (
    'x"; DROP DATABASE PROD; --',
    'JDOE" SET DISABLED = FALSE --',
    '"JDOE"; DROP USER "ADMIN"',
    "ADMIN'; DROP USER ADMIN; --",
    "A' OR '1'='1",
    "ETL_WH /* c */",
    "ETL_WH -- c",
    'a""b',
    '"a""b"',
    '"',
    '""',
    "a\\b",
    "a;b",
    "a.b",
    "JDOE\n; DROP USER X",
    "ＪＤＯＥ",
    "J\u200bDOE",
    "?",
    "$1",
    "x" * 300,
)
HOSTILE = st.one_of(
    st.sampled_from(INJECTIONS + NASTY),
    st.builds(
        lambda a, b: a + b, st.sampled_from(["", "JDOE", '"ok', "ETL_WH"]), st.sampled_from(INJECTIONS)
    ),
    st.text(alphabet="\"';-/*\\ ?$_aZ09\r\n\x00", max_size=16),
)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SOPHIA_SNOWFLAKE_BASE_URL", "http://snowflake.hostile.test/base")
    monkeypatch.setenv("SOPHIA_SNOWFLAKE_TOKEN", "tok-snowflake-0123456789abcdef")
    monkeypatch.delenv("SOPHIA_SNOWFLAKE_ROLE", raising=False)
    reset_breakers()
    yield
    reset_breakers()


async def _no_sleep(seconds: float) -> None:
    return None


def _statements(recorder: Recorder) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in recorder.requests if r.url.path.endswith("/api/v2/statements")]


def _slots(action: str) -> list[str]:
    return ["target", *(f"param:{k}" for k, v in BENIGN[action][1].items() if isinstance(v, str))]


@pytest.mark.parametrize("action", SQL_ACTIONS)
def test_hostile_names_never_reach_a_statement_unquoted(action: str) -> None:
    loop = asyncio.new_event_loop()
    tally = {"sent": 0, "refused": 0}

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(slot=st.sampled_from(_slots(action)), value=HOSTILE)
    def check(slot: str, value: str) -> None:
        target, params = BENIGN[action]
        params = dict(params)
        if slot == "target":
            target = value
        else:
            params[slot.partition(":")[2]] = value
        recorder = Recorder()
        adapter = SnowflakeAdapter(transport=recorder, sleep=_no_sleep)
        call = ActionCall(action=action, target=target, params=params)
        for step in (
            lambda: adapter.observe(call),
            lambda: adapter.execute(call, {"name": "x", "disabled": False}),
        ):
            try:
                loop.run_until_complete(step())
            except ValidationFailedError:
                tally["refused"] += 1
            except Exception:  # noqa: BLE001, S110 - canned {} answers fail reads in many ways; the oracle is what was sent
                pass
        for body in _statements(recorder):
            tally["sent"] += 1
            statement = body["statement"]
            assert any(t.fullmatch(statement) for t in TEMPLATES), (
                f"{slot}={value[:40]!r} sent {statement[:200]!r}"
            )
            for bound in (body.get("bindings") or {}).values():  # an identifier bound is strict and quoted
                if bound["type"] == "TEXT" and statement.count("IDENTIFIER(?)") and bound["value"].startswith('"'):
                    assert re.fullmatch(_ID, bound["value"]), f"{slot}={value[:40]!r} bound {bound['value'][:80]!r}"

    try:
        check()
    finally:
        loop.close()
    assert tally["refused"] >= 1, "hostile names were tried and some refused"


@pytest.mark.parametrize("name", INJECTIONS[:12])
def test_injection_names_are_refused_before_anything_is_sent(name: str) -> None:
    recorder = Recorder()
    adapter = SnowflakeAdapter(transport=recorder, sleep=_no_sleep)
    for action in SQL_ACTIONS:
        _target, params = BENIGN[action]
        with pytest.raises(ValidationFailedError):
            asyncio.run(adapter.configure(ActionCall(action=action, target=name, params=params)))
    assert recorder.requests == []


def test_quoting_doubles_inner_quotes_and_keeps_case() -> None:
    assert quoted("jdoe") == '"JDOE"'
    assert quoted('"Data Team"') == '"Data Team"'
    assert strict_name('"etl-wh 2"') == "etl-wh 2"
    with pytest.raises(ValidationFailedError):
        quoted('"a""b"')  # a quote inside a quoted name: refused, not escaped into the statement

"""Hostile targets, params and vendor ids never take a request off its operation's path.

Targets come from command text and LLM output; ids from vendor answers. For every action of
every HTTP adapter (its read, ``observe``, and its change, ``execute``), Hypothesis puts a
hostile string (dot segments raw and encoded, slashes, backslashes, ``?``, ``#``, CR/LF, NUL,
Unicode look-alikes, 10 kB strings …) into the target, a part of it, a string param or an id
of the before-state, and a recording transport answers every request ``200 {}``. Each request
that reaches the transport must stay on a path template of the vendor's document that the
adapter uses with benign input (see :mod:`.hostile_support`); anything else must have been
refused as :class:`~orchestrator.errors.ValidationFailedError`.

The figures (examples, requests sent, requests that left, refusals) are in the assertion
message and in ``test_zz_hostile_summary``'s output; set ``HOSTILE_PATHS_REPORT`` to a file
to have them written as JSON too. Slack is not here: slack-sdk posts to fixed method names
(``/api/chat.postMessage``), targets go in the form body, and it does not use the shared client.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.catalog import ActionCall
from adapters.http import HttpAdapter, reset_breakers
from adapters.registry import adapter_class
from orchestrator.errors import ValidationFailedError

from .hostile_support import (
    BASE,
    BEFORE,
    BEFORE_BY_ACTION,
    BEFORE_IDS,
    BENIGN,
    NASTY,
    Recorder,
    Tally,
    learn,
    learnt_ok,
    offending,
)
from .provision import SKIP_TAG, specs_dir

TALLY = Tally()
PER_ACTION = 20
ENV = {
    "SOPHIA_APOLLO_EMAIL_ACCOUNT_ID": "6630ffa2a7f52601c7578345",
    "SOPHIA_ASANA_WORKSPACE": "1200000000000001",
    "SOPHIA_ESTUARY_SUPABASE_KEY": "anon-key",
    "SOPHIA_FIGMA_WEBHOOK_PASSCODE": "figma-passcode",
    "SOPHIA_GITHUB_WEBHOOK_SECRET": "gh-secret",
    "SOPHIA_LAMBDALABS_SSH_KEY": "ops",
    "SOPHIA_PORTKEY_WORKSPACE": "ws-research",
}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    if not specs_dir().is_dir():
        pytest.skip(f"{SKIP_TAG} vendor documents folder {specs_dir()} does not exist (SOPHIA_SPECS_DIR)")
    monkeypatch.setenv("SOPHIA_HOME", str(tmp_path))
    for platform in {a.split(".")[0] for a in BENIGN}:
        monkeypatch.setenv(f"SOPHIA_{platform.upper()}_BASE_URL", f"http://{platform}.hostile.test{BASE}")
        monkeypatch.setenv(f"SOPHIA_{platform.upper()}_TOKEN", f"tok-{platform}-0123456789abcdef")
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    reset_breakers()
    yield
    reset_breakers()


async def _no_sleep(seconds: float) -> None:
    return None


def _adapter(platform: str, recorder: Recorder) -> HttpAdapter:
    adapter = adapter_class(platform)(transport=recorder, sleep=_no_sleep)
    assert isinstance(adapter, HttpAdapter)
    if hasattr(adapter, "settle_timeout"):
        adapter.settle_timeout = 2.0  # type: ignore[attr-defined]
    return adapter


async def _drive(adapter: HttpAdapter, call: ActionCall, before: dict[str, Any]) -> list[BaseException]:
    """observe, then execute; every exception is an outcome (the oracle is what was sent)."""
    errors: list[BaseException] = []
    for step in (lambda: adapter.observe(call), lambda: adapter.execute(call, before)):
        try:
            await step()
        except Exception as exc:  # noqa: BLE001 - canned answers make adapters fail in many ways
            errors.append(exc)
    return errors


def _learn(platform: str, loop: asyncio.AbstractEventLoop) -> None:
    """Run every benign action of ``platform`` once; remember the templates it used."""
    if platform in TALLY.learnt:
        return
    TALLY.learnt[platform] = set()
    for action, (target, params) in BENIGN.items():
        if action.split(".")[0] != platform:
            continue
        recorder = Recorder()
        adapter = _adapter(platform, recorder)
        loop.run_until_complete(
            _drive(adapter, ActionCall(action=action, target=target, params=params),
                   {**BEFORE, **BEFORE_BY_ACTION.get(action, {})})
        )
        unknown = learn(TALLY, platform, recorder.requests)
        assert not unknown, f"benign {action} sent requests its vendor document does not declare: {unknown}"


def _slots(action: str) -> list[str]:
    target, params = BENIGN[action]
    slots = ["target"]
    if "/" in target:
        slots += ["target:first", "target:last"]
    slots += [f"param:{k}" for k, v in params.items() if isinstance(v, str)]
    slots += [f"before:{k}" for k in BEFORE_IDS]
    return slots


def _place(action: str, slot: str, value: str) -> tuple[ActionCall, dict[str, Any]]:
    target, params = BENIGN[action]
    params, before = dict(params), {**BEFORE, **BEFORE_BY_ACTION.get(action, {})}
    kind, _, name = slot.partition(":")
    if kind == "target":
        first, _, last = target.partition("/")
        target = {"": value, "first": f"{value}/{last}", "last": f"{first}/{value}"}[name]
    elif kind == "param":
        params[name] = value
    else:
        before[name] = value
    return ActionCall(action=action, target=target, params=params), before


HOSTILE = st.one_of(
    st.sampled_from(NASTY),
    st.builds(
        lambda a, n, b: a + n + b,
        st.sampled_from(["", "acme", "web", "x.", "ok-"]),
        st.sampled_from(NASTY),
        st.sampled_from(["", "x", "/web", "..", "/.."]),
    ),
    st.text(alphabet="./\\%?#\r\n\x00\u2024\uff0e\uff0f\u2215aZ09-_~:;@ ", max_size=12),
)


@pytest.mark.parametrize("action", sorted(BENIGN))
def test_hostile_inputs_stay_on_path(action: str) -> None:
    """Every request sent for a hostile call matches its template; otherwise it was refused."""
    platform = action.split(".")[0]
    loop = asyncio.new_event_loop()
    try:
        _learn(platform, loop)
        left: list[str] = []

        @settings(
            max_examples=PER_ACTION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(slot=st.sampled_from(_slots(action)), value=HOSTILE)
        def check(slot: str, value: str) -> None:
            recorder = Recorder()
            call, before = _place(action, slot, value)
            errors = loop.run_until_complete(_drive(_adapter(platform, recorder), call, before))
            TALLY.examples += 1
            TALLY.sent += len(recorder.requests)
            refused = [e for e in errors if isinstance(e, ValidationFailedError)]
            TALLY.refused += bool(refused)
            TALLY.refused_before_sending += bool(refused) and not recorder.requests
            for request in recorder.requests:
                why = _left(platform, request)
                if why:
                    TALLY.left += 1
                    left.append(
                        f"{slot}={value[:40]!r}: {request.method} {request.url.raw_path[:120]!r} ({why})"
                    )

        check()
        TALLY.leaks.extend(left)
        assert not left, f"{action}: {len(left)} request(s) left their path; {TALLY.summary()}\n" + "\n".join(
            left[:10]
        )
    finally:
        loop.close()


def _left(platform: str, request: httpx.Request) -> str | None:
    if request.url.host != f"{platform}.hostile.test":
        return f"sent to {request.url.host}"
    raw = request.url.raw_path.decode("ascii", "replace").split("?", 1)[0]
    if not raw.startswith(BASE + "/"):
        return "outside the base URL"
    path = raw.removeprefix(BASE)
    if not learnt_ok(TALLY, platform, request.method, path):
        return "matches no template this adapter uses"
    return offending(path)


def test_zz_hostile_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """The figures for the report (runs last in this module)."""
    if not TALLY.examples:
        pytest.skip("no hostile example ran (run the whole module)")
    report = {
        "examples": TALLY.examples,
        "requests_sent": TALLY.sent,
        "requests_left_path": TALLY.left,
        "examples_refused": TALLY.refused,
        "refused_before_any_request": TALLY.refused_before_sending,
        "templates_learnt": {p: len(t) for p, t in sorted(TALLY.learnt.items())},
    }
    with capsys.disabled():
        print("\n" + TALLY.summary())
    if out := os.environ.get("HOSTILE_PATHS_REPORT"):
        Path(out).write_text(json.dumps(report, indent=2))
    assert TALLY.left == 0, TALLY.summary()

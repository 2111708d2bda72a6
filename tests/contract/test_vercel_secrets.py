"""A secret env value through the whole pipeline: never stored, still sent, still undoable.

The service runs on SQLite state and SQLite checkpoints under a private ``SOPHIA_HOME``; Vercel
is its published contract served by Prism (every request checked, zero request-side
violations asserted), steered by :class:`~tests.adapters.vercel_double.VercelDouble` (a stand-in
state model: Prism keeps no state and no real Vercel can run here). After each flow every file
under ``SOPHIA_HOME`` (state, checkpoints, their WAL files), every captured log record and the
run views are searched, as bytes, for the secret values: none may hold one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.dev.vercel import VercelAdapter
from adapters.http import reset_breakers
from orchestrator.config import Settings
from orchestrator.secret_params import PLACEHOLDER, SecretInCommandError
from orchestrator.service import OrchestratorService
from orchestrator.state import Request
from tests.adapters.vercel_double import DB_V1, DB_V2, TOKEN, VercelDouble

from .prism import PrismPool, RecordingTransport, assert_no_request_violations

pytestmark = pytest.mark.anyio

SPEC = "vercel-spec.2025-10-27.json"
PRISM_SPECS = [("vercel", SPEC)]

LITERAL = "canary-literal-9f3Qz71xK2"
REFERENCED = "canary-referenced-Hq48LmW02p"
CANARIES = (LITERAL, REFERENCED, DB_V1, DB_V2)


async def _no_wait(seconds: float) -> None:
    return None


def _files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def _leaks(blobs: dict[str, bytes], canaries: tuple[str, ...] = CANARIES) -> list[str]:
    return [f"{name} holds {c!r}" for name, blob in blobs.items() for c in canaries if c.encode() in blob]


class Rig:
    """A started service whose Vercel adapter talks to Prism through the steering double."""

    def __init__(self, home: Path, service: OrchestratorService, double: VercelDouble,
                 transport: RecordingTransport) -> None:
        self.home, self.service, self.double, self.transport = home, service, double, transport

    async def do(self, text: str, actor: str = "cli:alice") -> dict[str, Any]:
        return await self.service.submit(Request(text=text, actor=actor))

    def sent_values(self) -> list[str]:
        """The ``value`` of every env create/edit request that reached Prism."""
        out = []
        for ex in self.transport.exchanges:
            if ex.request.method in ("POST", "PATCH") and "/env" in ex.request.url.path and ex.request.content:
                body = json.loads(ex.request.content)
                if "value" in body:
                    out.append(body["value"])
        return out


@pytest.fixture
async def rig(prism: PrismPool, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    (server,) = prism.serve("vercel", SPEC)
    monkeypatch.setenv("SOPHIA_VERCEL_BASE_URL", server.base_url)
    monkeypatch.setenv("SOPHIA_VERCEL_TOKEN", TOKEN)
    monkeypatch.setenv("SOPHIA_VERCEL_ENV_API_KEY", REFERENCED)
    monkeypatch.setenv("SOPHIA_VERCEL_ENV_DB_V1", DB_V1)
    monkeypatch.setenv("SOPHIA_VERCEL_ENV_DB_V2", DB_V2)
    reset_breakers()
    double = VercelDouble()
    transport = double.steer(RecordingTransport())
    service = OrchestratorService(Settings())
    await service.start()
    # The pool builds adapters from settings; this one gets the recording, steered transport.
    service.deps.adapters._adapters["vercel"] = VercelAdapter(
        service.settings, transport=transport, sleep=_no_wait, promote_wait=0)
    try:
        yield Rig(isolated_env, service, double, transport)
    finally:
        await service.close()
        reset_breakers()
    assert_no_request_violations(transport.exchanges)


async def test_a_typed_secret_is_refused_and_stored_nowhere(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    view = await rig.do(f"set API_KEY to {LITERAL} on the vercel project web")
    assert view["status"] == "failed" and view["error"]["code"] == SecretInCommandError.code
    assert "SOPHIA_VERCEL_ENV_API_KEY" in view["error"]["hint"] and "secret://API_KEY" in view["error"]["hint"]
    assert view["text"] == f"set API_KEY to {PLACEHOLDER} on the vercel project web"
    assert view["parsed"]["actions"][0]["params"]["value"] == PLACEHOLDER
    assert rig.transport.exchanges == [] and rig.double.value("API_KEY", "production") is None
    dry = await rig.service.submit(Request(text=f"set API_KEY={LITERAL} on vercel project web", actor="cli:alice",
                                           dry_run=True))
    assert dry["status"] == "failed" and dry["error"]["code"] == SecretInCommandError.code and dry["plan"] is None
    explained = rig.service.explain(f"set API_KEY to {LITERAL} on the vercel project web", actor="cli:alice")
    assert explained["error"]["code"] == SecretInCommandError.code
    assert explained["steps"][0]["params"]["value"] == PLACEHOLDER
    views = {"view": json.dumps([view, dry, explained, rig.service.runs()]).encode()}
    await rig.service.close()
    files = _files(rig.home)
    assert any(PLACEHOLDER.encode() in blob for blob in files.values()), "the grep reads the run rows"
    assert _leaks(files) == [] and _leaks(views) == []
    assert LITERAL not in caplog.text and all(LITERAL not in r.getMessage() for r in caplog.records)


async def test_a_referenced_secret_is_sent_and_undone_without_being_stored(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    svc = rig.service
    # A new production variable: policy asks for approval; the paused run's checkpoint holds the reference only.
    asked = await rig.do("set API_KEY to secret://API_KEY on the vercel project web")
    assert asked["status"] == "awaiting_approval", asked.get("error")
    assert asked["plan"]["steps"][0]["call"]["params"]["value"] == "secret://API_KEY"
    done = await svc.approve(asked["run_id"], actor="cli:bob")
    assert done["status"] == "applied", done.get("error")
    assert rig.double.value("API_KEY", "production") == REFERENCED, "the adapter sent the resolved value"
    (change,) = done["changes"]
    assert change["params"]["value"] == "secret://API_KEY", "the ledger names the reference"
    assert change["inverse"]["action"] == "vercel.env.unset"
    # Replace a variable set by reference: the inverse restores the old value by its reference.
    asked = await rig.do("set DATABASE_URL to secret://DB_V2 on the vercel project web")
    replaced = await svc.approve(asked["run_id"], actor="cli:bob")
    assert replaced["status"] == "applied", replaced.get("error")
    assert rig.double.value("DATABASE_URL", "production") == DB_V2
    assert replaced["changes"][0]["inverse"]["params"]["value"] == "secret://DB_V1"
    assert rig.sent_values() == [REFERENCED, DB_V2]
    # Undo both, newest first; each undo is itself a change policy wants approved.
    for change_id in (replaced["changes"][0]["id"], change["id"]):
        undo = await svc.undo(change_id=change_id, actor="cli:alice")
        if undo["status"] == "awaiting_approval":
            undo = await svc.approve(undo["run_id"], actor="cli:bob")
        assert undo["status"] == "applied", undo.get("error")
        assert undo["result"]["verified"] == {change_id: True}
    assert rig.double.value("DATABASE_URL", "production") == DB_V1, "restored from secret://DB_V1"
    assert rig.double.value("API_KEY", "production") is None
    assert rig.sent_values() == [REFERENCED, DB_V2, DB_V1]
    assert svc.verify_ledger().ok
    views = {"views": json.dumps([svc.view(r["id"]) for r in svc.runs()] + [svc.history()]).encode()}
    await svc.close()
    files = _files(rig.home)
    assert any(b"secret://API_KEY" in blob for blob in files.values()), "the grep reads runs, ledger, checkpoints"
    assert _leaks(files) == [] and _leaks(views) == []
    for canary in (REFERENCED, DB_V1, DB_V2):
        assert canary not in caplog.text and all(canary not in r.getMessage() for r in caplog.records)


async def test_an_undefined_reference_fails_at_plan_time_naming_the_variable(rig: Rig) -> None:
    view = await rig.do("set OTHER to secret://NOT_DEFINED on the vercel project web")
    assert view["status"] == "failed" and view["plan"] is None
    assert "SOPHIA_VERCEL_ENV_NOT_DEFINED" in view["error"]["hint"]
    assert [e.request.method for e in rig.transport.exchanges] == ["GET"], "only the plan's read"

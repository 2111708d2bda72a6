"""The REST API over a real service: auth by role, the run lifecycle, idempotency, problems, health."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.interfaces.conftest import Api

ROLES = ("viewer", "operator", "approver", "admin")

# (method, path, json body, the least role that may call it)
ENDPOINTS: list[tuple[str, str, Any, str]] = [
    ("GET", "/v1/runs", None, "viewer"),
    ("GET", "/v1/runs/run_missing", None, "viewer"),
    ("GET", "/v1/changes", None, "viewer"),
    ("GET", "/v1/changes/chg_missing", None, "viewer"),
    ("GET", "/v1/actions?platform=pgvector", None, "viewer"),
    ("GET", "/v1/status/no-such-platform", None, "viewer"),
    ("GET", "/v1/drift", None, "viewer"),
    ("POST", "/v1/commands", {"text": "help"}, "operator"),
    ("POST", "/v1/changes/chg_missing/undo", {}, "operator"),
    ("POST", "/v1/drift/drift_missing/revert", None, "operator"),
    ("POST", "/v1/runs/run_missing/approve", {}, "approver"),
    ("POST", "/v1/runs/run_missing/reject", {"comment": "no"}, "approver"),
    ("POST", "/v1/runs/run_missing/request-changes", {"comment": "smaller"}, "approver"),
]


def _is_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status and body["detail"]


def test_auth_and_role_matrix(api: Api) -> None:
    from state.identities import ApiKeys

    revoked_key = api.key("gone", "admin")
    ApiKeys(api.store).revoke(next(k.id for k in ApiKeys(api.store).list() if k.name == "gone"))
    for method, path, body, least in ENDPOINTS:
        anonymous = api.client.request(method, path, json=body)
        _is_problem(anonymous, 401, "unauthorized")
        assert anonymous.headers["www-authenticate"] == "Bearer"
        _is_problem(api.client.request(method, path, json=body, headers={"Authorization": "Bearer sophia_nope"}),
                    401, "unauthorized")
        _is_problem(api.client.request(method, path, json=body, headers={"X-API-Key": revoked_key}), 401,
                    "unauthorized")
        for role in ROLES:
            got = api.client.request(method, path, json=body, headers=api.h(role))
            if ROLES.index(role) < ROLES.index(least):
                _is_problem(got, 403, "forbidden")
            else:
                assert got.status_code not in (401, 403), (method, path, role, got.text)
    # the X-API-Key header works as well as Bearer
    assert api.client.get("/v1/runs", headers={"X-API-Key": api.keys["viewer"]}).status_code == 200
    assert api.runs() and all(r.actor in ("api:operator", "api:approver", "api:admin") for r in api.runs())


def test_command_history_filters_and_undo(api: Api) -> None:
    created = api.client.post("/v1/commands", json={"text": "create a vector index called docs with 3 dimensions"},
                              headers=api.h("operator"))
    assert created.status_code == 200, created.text
    run = created.json()
    assert run["status"] == "applied" and run["actor"] == "api:operator" and run["surface"] == "api"
    assert run["plan"]["steps"][0]["call"]["action"] == "pgvector.index.create"
    assert run["decision"]["effect"] == "allow"
    (change,) = run["changes"]
    assert api.client.get(f"/v1/runs/{run['run_id']}", headers=api.h("viewer")).json()["changes"][0]["id"] == \
        change["id"]

    def ids(query: str) -> list[str]:
        response = api.client.get(f"/v1/changes{query}", headers=api.h("viewer"))
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()]

    assert ids("?platform=pgvector&status=applied&since=1h&target=docs") == [change["id"]]
    assert ids("?status=failed") == [] and ids("?platform=github") == [] and ids("?target=other") == []
    _is_problem(api.client.get("/v1/changes?since=not-a-time", headers=api.h("viewer")), 422, "validation_failed")
    _is_problem(api.client.get("/v1/changes?status=bogus", headers=api.h("viewer")), 422, "validation_failed")

    undo = api.client.post(f"/v1/changes/{change['id']}/undo", json={}, headers=api.h("operator"))
    assert undo.status_code == 200, undo.text
    assert undo.json()["status"] == "applied" and undo.json()["changes"][0]["undo_of"] == change["id"]
    assert ids("?status=rolled_back") == [change["id"]]
    _is_problem(api.client.post("/v1/changes/chg_nope/undo", headers=api.h("operator")), 404, "not_found")


def test_dry_run_changes_nothing(api: Api) -> None:
    response = api.client.post("/v1/commands", json={"text": "create a vector index called dry with 8 dims",
                                                     "dry_run": True}, headers=api.h("operator"))
    assert response.status_code == 200 and response.json()["status"] == "dry_run"
    assert response.json()["plan"]["steps"][0]["expected"]["dimension"] == 8
    assert api.client.get("/v1/changes", headers=api.h("viewer")).json() == []


def test_destructive_change_waits_for_a_second_approver(api: Api) -> None:
    api.client.post("/v1/commands", json={"text": "create a vector index called tmp with 3 dimensions"},
                    headers=api.h("approver"))
    pending = api.client.post("/v1/commands", json={"text": "delete the vector index tmp"}, headers=api.h("approver"))
    assert pending.status_code == 202, pending.text
    run = pending.json()
    assert run["status"] == "awaiting_approval" and run["decision"]["effect"] == "require_approval"
    assert run["awaiting"]["four_eyes"] is True and run["awaiting"]["requester"] == "approver"
    fetched = api.client.get(f"/v1/runs/{run['run_id']}", headers=api.h("viewer")).json()
    assert fetched["awaiting"]["digest"] == run["plan"]["digest"]
    # the requester can't approve their own destructive change
    _is_problem(api.client.post(f"/v1/runs/{run['run_id']}/approve", headers=api.h("approver")), 409,
                "approval_invalid")
    # an operator may not approve at all
    _is_problem(api.client.post(f"/v1/runs/{run['run_id']}/approve", headers=api.h("operator")), 403, "forbidden")
    approved = api.client.post(f"/v1/runs/{run['run_id']}/approve", json={"comment": "ok"}, headers=api.h("bob"))
    assert approved.status_code == 200 and approved.json()["status"] == "applied", approved.text
    assert approved.json()["changes"][0]["action"] == "pgvector.index.delete"
    again = api.client.post(f"/v1/runs/{run['run_id']}/approve", headers=api.h("bob"))
    _is_problem(again, 409, "approval_invalid")


def test_reject_and_request_changes_change_nothing(api: Api) -> None:
    api.client.post("/v1/commands", json={"text": "create a vector index called keep with 3 dimensions"},
                    headers=api.h("operator"))
    first = api.client.post("/v1/commands", json={"text": "delete the vector index keep"}, headers=api.h("operator"))
    second = api.client.post("/v1/commands", json={"text": "drop pgvector index keep"}, headers=api.h("operator"))
    rejected = api.client.post(f"/v1/runs/{first.json()['run_id']}/reject", json={"comment": "no"},
                               headers=api.h("approver"))
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    no_comment = api.client.post(f"/v1/runs/{second.json()['run_id']}/request-changes", json={},
                                 headers=api.h("approver"))
    _is_problem(no_comment, 422, "validation_failed")
    asked = api.client.post(f"/v1/runs/{second.json()['run_id']}/request-changes",
                            json={"comment": "archive it instead"}, headers=api.h("approver"))
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "changes_requested"
    (answer,) = asked.json()["approvals"]
    assert (answer["actor"], answer["source"], answer["comment"]) == ("approver", "api:approver", "archive it instead")
    changes = api.client.get("/v1/changes", headers=api.h("viewer")).json()
    assert [c["action"] for c in changes] == ["pgvector.index.create"]


def test_not_understood_and_invalid_bodies_are_problems(api: Api) -> None:
    unknown = api.client.post("/v1/commands", json={"text": "reticulate the splines"}, headers=api.h("operator"))
    _is_problem(unknown, 422, "not_understood")
    assert unknown.json()["details"]["run_id"].startswith("run_")
    bad_param = api.client.post("/v1/commands", json={"text": "create a vector index called x with 100000 dims"},
                                headers=api.h("operator"))
    _is_problem(bad_param, 422, "validation_failed")
    for body in ({}, {"text": ""}, {"text": "help", "extra": 1}, {"text": "x" * 2001}, [1]):
        _is_problem(api.client.post("/v1/commands", json=body, headers=api.h("operator")), 422, "validation_failed")
    long_key = api.h("operator") | {"Idempotency-Key": "k" * 256}
    _is_problem(api.client.post("/v1/commands", json={"text": "help"}, headers=long_key), 422, "validation_failed")
    _is_problem(api.client.get("/v1/nothing-here"), 404, "not_found")
    _is_problem(api.client.delete("/v1/runs", headers=api.h("admin")), 405, "method_not_allowed")


class SlowParser:
    """The offline parser, made slow (stands in for a model call that takes a while)."""

    def __init__(self, seconds: float) -> None:
        from orchestrator.parsing.offline import OfflineParser

        self.inner = OfflineParser()
        self.seconds = seconds

    def parse(self, text: str, inventory: dict[str, list[str]] | None = None) -> Any:
        time.sleep(self.seconds)
        return self.inner.parse(text, inventory)


def test_idempotency_key_replays_once_rejects_reuse_and_in_flight(api: Api) -> None:
    headers = api.h("operator") | {"Idempotency-Key": "create-docs-1"}
    body = {"text": "create a vector index called once with 3 dimensions"}
    first = api.client.post("/v1/commands", json=body, headers=headers)
    second = api.client.post("/v1/commands", json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json() and second.headers["idempotent-replayed"] == "true"
    assert len(api.runs()) == 1 and len(api.client.get("/v1/changes", headers=api.h("viewer")).json()) == 1
    _is_problem(api.client.post("/v1/commands", json={"text": "help"}, headers=headers), 422,
                "idempotency_key_reused")
    # a key is scoped to its caller: another identity's same key is a new request
    other = api.client.post("/v1/commands", json={"text": "help"}, headers=api.h("admin") | {"Idempotency-Key":
                                                                                            "create-docs-1"})
    assert other.status_code == 200 and other.json()["status"] == "answered"
    # a deterministic 4xx is stored and replayed too
    unknown = api.h("operator") | {"Idempotency-Key": "unknown-1"}
    a = api.client.post("/v1/commands", json={"text": "reticulate"}, headers=unknown)
    b = api.client.post("/v1/commands", json={"text": "reticulate"}, headers=unknown)
    assert a.status_code == b.status_code == 422 and a.json() == b.json()
    assert b.headers["content-type"].startswith("application/problem+json")

    # in flight: the first request is still parsing when the retry arrives
    api.ctx.host.service.deps.parsers["default"] = SlowParser(1.5)
    slow = api.h("operator") | {"Idempotency-Key": "slow-1"}
    results: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: results.update(
        first=api.client.post("/v1/commands", json={"text": "help"}, headers=slow)))
    thread.start()
    deadline = time.monotonic() + 10
    from state.models import IdempotencyRecord

    while time.monotonic() < deadline:
        with api.store.session() as s:
            if s.get(IdempotencyRecord, ("slow-1", "api:operator")) is not None:
                break
        time.sleep(0.02)
    _is_problem(api.client.post("/v1/commands", json={"text": "help"}, headers=slow), 409,
                "idempotency_key_in_flight")
    thread.join(30)
    assert results["first"].status_code == 200
    replay = api.client.post("/v1/commands", json={"text": "help"}, headers=slow)
    assert replay.json() == results["first"].json()


def test_server_errors_are_not_stored_under_the_key(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Force one internal failure (nothing real fails on demand here), then retry with the same key.
    service = api.ctx.host.service
    real = service.submit
    calls = {"n": 0}

    async def flaky(request: Any, parsed: Any = None, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("transient")
        return await real(request, parsed, **kw)

    monkeypatch.setattr(service, "submit", flaky)
    headers = api.h("operator") | {"Idempotency-Key": "flaky-1"}
    failed = api.client.post("/v1/commands", json={"text": "help"}, headers=headers)
    _is_problem(failed, 500, "internal_error")
    assert "transient" not in failed.text
    retried = api.client.post("/v1/commands", json={"text": "help"}, headers=headers)
    assert retried.status_code == 200 and calls["n"] == 2


def test_health_readiness_and_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["ready"] and set(ready.json()["checks"]) == {"database", "checkpointer", "policy"}
    api.client.get("/v1/runs", headers=api.h("viewer"))
    text = api.client.get("/metrics").text
    assert 'sophia_http_requests_total{method="GET",route="/v1/runs",status="200"} 1.0' in text
    assert "process_resident_memory_bytes" in text and "sophia_webhook_inbox_events" in text


def test_readiness_fails_when_the_database_is_gone(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import create_engine

    monkeypatch.setattr(api.store, "engine", create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                                                           connect_args={"connect_timeout": 1}))
    ready = api.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False


def test_openapi_documents_every_body(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert {"Problem", "RunOut", "CommandIn", "ChangeOut", "DriftOut", "WebhookAck"} <= set(schemas)
    assert {"HTTPBearer", "APIKeyHeader"} <= set(doc["components"]["securitySchemes"])
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if "requestBody" in op:
                for media in op["requestBody"]["content"].values():
                    assert media.get("schema"), (method, path)
            for status, response in op["responses"].items():
                assert response.get("description"), (method, path, status)
                assert response.get("content"), (method, path, status)
                for media_type, media in response["content"].items():
                    assert media.get("schema"), (method, path, status, media_type)
                    if status[0] in "45" and path != "/readyz":
                        assert media_type == "application/problem+json", (method, path, status)


def test_a_command_cannot_approve_for_someone_without_the_approver_role(api: Api) -> None:
    api.client.post("/v1/commands", json={"text": "create a vector index called guarded with 3 dimensions"},
                    headers=api.h("approver"))
    pending = api.client.post("/v1/commands", json={"text": "delete the vector index guarded"},
                              headers=api.h("approver")).json()
    sneaky = api.client.post("/v1/commands", json={"text": f"approve {pending['run_id']}"}, headers=api.h("operator"))
    _is_problem(sneaky, 409, "approval_invalid")  # policy: an operator is not an approver
    assert "may not decide" in sneaky.json()["detail"]
    assert api.store.get_run(pending["run_id"]).status == "awaiting_approval"
    by_text = api.client.post("/v1/commands", json={"text": f"approve {pending['run_id']}"}, headers=api.h("bob"))
    assert by_text.status_code == 200 and by_text.json()["status"] == "applied", by_text.text


def test_the_identities_file_outranks_a_keys_stored_role(settings: Any, hooks: None, secrets: None, sink: Any,
                                                         tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from orchestrator.interfaces.api import create_app
    from state.identities import ApiKeys

    (tmp_path / "ids.yaml").write_text("identities:\n  - {id: mallory, roles: [viewer]}\n")
    monkeypatch.setenv("SOPHIA_IDENTITIES", str(tmp_path / "ids.yaml"))
    app = create_app(settings, worker=False, slack=False)
    with TestClient(app) as client:
        _, key = ApiKeys(app.state.ctx.store).create(name="mallory", role="operator")
        got = client.post("/v1/commands", json={"text": "create a vector index called nope with 3 dimensions"},
                          headers={"Authorization": f"Bearer {key}"})
        assert got.status_code == 200 and got.json()["status"] == "denied", got.text
        assert got.json()["changes"] == []

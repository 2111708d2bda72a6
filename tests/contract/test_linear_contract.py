"""Linear adapter against Linear's published GraphQL schema.

There is no contract server for GraphQL here, so the contract is checked two ways instead:
every document in :data:`adapters.ops.linear.DOCUMENTS` is validated with ``graphql-core``
against Linear's ``schema.graphql``, and every action is driven through ``configure`` against
:class:`tests.adapters.linear_server.LinearFixture` (an ``httpx.MockTransport`` that validates
each request against the same schema, then executes it over fixture data), with zero
validation errors. Error paths are forced with scripted answers in Linear's documented shapes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.catalog import ActionCall
from adapters.http import PlatformAuthError, reset_breakers
from adapters.ops.linear import DOCUMENTS, LinearAdapter
from adapters.registry import spec_for
from adapters.testing import run
from orchestrator.config import Settings
from orchestrator.errors import NotFoundError
from tests.adapters.linear_server import TOKEN, LinearFixture, linear_schema, schema_path


@pytest.fixture(scope="module")
def schema() -> Any:
    return linear_schema(schema_path())


@pytest.fixture
def fixture(schema: Any) -> LinearFixture:
    return LinearFixture(schema)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def adapter(fixture: LinearFixture, waits: list[float], monkeypatch: pytest.MonkeyPatch) -> LinearAdapter:
    reset_breakers()
    monkeypatch.setenv("SOPHIA_LINEAR_TOKEN", TOKEN)

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return LinearAdapter(Settings(), transport=httpx.MockTransport(fixture.handle), sleep=sleep)


def call(action: str, target: str, **params: Any) -> ActionCall:
    return spec_for(f"linear.{action}").call(target, params)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_validates_against_linears_schema(schema: Any, name: str) -> None:
    from graphql import parse, validate

    assert [e.message for e in validate(schema, parse(DOCUMENTS[name]))] == []


def test_the_validator_catches_a_document_off_the_schema(fixture: LinearFixture) -> None:
    bad = DOCUMENTS["project"].replace("archivedAt", "archivedOn")
    response = fixture.handle(
        httpx.Request(
            "POST", "https://api.linear.app/graphql", json={"query": bad}, headers={"authorization": TOKEN}
        )
    )
    assert response.status_code == 400
    assert fixture.validation_errors == [
        "Cannot query field 'archivedOn' on type 'Project'. Did you mean 'archivedAt'?"
    ]


@pytest.mark.parametrize(
    ("step", "operations"),
    [
        (
            call("project.create", "Billing Revamp", team="ENG"),
            ["SophiaProject", "SophiaTeam", "SophiaProjectCreate", "SophiaProject"],
        ),
        (
            call("project.archive", "Mobile Offline Mode"),
            ["SophiaProject", "SophiaProjectArchive", "SophiaProject"],
        ),
        (
            call("project.unarchive", "Q1 Onboarding"),
            ["SophiaProject", "SophiaProjectUnarchive", "SophiaProject"],
        ),
        (
            call("issue.create", "ENG", title="Rotate the staging certs", priority="high"),
            ["SophiaOpenIssue", "SophiaTeam", "SophiaIssueCreate", "SophiaIssue"],
        ),
    ],
)
def test_every_action_sends_only_valid_documents(
    adapter: LinearAdapter, fixture: LinearFixture, step: ActionCall, operations: list[str]
) -> None:
    result = run(adapter.configure(step))
    assert adapter.reached(result.call, result.expected, result.after)
    assert [name for _, name in fixture.operations] == operations
    assert fixture.validation_errors == []


def test_status_sends_a_valid_document(adapter: LinearAdapter, fixture: LinearFixture) -> None:
    status = run(adapter.get_status())
    assert status.healthy and [t["name"] for t in status.inventory["team"]] == ["ENG", "GRO"]
    assert fixture.operations == [("query", "SophiaStatus")] and fixture.validation_errors == []


def test_dry_run_sends_only_queries(adapter: LinearAdapter, fixture: LinearFixture) -> None:
    run(adapter.configure(call("project.create", "Billing Revamp", team="ENG"), dry_run=True))
    run(adapter.configure(call("issue.create", "ENG", title="x"), dry_run=True))
    assert {kind for kind, _ in fixture.operations} == {"query"}


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(401, json={"errors": [{"message": "Unauthorized"}]}),
        httpx.Response(
            400,
            json={
                "errors": [
                    {
                        "message": "Authentication required, not authenticated",
                        "extensions": {"type": "authentication error", "code": "AUTHENTICATION_ERROR"},
                    }
                ]
            },
        ),
    ],
)
def test_auth_failure_names_the_credential(
    adapter: LinearAdapter, fixture: LinearFixture, answer: httpx.Response
) -> None:
    fixture.script = [answer]
    with pytest.raises(PlatformAuthError) as caught:
        run(adapter.configure(call("project.archive", "Mobile Offline Mode")))
    assert "SOPHIA_LINEAR_TOKEN" in caught.value.hint and TOKEN not in str(caught.value)
    assert fixture.mutations == []


def test_entity_not_found_names_the_target(adapter: LinearAdapter, fixture: LinearFixture) -> None:
    step = call("project.archive", "Mobile Offline Mode")
    before = run(adapter.observe(step))
    fixture.projects.clear()  # deleted by someone else between plan and apply
    with pytest.raises(NotFoundError, match="linear: Mobile Offline Mode not found"):
        run(adapter.execute(step, before))


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(
            429, headers={"retry-after": "4"}, json={"errors": [{"message": "Rate limit exceeded"}]}
        ),
        httpx.Response(
            400,
            headers={"retry-after": "4"},
            json={
                "errors": [
                    {
                        "message": "Rate limit exceeded",
                        "extensions": {"type": "ratelimited", "code": "RATELIMITED"},
                    }
                ]
            },
        ),
    ],
)
def test_rate_limit_is_retried_after_retry_after(
    adapter: LinearAdapter, fixture: LinearFixture, waits: list[float], answer: httpx.Response
) -> None:
    step = call("project.archive", "Mobile Offline Mode")
    before = run(adapter.observe(step))
    fixture.script = [answer]
    after = run(adapter.execute(step, before))
    assert waits == [4.0] and after["archived"] is True
    assert fixture.mutations == ["SophiaProjectArchive"], "the rate-limited mutation was not executed twice"

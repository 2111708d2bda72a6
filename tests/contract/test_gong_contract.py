"""The Gong adapter against the hand-written contract served by Prism: what it sends, and refusals.

Stand-in, said plainly: the contract is written by hand from Gong's API reference (see the
fixture's header), served by Prism, with :class:`~tests.contract.gong_twin.GongTwin` for state.
Every exchange is checked for request-side violations (Prism's, and strict mode's closed bodies)
and every query string against the contract. Beyond the conformance suite: the exact requests a
grant makes, the credential scheme, refusals before anything is sent, errors naming the setting,
429 honoured, and the ``since`` forms resolved to Gong's instants.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pydantic
import pytest

from adapters.catalog import ActionCall
from adapters.data.gong import GongAdapter, since_instant
from adapters.http import PlatformAuthError
from adapters.registry import spec_for
from adapters.testing import run
from orchestrator.errors import NotFoundError, ValidationFailedError

from .common import checked, sent
from .gong_twin import CALL, USER, GongTwin, shared_server
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps

TOKEN = "gong-contract-key:gong-contract-secret-7f3e9a1c"
ACCESS = "/v2/calls/users-access"


@pytest.fixture(scope="module")
def gong_server(request: pytest.FixtureRequest) -> PrismServer:
    return shared_server(request.config)


@pytest.fixture
def twin() -> Iterator[GongTwin]:
    twin = GongTwin()
    yield twin
    assert twin.query_problems == []


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, gong_server: PrismServer, twin: GongTwin
) -> Iterator[RecordingTransport]:
    with checked(monkeypatch, "gong", gong_server.base_url, TOKEN, twin.attach(RecordingTransport())) as t:
        yield t


@pytest.fixture
def adapter(env: RecordingTransport) -> Iterator[GongAdapter]:
    adapter = GongAdapter(transport=env, sleep=Sleeps())
    yield adapter
    run(adapter.aclose())


def grant(email: str, call: str) -> ActionCall:
    return spec_for("gong.call.access.grant").call(email, {"call": call})


def test_a_grant_sends_gongs_body_with_basic_auth_and_reads_back(
    adapter: GongAdapter, env: RecordingTransport, twin: GongTwin
) -> None:
    result = run(adapter.configure(grant("jane.doe@acme.com", CALL["intro"])))
    assert result.after is not None and result.after["access"] is True
    assert USER["jane"] in twin.access[CALL["intro"]]
    (put,) = [ex.request for ex in env.exchanges if ex.request.method == "PUT"]
    assert json.loads(put.content) == {
        "callAccessList": [{"callId": CALL["intro"], "userIds": [USER["jane"]]}]
    }
    assert put.headers["authorization"] == "Basic " + base64.b64encode(TOKEN.encode()).decode()
    assert sent(env.exchanges)[-1] == ("POST", ACCESS), "read back after the change"
    assert result.inverse == spec_for("gong.call.access.revoke").call(
        "jane.doe@acme.com", {"call": CALL["intro"]}
    )


def test_refusals_happen_before_anything_changes(adapter: GongAdapter, env: RecordingTransport) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        run(adapter.configure(grant("jane.doe@acme.com", "9999999999")))
    with pytest.raises(NotFoundError, match="no Gong user has"):
        run(adapter.configure(grant("nobody@acme.com", CALL["intro"])))
    with pytest.raises(ValidationFailedError, match="already has"):
        run(adapter.configure(grant("bob@globex.io", CALL["demo"])))
    revoke = spec_for("gong.call.access.revoke").call("jane.doe@acme.com", {"call": CALL["demo"]})
    with pytest.raises(ValidationFailedError, match="holds no"):
        run(adapter.configure(revoke))
    with pytest.raises(pydantic.ValidationError):
        spec_for("gong.call.access.grant").call("jane.doe@acme.com", {"call": "../v2/users"})
    assert [m for m, _ in sent(env.exchanges) if m in ("PUT", "DELETE")] == []


def test_reads_send_basic_auth_and_gongs_utc_range(adapter: GongAdapter, env: RecordingTransport) -> None:
    run(adapter.observe(spec_for("gong.call.list").call(None, {"since": "2026-11-30"})))
    (request,) = [ex.request for ex in env.exchanges]
    assert request.headers["authorization"] == "Basic " + base64.b64encode(TOKEN.encode()).decode()
    assert request.url.params["fromDateTime"] == "2026-11-30T00:00:00Z"
    assert request.url.params["toDateTime"].endswith("Z")


def test_a_server_error_on_a_read_is_retried(adapter: GongAdapter, twin: GongTwin) -> None:
    """500 is declared; a 503 (undeclared, injected after Prism judged the request) too."""
    twin.fault("GET", "/v2/users", 500)
    twin.fault("GET", "/v2/users", 503)
    users = run(adapter.observe(spec_for("gong.user.list").call(None)))
    assert users is not None and users["count"] == 4


def test_a_rejected_credential_names_the_setting(adapter: GongAdapter, twin: GongTwin) -> None:
    twin.fault("GET", "/v2/users", 403)
    with pytest.raises(PlatformAuthError, match="SOPHIA_GONG_TOKEN"):
        run(adapter.observe(spec_for("gong.user.list").call(None)))


def test_rate_limits_are_waited_out(adapter: GongAdapter, twin: GongTwin) -> None:
    twin.fault("GET", "/v2/workspaces", 429)
    status = run(adapter.get_status())
    assert status.healthy, status.message
    assert status.message == "4 user(s), 3 active; 2 workspace(s)"
    assert adapter.sleep is not None and len(adapter.sleep.waits) == 1  # type: ignore[attr-defined]


def test_an_oauth_token_is_sent_as_bearer(monkeypatch: pytest.MonkeyPatch, adapter: GongAdapter) -> None:
    monkeypatch.setenv("SOPHIA_GONG_TOKEN", "oauth-access-token")
    assert adapter.auth_headers() == {"Authorization": "Bearer oauth-access-token"}


NOW = datetime(2026, 12, 9, 14, 30, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("since", "instant"),
    [
        ("7d", "2026-12-02T14:30:00+00:00"),
        ("2h", "2026-12-09T12:30:00+00:00"),
        ("today", "2026-12-09T00:00:00+00:00"),
        ("yesterday", "2026-12-08T00:00:00+00:00"),
        ("monday", "2026-12-07T00:00:00+00:00"),
        ("wednesday", "2026-12-02T00:00:00+00:00"),
        ("09:15", "2026-12-09T09:15:00+00:00"),
        ("2026-11-30", "2026-11-30T00:00:00+00:00"),
        ("2026-11-30T08:00Z", "2026-11-30T08:00:00+00:00"),
        ("friday 09:00", "2026-12-04T09:00:00+00:00"),
    ],
)
def test_since_forms_resolve_to_past_instants(since: str, instant: str) -> None:
    assert since_instant(since, NOW).isoformat() == instant


@pytest.mark.parametrize("since", ["tomorrow", "2027-01-01", "23:00", "whenever"])
def test_a_since_in_the_future_or_unreadable_is_refused(since: str) -> None:
    with pytest.raises(ValidationFailedError):
        since_instant(since, NOW)

"""UserGemsAdapter against its hand-written contract served by Prism: requests, validation, errors.

Stand-in, said plainly: no UserGems can run here; the contract (``fixtures/usergems``) is
written by hand from UserGems' API reference and cites it. Prism judges every request (unknown
body fields refused by strict mode; the DELETE's query string checked by the twin) and every
test asserts zero violations at teardown. Emails come from command text: anything that is not
one address is refused before a request is built.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.catalog import ActionCall
from adapters.data.usergems import UserGemsAdapter
from adapters.http import PlatformAuthError
from adapters.registry import spec_for
from adapters.testing import run
from adapters.testing_faults import apply_through_ledger
from orchestrator.errors import AdapterError, ValidationFailedError
from state.models import ChangeStatus
from state.store import Store

from .prism import RecordingTransport
from .usergems_fixtures import TOKEN, adapter, env, migrated, store, twin, usergems_server
from .usergems_twin import UserGemsTwin

__all__ = ["adapter", "env", "migrated", "store", "twin", "usergems_server"]  # fixtures, imported for pytest

TRACK = spec_for("usergems.contact.track")
UNTRACK = spec_for("usergems.contact.untrack")


def test_track_and_untrack_send_what_the_reference_documents(
    adapter: UserGemsAdapter, env: RecordingTransport, twin: UserGemsTwin
) -> None:
    ack = run(adapter.execute(TRACK.call(" Jane.Doe@ACME.com "), None))
    assert ack == {"email": "jane.doe@acme.com", "acknowledged": "Contact added to queue"}
    ack = run(adapter.execute(UNTRACK.call("bob@globex.io"), None))
    assert ack == {"email": "bob@globex.io", "acknowledged": "Contact deleted"}
    post, delete = env.exchanges
    assert (post.request.method, post.request.url.path, post.response.status_code) == (
        "POST",
        "/contact",
        200,
    )
    assert json.loads(post.request.content) == {"email": "jane.doe@acme.com"}
    assert post.request.headers["x-api-key"] == TOKEN and "authorization" not in post.request.headers
    assert (delete.request.method, delete.request.url.path) == ("DELETE", "/contact")
    assert dict(delete.request.url.params) == {"email": "bob@globex.io"} and not delete.request.content
    assert twin.applied == [("add", "jane.doe@acme.com"), ("delete", "bob@globex.io")]


#: Not one email address: words, half addresses, paths, queries, fragments, CR/LF, lists, 250+ characters.
NOT_ONE_EMAIL = (
    "jane",
    "",
    "jane@",
    "@acme.com",
    "jane@acme",
    "a@b.c/../x",
    "jane@acme.com?x=1",
    "jane@acme.com#f",
    "jane@acme.com/../../account",
    "../contact",
    "jane doe@acme.com",
    "jane@acme.com\r\nX: 1",
    "a@b.com,c@d.com",
    "x" * 250 + "@acme.com",
)


def test_a_target_that_is_not_one_email_is_refused_before_any_request(
    adapter: UserGemsAdapter, env: RecordingTransport
) -> None:
    for target in NOT_ONE_EMAIL:
        for spec in (TRACK, UNTRACK):
            call = ActionCall(action=spec.id, target=target)  # straight to the adapter, past check_target
            for step in (adapter.observe(call), adapter.execute(call, None)):
                with pytest.raises(ValidationFailedError) as caught:
                    run(step)
                assert caught.value.details["outcome"] == "unsent", target
    assert env.exchanges == []


def test_a_refused_key_names_the_variable_and_is_recorded_failed(
    adapter: UserGemsAdapter, twin: UserGemsTwin, store: Store
) -> None:
    twin.fault("POST", "/contact", 401)
    with pytest.raises(PlatformAuthError, match="SOPHIA_USERGEMS_TOKEN"):
        run(adapter.execute(TRACK.call("jane.doe@acme.com"), None))
    twin.fault("POST", "/contact", 401)
    recorded = run(apply_through_ledger(store, adapter, TRACK.call("jane.doe@acme.com")))
    assert recorded["status"] == ChangeStatus.FAILED and recorded["verified"] is None
    assert "refused" in recorded["error"] and "no read-back" in recorded["error"]
    assert twin.state("jane.doe@acme.com")["tracked"] is False and twin.applied == []


def test_a_bad_request_carries_usergems_message(adapter: UserGemsAdapter, twin: UserGemsTwin) -> None:
    twin.fault("DELETE", "/contact", 400)
    with pytest.raises(AdapterError, match="your request is invalid"):
        run(adapter.execute(UNTRACK.call("bob@globex.io"), None))
    assert twin.state("bob@globex.io")["tracked"] is True


def test_429_is_retried_then_recorded_applied_unverified(
    adapter: UserGemsAdapter, env: RecordingTransport, twin: UserGemsTwin, store: Store
) -> None:
    twin.fault("POST", "/contact", 429)
    recorded = run(apply_through_ledger(store, adapter, TRACK.call("jane.doe@acme.com")))
    assert [ex.response.status_code for ex in env.exchanges] == [429, 200]
    assert adapter.sleep is not None and len(adapter.sleep.waits) == 1  # type: ignore[attr-defined]
    assert recorded["status"] == ChangeStatus.APPLIED and recorded["verified"] is False
    assert recorded["after"] == {"email": "jane.doe@acme.com", "acknowledged": "Contact added to queue"}
    assert recorded["error"].startswith("unverified: usergems has no read-back")
    assert twin.state("jane.doe@acme.com")["tracked"] is True


def test_the_contract_declares_no_read_operation() -> None:
    """The premise of ``read_back = False``: the document has nothing to GET."""
    import yaml

    doc = yaml.safe_load((Path(__file__).parent / "fixtures" / "usergems" / "openapi.yaml").read_text())
    methods = {m for item in doc["paths"].values() for m in item}
    assert methods == {"post", "delete"}

"""The hand-written Gong contract agrees with Gong's own OpenAPI document.

Gong's document (``gong-api-v2-openapi.json``, OpenAPI 3.0.1, V2) has an unclear licence and is
never copied into the project; :func:`~tests.contract.provision.unclear_document` reads it from
``SOPHIA_SPECS_DIR`` or ``../shared/specs`` and skips, saying so, where neither holds it. This is
the only Gong test allowed to skip for that reason: every other one runs on the hand-written
contract (``fixtures/gong/openapi.yaml``) alone.

"Agrees" is what Apollo's cross-check means by it (:func:`~tests.contract.test_apollo_crosscheck.
differences`, shared): same method, path and ``operationId``; every parameter, body property and
response property the contract names is the vendor's, of the vendor's type; the vendor's required
parameters and body fields are declared; the statuses and media types are the vendor's; the
security scheme is; the server is. :data:`KNOWN` lists the differences kept on purpose.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .provision import unclear_document
from .test_apollo_crosscheck import _inline, differences

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "gong" / "openapi.yaml"
ACCESS = "/v2/calls/users-access"

#: Differences kept on purpose: (the difference as :func:`differences` words it) → why.
KNOWN: dict[str, str] = {
    "server https://api.gong.io is not the vendor's ['https://127.0.0.1:8443']": (
        "the document's server is a generator's placeholder; Gong tells each company its own base"
        " URL (SOPHIA_GONG_BASE_URL), and api.gong.io is the general host"
    ),
}


@pytest.fixture(scope="module")
def vendor() -> dict[str, Any]:
    """Gong's own document, from outside the project (skips, saying why, when it is absent)."""
    path: Path = unclear_document("gong")
    doc = json.loads(path.read_text(encoding="utf-8"))
    # Gong's document names its schemas by $ref (Apollo's spells them out): resolve them first.
    return {**doc, "paths": _inline(doc, doc["paths"])}


@pytest.fixture(scope="module")
def mine() -> dict[str, Any]:
    return dict(yaml.safe_load(FIXTURE.read_text()))


def test_the_hand_written_contract_agrees_with_gongs_document(
    mine: dict[str, Any], vendor: dict[str, Any]
) -> None:
    found = differences(mine, vendor)
    unexpected = [d for d in found if d not in KNOWN]
    stale = [d for d in KNOWN if d not in found]
    assert not unexpected, "the hand-written contract says what Gong's document does not:\n" + "\n".join(
        unexpected
    )
    assert not stale, f"KNOWN lists differences that are gone: {stale}"


def test_every_operation_the_adapter_sends_is_in_the_contract(mine: dict[str, Any]) -> None:
    """The seven operations the adapter's package doc names, and no others."""
    declared = {(m.upper(), p) for p, item in mine["paths"].items() for m in item}
    assert declared == {
        ("GET", "/v2/calls"),
        ("GET", "/v2/calls/{id}"),
        ("GET", "/v2/users"),
        ("GET", "/v2/workspaces"),
        ("PUT", ACCESS),
        ("POST", ACCESS),
        ("DELETE", ACCESS),
    }


def test_the_documented_limits_the_adapter_relies_on_are_gongs(vendor: dict[str, Any]) -> None:
    """The grant's "no effect" case, the revoke's API-only scope, the POST's API-only listing."""
    item = vendor["paths"][ACCESS]
    assert "the request will have no effect" in item["put"]["description"]
    assert (
        "can only remove access previously given by the /v2/calls/users-access API"
        in (item["delete"]["description"])
    )
    assert "doesn't cover user that have access for other reasons" in item["post"]["description"]
    assert "Retry-After" in vendor["info"]["description"]


def test_the_documented_behaviours_the_adapter_relies_on_are_gongs(vendor: dict[str, Any]) -> None:
    """429 with Retry-After; a 404 for an empty range of calls; paging by records.cursor."""
    assert "Retry-After" in vendor["info"]["description"]
    assert vendor["paths"]["/v2/calls"]["get"]["responses"]["404"]["description"] == (
        "No calls found for the specified period"
    )
    assert "cursor" in vendor["components"]["schemas"]["Records"]["properties"]


def _body(doc: dict[str, Any], method: str) -> dict[str, Any]:
    schema: dict[str, Any] = doc["paths"][ACCESS][method]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    return schema


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: d["paths"]["/v2/calls"]["get"]["parameters"][0].update(name="fromDate"),
            "parameter 'fromDate' in query is not the vendor's",
        ),
        (
            lambda d: d["paths"]["/v2/calls"]["get"]["parameters"].pop(1),
            "the vendor requires parameter 'toDateTime'",
        ),
        (
            lambda d: _body(d, "post")["properties"]["filter"]["properties"].update(
                userIds={"type": "array"}
            ),
            "body.filter.userIds: not in the vendor's schema",
        ),
        (
            lambda d: _body(d, "post")["properties"].pop("filter"),
            "the vendor requires body field 'filter'",
        ),
        (
            lambda d: d["components"]["schemas"]["User"]["properties"].update(active={"type": "string"}),
            "users[].active: type ['string']",
        ),
        (
            lambda d: d["paths"][ACCESS]["put"]["responses"].update({"404": {}}),
            "status 404 is not the vendor's",
        ),
        (
            lambda d: d["components"]["securitySchemes"]["BasicAuth"].update(scheme="bearer"),
            "security scheme 'BasicAuth'",
        ),
        (
            lambda d: d["paths"].update({"/v2/users/{id}/settings": {"put": {"responses": {}}}}),
            "PUT /v2/users/{id}/settings: not in the vendor's document",
        ),
    ],
)
def test_the_crosscheck_can_fail(
    mine: dict[str, Any], vendor: dict[str, Any], edit: Any, expected: str
) -> None:
    """A misspelt name, a dropped requirement, an invented field, a wrong type, status, scheme or path."""
    edited = copy.deepcopy(mine)
    edit(edited)
    found = differences(edited, vendor)
    assert any(expected in d for d in found), found

"""The hand-written Apollo contract agrees with Apollo's own OpenAPI export.

Apollo's export (``apollo-rest-api-openapi.json``, OpenAPI 3.1) has an unclear licence and is
never copied into the project; :func:`~tests.contract.provision.unclear_document` reads it from
``SOPHIA_SPECS_DIR`` or ``../shared/specs`` and skips, saying so, where neither holds it. This is
the only Apollo test allowed to skip for that reason: every other one runs on the hand-written
contract (``fixtures/apollo/openapi.yaml``) alone.

What "agrees" means, per operation of the hand-written contract (:func:`differences`):

* the vendor declares the same method and path, with the same ``operationId``;
* every parameter is the vendor's (same name and place), of a type the vendor allows, its enum
  within the vendor's; every parameter the vendor requires is declared and required here
  (``x-sophia-required`` counts: Prism can't read bracketed names, see the fixture);
* every request-body property is the vendor's, of the vendor's type; the vendor's required ones
  are declared;
* every response status and media type is the vendor's, and every property the hand-written
  response schemas name (what the adapter reads) is in the vendor's schema at the same place,
  of the vendor's type where it declares one;
* the security scheme and the server URL are the vendor's, and the adapter's default base URL
  is that server.

Stricter is allowed (a pattern on ids, a closed body, a required array the vendor leaves
optional); anything the vendor does not say is reported. :data:`KNOWN` lists the differences
kept on purpose, each with its reason; a stale entry fails too.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.data.apollo import DEFAULT_BASE_URL
from adapters.data.apollo.records import ALREADY_THERE

from .apollo_twin import FIXTURE
from .provision import unclear_document

_METHODS = ("get", "post", "put", "patch", "delete")

#: Differences kept on purpose: (the difference as :func:`differences` words it) → why.
KNOWN: dict[str, str] = {}


@pytest.fixture(scope="module")
def vendor() -> dict[str, Any]:
    """Apollo's own document, from outside the project (skips, saying why, when it is absent)."""
    path: Path = unclear_document("apollo")
    return dict(json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def mine() -> dict[str, Any]:
    return dict(yaml.safe_load(FIXTURE.read_text()))


def _inline(doc: dict[str, Any], node: Any) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points at."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _inline(doc, target)
    if isinstance(node, dict):
        return {k: _inline(doc, v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(doc, v) for v in node]
    return node


def _types(schema: Any) -> set[str]:
    """The JSON types a schema allows (empty: it does not say)."""
    if not isinstance(schema, dict):
        return set()
    kind = schema.get("type")
    found = set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()
    for key in ("oneOf", "anyOf"):
        for branch in schema.get(key) or []:
            found |= _types(branch)
    return found


def _properties(schema: Any) -> dict[str, Any] | None:
    """The properties a schema names, through its compositions (None: it names none)."""
    if not isinstance(schema, dict):
        return None
    found = dict(schema.get("properties") or {})
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(key) or []:
            found.update(_properties(branch) or {})
    return found or None


def _schema_differences(where: str, ours: Any, theirs: Any) -> list[str]:
    """Types, enums and named properties of ``ours`` that ``theirs`` does not allow or name."""
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return []
    found = []
    mine_types, vendor_types = _types(ours), _types(theirs)
    if mine_types and vendor_types and not mine_types <= vendor_types:
        found.append(f"{where}: type {sorted(mine_types)} where the vendor says {sorted(vendor_types)}")
    if isinstance(theirs.get("enum"), list) and not set(ours.get("enum") or theirs["enum"]) <= set(
        theirs["enum"]
    ):
        found.append(f"{where}: enum {ours.get('enum')} beyond the vendor's {theirs['enum']}")
    if "array" in mine_types:
        array_branch = next(
            (b for b in [theirs, *(theirs.get("oneOf") or [])] if _types(b) == {"array"}), theirs
        )
        found += _schema_differences(f"{where}[]", ours.get("items"), array_branch.get("items"))
    named = _properties(ours)
    if named:
        vendor_named = _properties(theirs) or {}
        for name, sub in named.items():
            if name not in vendor_named:
                found.append(f"{where}.{name}: not in the vendor's schema")
            else:
                found += _schema_differences(f"{where}.{name}", sub, vendor_named[name])
    return found


def _parameters(op: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["name"], p["in"]): p for p in op.get("parameters") or []}


def _operation_differences(where: str, ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    found = []
    if ours.get("operationId") != theirs.get("operationId"):
        found.append(
            f"{where}: operationId {ours.get('operationId')!r}, the vendor's is {theirs.get('operationId')!r}"
        )
    mine_params, vendor_params = _parameters(ours), _parameters(theirs)
    for key, param in mine_params.items():
        if key not in vendor_params:
            found.append(f"{where}: parameter {key[0]!r} in {key[1]} is not the vendor's")
            continue
        found += _schema_differences(
            f"{where}: parameter {key[0]!r}", param.get("schema"), vendor_params[key].get("schema")
        )
    for key, param in vendor_params.items():
        required = key in mine_params and (
            mine_params[key].get("required") or mine_params[key].get("x-sophia-required")
        )
        if param.get("required") and not required:
            found.append(f"{where}: the vendor requires parameter {key[0]!r} in {key[1]}")
    ours_body = _inline(
        {}, ((ours.get("requestBody") or {}).get("content") or {}).get("application/json", {})
    ).get("schema")
    theirs_body = (
        ((theirs.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
    ).get("schema")
    if ours_body is not None and theirs_body is None:
        found.append(f"{where}: a JSON body the vendor does not declare")
    elif ours_body is not None:
        found += _schema_differences(f"{where}: body", ours_body, theirs_body)
        missing = set(theirs_body.get("required") or []) - set(_properties(ours_body) or {})
        found += [f"{where}: the vendor requires body field {name!r}" for name in sorted(missing)]
    for status, response in (ours.get("responses") or {}).items():
        vendor_response = (theirs.get("responses") or {}).get(str(status))
        if vendor_response is None:
            found.append(f"{where}: status {status} is not the vendor's")
            continue
        for media, content in (response.get("content") or {}).items():
            vendor_content = (vendor_response.get("content") or {}).get(media)
            if vendor_content is None:
                found.append(f"{where}: {status} {media} is not the vendor's")
            else:
                found += _schema_differences(
                    f"{where}: {status}", content.get("schema"), vendor_content.get("schema")
                )
    return found


def differences(mine: dict[str, Any], vendor: dict[str, Any]) -> list[str]:
    """Everything the hand-written contract says that Apollo's document does not (see the module doc)."""
    ours = _inline(mine, {k: v for k, v in mine.items() if k != "components"})
    found = []
    for path, item in ours["paths"].items():
        for method in _METHODS:
            if method not in item:
                continue
            theirs = (vendor.get("paths") or {}).get(path, {}).get(method)
            if theirs is None:
                found.append(f"{method.upper()} {path}: not in the vendor's document")
            else:
                found += _operation_differences(f"{method.upper()} {path}", item[method], theirs)
    vendor_schemes = (vendor.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in mine["components"]["securitySchemes"].items():
        if vendor_schemes.get(name) is None or {k: vendor_schemes[name].get(k) for k in scheme} != scheme:
            found.append(f"security scheme {name!r} {scheme} is not the vendor's")
        elif {name: []} not in (vendor.get("security") or []):
            found.append(f"security scheme {name!r} is not one the vendor accepts everywhere")
    vendor_servers = [s.get("url") for s in vendor.get("servers") or []]
    found += [
        f"server {s['url']} is not the vendor's {vendor_servers}"
        for s in mine["servers"]
        if s["url"] not in vendor_servers
    ]
    return found


def test_the_hand_written_contract_agrees_with_apollos_document(
    mine: dict[str, Any], vendor: dict[str, Any]
) -> None:
    found = differences(mine, vendor)
    unexpected = [d for d in found if d not in KNOWN]
    stale = [d for d in KNOWN if d not in found]
    assert not unexpected, "the hand-written contract says what Apollo's document does not:\n" + "\n".join(
        unexpected
    )
    assert not stale, f"KNOWN lists differences that are gone: {stale}"


def test_the_adapter_talks_to_apollos_server(vendor: dict[str, Any]) -> None:
    assert DEFAULT_BASE_URL in [s.get("url") for s in vendor.get("servers") or []]


def test_the_skip_reasons_the_adapter_and_twin_use_are_apollos(vendor: dict[str, Any]) -> None:
    """``contacts_already_exists_in_current_campaign`` (read back, not an error) and the twin's
    skips are reasons Apollo's document lists for ``skipped_contact_ids``."""
    op = vendor["paths"]["/emailer_campaigns/{sequence_id}/add_contact_ids"]["post"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    skipped = schema["properties"]["skipped_contact_ids"]["properties"]
    reasons = set(next(iter(skipped.values()))["x-enumDescriptions"])
    assert {ALREADY_THERE, "contact_not_found", "contacts_active_in_other_campaigns"} <= reasons


def test_the_twins_refusals_are_apollos_words(vendor: dict[str, Any]) -> None:
    """The 422 texts the twin answers with are the examples Apollo documents."""
    text = json.dumps(vendor["paths"])
    for said in (
        "The sequence is already active.",
        "The sequence is already inactive.",
        "These mailboxes are no longer active.",
    ):
        assert said in text, said


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: d["paths"]["/emailer_campaigns/search"]["post"]["parameters"][0].update(name="q_nmae"),
            "parameter 'q_nmae' in query is not the vendor's",
        ),
        (
            lambda d: d["paths"]["/contacts/search"]["post"]["requestBody"]["content"]["application/json"][
                "schema"
            ]["properties"].update(emails={"type": "array"}),
            "body.emails: not in the vendor's schema",
        ),
        (
            lambda d: d["paths"]["/contacts/search"]["post"]["requestBody"]["content"]["application/json"][
                "schema"
            ]["properties"].update(per_page={"type": "string"}),
            "body.per_page: type ['string']",
        ),
        (
            lambda d: d["paths"]["/emailer_campaigns/{sequence_id}/add_contact_ids"]["post"][
                "parameters"
            ].pop(3),
            "the vendor requires parameter 'send_email_from_email_account_id'",
        ),
        (
            lambda d: d["paths"]["/emailer_campaigns/remove_or_stop_contact_ids"]["post"]["parameters"][
                0
            ].pop("x-sophia-required"),
            "the vendor requires parameter 'emailer_campaign_ids[]'",
        ),
        (
            lambda d: d["components"]["schemas"]["Sequence"]["properties"].update(paused={"type": "boolean"}),
            "emailer_campaigns[].paused: not in the vendor's schema",
        ),
        (
            lambda d: d["components"]["schemas"]["Sequence"]["properties"].update(active={"type": "string"}),
            "emailer_campaigns[].active: type ['string']",
        ),
        (
            lambda d: d["paths"]["/emailer_campaigns/{sequence_id}/approve"]["post"]["responses"].update(
                {"404": {}}
            ),
            "status 404 is not the vendor's",
        ),
        (
            lambda d: d["components"]["securitySchemes"]["apiKey"].update(name="X-Api-Token"),
            "security scheme 'apiKey'",
        ),
        (
            lambda d: d["paths"].update({"/emailer_campaigns/{sequence_id}": {"get": {"responses": {}}}}),
            "GET /emailer_campaigns/{sequence_id}: not in the vendor's document",
        ),
    ],
)
def test_the_crosscheck_can_fail(
    mine: dict[str, Any], vendor: dict[str, Any], edit: Any, expected: str
) -> None:
    """A misspelt name, an invented field, a wrong type, a dropped requirement, a made-up status or path."""
    edited = copy.deepcopy(mine)
    edit(edited)
    found = differences(edited, vendor)
    assert any(expected in d for d in found), found

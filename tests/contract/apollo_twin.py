"""Apollo test set-up: the hand-written contract served by Prism, and a small state model.

``fixtures/apollo/openapi.yaml`` is written by hand from Apollo's API reference (it cites the
pages; Apollo's own export may not be copied here, and ``test_apollo_crosscheck`` compares the
two where the export is beside the checkout). :func:`shared_server` runs one Prism on it for a
session, so these tests need Prism but not the vendor document.

:class:`ApolloTwin` stands in for the platform (no Apollo can run here): Prism judges every
request and answers with the contract's examples; the twin keeps the team's sequences, contacts
and mailboxes, picks the declared status (422 for a sequence already in the asked state),
applies what the changes ask for (``remove_or_stop_contact_ids`` only in ``mode=remove``, the
one mode the adapter sends), paginates searches, and fills its records into Prism's
answers. Prism ignores query parameters a document does not declare and can't read names with
brackets, so the twin checks every query string against the contract itself
(:func:`query_problems`, kept in :attr:`ApolloTwin.query_problems`, which the tests assert stays
empty): the query strings these POSTs carry are checked as strictly as bodies. :meth:`ApolloTwin.fault` makes the
next matching requests answer an error; one the contract does not declare (a 5xx) is injected
after Prism judged the request and marked ``x-sophia-injected``. :meth:`ApolloTwin.lag` serves
the next contact searches from a snapshot, as a search index that has not caught up would.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from .handwritten import FaultInjection
from .prism import PrismServer
from .provision import ensure_prism
from .twins import _Twin

__all__ = ["EMAIL_ACCOUNT", "FIXTURE", "SEQ", "ApolloTwin", "query_problems", "shared_server"]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "apollo" / "openapi.yaml"
EMAIL_ACCOUNT = "6630ffa2a7f52601c7578345"
#: Seeded sequence ids by name (24-hex object ids, as Apollo's).
SEQ = {
    "Q4 Outbound": "64a1f0c2e4b0a1000000a001",
    "Enterprise Nurture": "64a1f0c2e4b0a1000000a002",
    "Webinar Follow-up": "64a1f0c2e4b0a1000000a003",
    "Trial Nudges": "64a1f0c2e4b0a1000000a004",
    "Trial Nudges (copy)": "64a1f0c2e4b0a1000000a005",
}


_SHARED: dict[str, PrismServer] = {}


def shared_server(config: pytest.Config) -> PrismServer:
    """One Prism on the contract for the whole session (stopped at its end); skips without Prism."""
    server = _SHARED.get("apollo")
    if server is None:
        server = PrismServer(FIXTURE, binary=ensure_prism())
        server.launch()
        server.wait_ready()  # stops the process itself when it fails
        _SHARED["apollo"] = server
        config.add_cleanup(lambda: _SHARED.pop("apollo").stop())
    return server


@cache
def _operations() -> tuple[tuple[str, re.Pattern[str], dict[str, tuple[bool, Any]]], ...]:
    doc = yaml.safe_load(FIXTURE.read_text())
    components = doc["components"]

    def inline(node: Any) -> Any:
        if isinstance(node, dict) and "$ref" in node:
            return inline(components["schemas"][node["$ref"].rsplit("/", 1)[-1]])
        if isinstance(node, dict):
            return {k: inline(v) for k, v in node.items()}
        return node

    found = []
    for template, item in doc["paths"].items():
        regex = re.compile(
            "".join(
                "[^/]+" if p.startswith("{") else re.escape(p) for p in re.split(r"(\{[^}/]+\})", template)
            )
        )
        for method, op in item.items():
            params = [
                components["parameters"][p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
                for p in op.get("parameters", [])
            ]
            query = {
                p["name"]: (bool(p.get("required") or p.get("x-sophia-required")), inline(p["schema"]))
                for p in params
                if p["in"] == "query"
            }
            found.append((method.upper(), regex, query))
    return tuple(found)


def query_problems(method: str, path: str, params: httpx.QueryParams) -> list[str]:
    """What is wrong with a request's query string by the contract (Prism does not check it all).

    Prism ignores undeclared names, and can't read names holding brackets (``contact_ids[]``:
    ``test_prism_cannot_read_bracketed_query_names``), so the contract marks those
    ``x-sophia-required`` instead of ``required``. Here every name must be declared, every
    required one present, and every value valid against its schema. Nothing for an unknown route
    (Prism reports that itself).
    """
    for op_method, regex, declared in _operations():
        if op_method != method or not regex.fullmatch(path):
            continue
        where = f"{method} {path}"
        problems = [f"{where}: {name} is not declared" for name in params if name not in declared]
        for name, (required, schema) in declared.items():
            values = params.get_list(name)
            if not values:
                problems += [f"{where}: {name} is required"] if required else []
                continue
            if schema.get("type") != "array" and len(values) > 1:
                problems.append(f"{where}: {name} is given {len(values)} times")
            value: Any = values if schema.get("type") == "array" else values[-1]
            validator = jsonschema.Draft202012Validator(schema)
            problems += [f"{where}: {name}: {e.message}" for e in validator.iter_errors(value)]
        return problems
    return []


class ApolloTwin(FaultInjection, _Twin):
    """Sequences, contacts and one default mailbox of an Apollo team, and queued faults.

    Seeded sequences: Q4 Outbound (inactive), Enterprise Nurture (active), Webinar Follow-up
    (inactive, archived), and Trial Nudges twice (the second's name differs only in case and
    spacing: "trial  NUDGES"). Contacts: jane.doe@acme.com (in no sequence), bob@globex.io (in
    Enterprise Nurture, finished) and ana@initech.com (active in Enterprise Nurture, so Apollo
    skips adding her elsewhere).
    """

    document = FIXTURE

    def __init__(self) -> None:
        super().__init__()
        self.faults: list[list[Any]] = []
        self.query_problems: list[str] = []
        self.sequences: dict[str, dict[str, Any]] = {
            SEQ["Q4 Outbound"]: {"name": "Q4 Outbound", "active": False, "archived": False},
            SEQ["Enterprise Nurture"]: {"name": "Enterprise Nurture", "active": True, "archived": False},
            SEQ["Webinar Follow-up"]: {"name": "Webinar Follow-up", "active": False, "archived": True},
            SEQ["Trial Nudges"]: {"name": "Trial Nudges", "active": True, "archived": False},
            SEQ["Trial Nudges (copy)"]: {"name": "trial  NUDGES", "active": False, "archived": False},
        }
        self.contacts: dict[str, dict[str, Any]] = {
            "66e34b81740c50074e3d1b01": {"email": "jane.doe@acme.com", "statuses": {}},
            "66e34b81740c50074e3d1b02": {
                "email": "bob@globex.io",
                "statuses": {SEQ["Enterprise Nurture"]: "finished"},
            },
            "66e34b81740c50074e3d1b03": {
                "email": "ana@initech.com",
                "statuses": {SEQ["Enterprise Nurture"]: "active"},
            },
        }
        self.accounts = [
            {
                "id": EMAIL_ACCOUNT,
                "email": "outreach@example.com",
                "user_id": "66302798d03b9601c7934ebc",
                "active": True,
                "default": True,
            }
        ]
        self._stale: list[Any] = []

    def lag(self, searches: int) -> None:
        """Serve the next ``searches`` contact searches from the contacts as they are now."""
        self._stale = [copy.deepcopy(self.contacts)] * searches

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        self.query_problems += query_problems(method, path, request.url.params)
        code = self._fault(method, path)
        if code is not None:
            return self.forced(method, path, code)
        query = request.url.params
        if path == "/emailer_campaigns/search":
            words = query.get("q_name", "").casefold().split()  # keywords, each part of the name
            found = [
                self.sequence(i)
                for i, s in self.sequences.items()
                if all(w in s["name"].casefold() for w in words)
            ]
            return None, (
                "page",
                "emailer_campaigns",
                found,
                query.get("page", "1"),
                query.get("per_page", "25"),
            )
        if m := re.fullmatch(r"/emailer_campaigns/([^/]+)/(approve|abort)", path):
            seq = self.sequences.get(m.group(1))
            if seq is None:
                return "422", ("error", "Sequence not found.")
            wanted = m.group(2) == "approve"
            if seq["active"] == wanted:
                return "422", ("error", f"The sequence is already {'active' if wanted else 'inactive'}.")
            seq["active"] = wanted
            return None, ("raw", {"emailer_campaign": {"id": m.group(1), "active": wanted}})
        if m := re.fullmatch(r"/emailer_campaigns/([^/]+)/add_contact_ids", path):
            return self._add(m.group(1), query)
        if path == "/emailer_campaigns/remove_or_stop_contact_ids" and query.get("mode") == "remove":
            for contact_id in query.get_list("contact_ids[]"):
                for seq_id in query.get_list("emailer_campaign_ids[]"):
                    self.contacts.get(contact_id, {"statuses": {}})["statuses"].pop(seq_id, None)
            return None, ("raw", {})
        if path == "/contacts/search" and isinstance(body, dict):
            source = self._stale.pop(0) if self._stale else self.contacts
            words = str(body.get("q_keywords", "")).casefold()
            found = [self.contact(i, c) for i, c in source.items() if words in c["email"].casefold()]
            return None, ("page", "contacts", found, str(body.get("page", 1)), str(body.get("per_page", 25)))
        if path == "/email_accounts":
            return None, ("raw", {"email_accounts": copy.deepcopy(self.accounts)})
        return None, None

    def _add(self, seq_id: str, query: httpx.QueryParams) -> tuple[str | None, Any]:
        seq = self.sequences.get(seq_id)
        if seq is None or query.get("emailer_campaign_id") != seq_id:
            return "422", (
                "error",
                "Please specify a emailer_campaign_id and send_email_from_email_account_id.",
            )
        if query.get("send_email_from_email_account_id") not in {
            a["id"] for a in self.accounts if a["active"]
        }:
            return "422", ("error", "These mailboxes are no longer active.")
        added, skipped = [], {}
        for contact_id in query.get_list("contact_ids[]"):
            contact = self.contacts.get(contact_id)
            if contact is None:
                skipped[contact_id] = "contact_not_found"
            elif seq_id in contact["statuses"]:
                skipped[contact_id] = "contacts_already_exists_in_current_campaign"
            elif "active" in contact["statuses"].values():
                skipped[contact_id] = "contacts_active_in_other_campaigns"
            else:
                # Apollo's own example: added to an inactive sequence, a contact is "paused"
                # ("inactive_reason": "Sequence inactive").
                contact["statuses"][seq_id] = "active" if seq["active"] else "paused"
                added.append(self.contact(contact_id, contact))
        return None, (
            "raw",
            {"contacts": added, "skipped_contact_ids": skipped, "emailer_campaign": self.sequence(seq_id)},
        )

    def sequence(self, seq_id: str) -> dict[str, Any]:
        """The sequence as Apollo's search lists it."""
        s = self.sequences[seq_id]
        return {
            "id": seq_id,
            "name": s["name"],
            "archived": s["archived"],
            "active": s["active"],
            "num_steps": 3,
        }

    @staticmethod
    def contact(contact_id: str, c: dict[str, Any]) -> dict[str, Any]:
        """The contact as Apollo's search lists it."""
        return {
            "id": contact_id,
            "email": c["email"],
            "emailer_campaign_ids": list(c["statuses"]),
            "contact_campaign_statuses": [
                {"emailer_campaign_id": k, "status": v} for k, v in c["statuses"].items()
            ],
        }

    def fill(self, note: Any, body: Any) -> Any:
        if note[0] == "raw":
            return copy.deepcopy(note[1])
        if note[0] == "error":
            return {"error": note[1]}
        if note[0] == "page":
            _, key, records, page, per_page = note
            page, per_page = max(1, int(page)), max(1, int(per_page))
            total = max(1, -(-len(records) // per_page))
            return {
                key: copy.deepcopy(records[(page - 1) * per_page : page * per_page]),
                "pagination": {
                    "page": page,
                    "per_page": per_page,
                    "total_entries": len(records),
                    "total_pages": total,
                },
            }
        return body

    def injected_body(self, code: int) -> Any:
        return {"message": f"HTTP {code}"}

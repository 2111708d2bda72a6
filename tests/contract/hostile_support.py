"""Support for ``test_hostile_paths``: vendor path templates, benign calls, hostile strings, a recorder.

The oracle is the vendor's own document: every path template (and method) it declares, read
from the same files the contract tests serve with Prism (the hand-written contracts for
Asana, HubSpot and Apollo). A request "stays on its path" when

* its URL is under the adapter's base URL,
* its (method, path) matches a template the adapter uses with *benign* input (learnt by
  running every action once with the names below), so ``DELETE /orgs/acme/memberships/mona``
  (a real GitHub operation, but not one the team actions use) counts as having left, and
* no segment decodes, once or more, to ``.``/``..`` or holds a backslash: a server that
  decodes before it normalises would climb out of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import yaml

from .prism import specs_dir

__all__ = [
    "BASE",
    "BEFORE",
    "BEFORE_BY_ACTION",
    "BENIGN",
    "NASTY",
    "Recorder",
    "Tally",
    "offending",
    "templates",
]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: Every adapter is pointed at ``http://<platform>.hostile.test/base``.
BASE = "/base"

DOCS: dict[str, list[Path]] = {
    "github": [Path("github/api.github.com.json")],
    "vercel": [Path("vercel/vercel-spec.2025-10-27.json")],
    "figma": [Path("figma/openapi.yaml")],
    "snowflake": [
        Path("snowflake/sqlapi.yaml"),
        Path("snowflake/warehouse.yaml"),
        Path("snowflake/database.yaml"),
        Path("snowflake/schema.yaml"),
    ],
    "weaviate": [Path("weaviate/schema.json")],
    "openrouter": [Path("openrouter/openapi.yaml")],
    "portkey": [Path("portkey/openapi.yaml")],
    "asana": [FIXTURES / "asana/openapi.yaml"],
    "apollo": [FIXTURES / "apollo/openapi.yaml"],
    "usergems": [FIXTURES / "usergems/openapi.yaml"],
    "gong": [FIXTURES / "gong/openapi.yaml"],
    "hubspot": [FIXTURES / "hubspot/openapi.yaml"],
    "lambdalabs": [FIXTURES / "lambdalabs/openapi.yaml"],
    "pinecone": [Path("pinecone/db_control_2026-04.oas.yaml")],
    "estuary": [FIXTURES / "estuary/openapi.yaml"],
}
_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


@dataclass(frozen=True)
class Template:
    """One declared operation: method, path template and its regex."""

    method: str
    path: str
    regex: re.Pattern[str]


def _regex(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


@cache
def templates(platform: str) -> tuple[Template, ...]:
    """Every (method, path) the vendor document declares (Linear: its one GraphQL endpoint)."""
    if platform == "linear":
        return (Template("POST", "/graphql", re.compile("/graphql")),)
    found: list[Template] = []
    for rel in DOCS[platform]:
        path = rel if rel.is_absolute() else specs_dir() / rel
        text = path.read_text()
        doc = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=yaml.CSafeLoader)
        for key, item in (doc.get("paths") or {}).items():
            for method in item or {}:
                if method in _METHODS:
                    found.append(Template(method.upper(), key, _regex(key)))
    return tuple(found)


def match(platform: str, method: str, path: str) -> Template | None:
    """The most specific declared template for ``method path`` (fewest placeholders), or None."""
    hits = [t for t in templates(platform) if t.method == method and t.regex.fullmatch(path)]
    return min(hits, key=lambda t: (t.path.count("{"), -len(t.path))) if hits else None


def offending(raw_path: str) -> str | None:
    """Why a sent path's segments could climb (a dot segment, a backslash), or None."""
    for seg in raw_path.split("/")[1:]:
        decoded = seg
        for _ in range(4):
            decoded = unquote(decoded)
            if "\\" in decoded:
                return f"segment {seg[:40]!r} holds a backslash"
            if any(p in (".", "..") for p in decoded.split("/")):
                return f"segment {seg[:40]!r} decodes to a dot segment"
    return None


class Recorder(httpx.AsyncBaseTransport):
    """Answers every request 200 ``{}`` (JSON) and records it; nothing leaves the process."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={}, request=request)


@dataclass
class Tally:
    """Figures for the report: examples, requests sent, requests that left, refusals."""

    examples: int = 0
    sent: int = 0
    left: int = 0
    refused: int = 0
    refused_before_sending: int = 0
    leaks: list[str] = field(default_factory=list)
    learnt: dict[str, set[tuple[str, str]]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line with every figure."""
        return (
            f"hostile examples={self.examples} requests sent={self.sent} left their path={self.left}"
            f" refused (ValidationFailedError)={self.refused}"
            f" of which before any request={self.refused_before_sending}"
        )


def learnt_ok(tally: Tally, platform: str, method: str, path: str) -> bool:
    """Whether ``method path`` matches a template this platform used with benign input."""
    tpl = match(platform, method, path)
    return tpl is not None and (tpl.method, tpl.path) in tally.learnt.get(platform, set())


def learn(tally: Tally, platform: str, requests: Iterable[httpx.Request]) -> list[str]:
    """Record the templates of benign requests; return the ones matching nothing declared."""
    unknown = []
    for request in requests:
        path = request.url.raw_path.decode().split("?", 1)[0].removeprefix(BASE)
        tpl = match(platform, request.method, path)
        if tpl is None:
            unknown.append(f"{request.method} {path}")
        else:
            tally.learnt.setdefault(platform, set()).add((tpl.method, tpl.path))
    return unknown


# -- inputs ---------------------------------------------------------------------------------

#: A valid (target, params) per action: the benign run, and the frame hostile values go into.
BENIGN: dict[str, tuple[str, dict[str, Any]]] = {
    "github.repo.create": ("acme/payments", {"private": True, "description": "Payments"}),
    "github.repo.archive": ("acme/web", {}),
    "github.repo.unarchive": ("acme/web", {}),
    "github.branch_protection.set": ("acme/web", {"branch": "main", "required_reviews": 2}),
    "github.team.add_member": ("acme/platform", {"user": "mona"}),
    "github.team.remove_member": ("acme/platform", {"user": "mona"}),
    "github.webhook.create": ("acme/web", {"url": "https://hooks.example.com/gh", "events": ["push"]}),
    "github.webhook.delete": ("acme/web", {"hook_id": 12345}),
    "github.secret.set": ("acme/web", {"name": "DEPLOY_TOKEN", "value": "secret://DEPLOY"}),
    "github.secret.delete": ("acme/web", {"name": "NPM_TOKEN"}),
    "github.repo.set_visibility": ("acme/web", {"visibility": "private"}),
    "github.repo.set_default_branch": ("acme/web", {"branch": "develop"}),
    "vercel.env.set": (
        "web",
        {"key": "API_URL", "value": "https://api.example.com", "environment": "production"},
    ),
    "vercel.env.unset": ("web", {"key": "API_URL", "environment": "production"}),
    "vercel.deployment.promote": ("web", {"deployment_id": "dpl_8fK2mQx9"}),
    "vercel.deployment.rollback": ("web", {"deployment_id": "dpl_8fK2mQx9"}),
    "vercel.domain.add": ("web", {"domain": "app.example.com"}),
    "vercel.domain.remove": ("web", {"domain": "app.example.com"}),
    "figma.webhook.create": (
        "1234567890",
        {"event_type": "FILE_UPDATE", "endpoint": "https://hooks.example.com/f"},
    ),
    "figma.webhook.delete": ("556677", {}),
    "figma.file.get": ("aBcD1234EfGh", {}),
    "snowflake.warehouse.create": ("REPORTING_WH", {"size": "XSMALL", "auto_suspend_seconds": 600}),
    "snowflake.warehouse.scale": ("ETL_WH", {"size": "LARGE"}),
    "snowflake.warehouse.suspend": ("ETL_WH", {}),
    "snowflake.warehouse.resume": ("ETL_WH", {}),
    "snowflake.warehouse.set_auto_suspend": ("ETL_WH", {"seconds": 300}),
    "snowflake.warehouse.drop": ("OLD_WH", {}),
    "snowflake.database.create": ("MARKETING", {}),
    "snowflake.database.drop": ("SANDBOX", {}),
    "snowflake.role.grant": ("JSMITH", {"role": "ANALYST"}),
    "snowflake.role.revoke": ("JSMITH", {"role": "ANALYST"}),
    "snowflake.schema.create": ("ANALYTICS.STAGING", {}),
    "snowflake.schema.drop": ("ANALYTICS.TMP", {}),
    "snowflake.schema.undrop": ("ANALYTICS.TMP", {}),
    "snowflake.user.create": ("JDOE", {"email": "jdoe@example.com", "default_role": "ANALYST"}),
    "snowflake.user.drop": ("JDOE", {}),
    "snowflake.user.disable": ("JDOE", {}),
    "snowflake.user.enable": ("JDOE", {}),
    "snowflake.resource_monitor.create": (
        "ETL_WH_MONITOR",
        {"credit_quota": 200, "frequency": "MONTHLY", "warehouse": "ETL_WH"},
    ),
    "snowflake.resource_monitor.set_quota": ("ETL_WH_MONITOR", {"credit_quota": 300}),
    "snowflake.resource_monitor.drop": ("ETL_WH_MONITOR", {}),
    "hubspot.property.create": (
        "lead_source",
        {"object_type": "contacts", "label": "Lead", "type": "string"},
    ),
    "hubspot.property.update": ("lead_source", {"object_type": "contacts", "label": "Lead Origin"}),
    "hubspot.property.archive": ("old_score", {"object_type": "contacts"}),
    "hubspot.pipeline.create": ("Enterprise Sales", {"object_type": "deals"}),
    "hubspot.pipeline.stage.create": ("Enterprise Sales", {"label": "Negotiation", "probability": 0.6}),
    "asana.project.create": ("Website Relaunch", {"team": "Marketing"}),
    "asana.project.archive": ("Website Relaunch", {}),
    "asana.project.unarchive": ("Website Relaunch", {}),
    "asana.task.create": ("Website Relaunch", {"name": "Draft email", "assignee": "me"}),
    "pinecone.index.create": ("product-search", {"dimension": 1536, "metric": "cosine"}),
    "pinecone.index.configure": ("product-search", {"replicas": 3}),
    "pinecone.index.delete": ("product-search", {}),
    "weaviate.index.create": ("Articles", {"dimension": 768, "metric": "cosine"}),
    "weaviate.index.delete": ("Articles", {}),
    "openrouter.key.create": ("batch-jobs", {"limit_usd": 10.0}),
    "openrouter.key.set_limit": ("batch-jobs", {"limit_usd": 100.0}),
    "openrouter.key.disable": ("batch-jobs", {}),
    "openrouter.key.enable": ("batch-jobs", {}),
    "portkey.api_key.create": ("support-bot", {"workspace": "ws-research"}),
    "portkey.api_key.rotate": ("support-bot", {}),
    "portkey.api_key.disable": ("support-bot", {}),
    "portkey.api_key.enable": ("support-bot", {}),
    "portkey.config.update": ("prod-routing", {"retry": 3}),
    "portkey.budget.set": ("workspace:research", {"limit_usd": 500.0}),
    "linear.project.create": ("Billing Revamp", {"team": "ENG"}),
    "linear.project.archive": ("Billing Revamp", {}),
    "linear.project.unarchive": ("Billing Revamp", {}),
    "linear.issue.create": ("ENG", {"title": "Checkout times out", "priority": 2}),
    "lambdalabs.instance.launch": ("trainer-1", {"instance_type": "gpu_1x_a10", "region": "us-west-1", "count": 1}),
    "lambdalabs.instance.terminate": ("trainer-1", {}),
    "lambdalabs.ssh_key.add": ("laptop", {"public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForDocs1234"}),
    "lambdalabs.ssh_key.remove": ("laptop", {}),
    "apollo.sequence.activate": ("Q4 Outbound", {}),
    "apollo.sequence.deactivate": ("Q4 Outbound", {}),
    "apollo.contact.add_to_sequence": ("jane@acme.com", {"sequence": "Q4 Outbound"}),
    "apollo.contact.remove_from_sequence": ("jane@acme.com", {"sequence": "Q4 Outbound"}),
    "usergems.contact.track": ("jane@acme.com", {}),
    "usergems.contact.untrack": ("jane@acme.com", {}),
    "estuary.capture.enable": ("acmeCo/postgres-orders", {}),
    "estuary.capture.disable": ("acmeCo/postgres-orders", {}),
    "estuary.materialization.enable": ("acmeCo/snowflake-orders", {}),
    "estuary.materialization.disable": ("acmeCo/snowflake-orders", {}),
    "gong.call.access.grant": ("jane@acme.com", {"call": "7782342274025937895"}),
    "gong.call.access.revoke": ("jane@acme.com", {"call": "7782342274025937895"}),
}

#: The before-state handed to ``execute``: ids a vendor answer would supply, replaced by hostile
#: values in the hostile runs (vendor answers are untrusted too).
BEFORE_IDS = ("id", "gid", "hash", "slug", "hook_id", "key_id", "project_id", "deployment_id")
BEFORE: dict[str, Any] = {
    "id": "a1b2c3",
    "gid": "1200",
    "hash": "h4sh",
    "slug": "pc-prod",
    "hook_id": 77,
    "name": "x",
    "kind": "workspace",
    "disabled": False,
    "status": "active",
    "label": "Enterprise Sales",
    "stages": [],
    "exists": True,
    "members": [],
    "archived": False,
    "limit_usd": 5,
    "production_deployment_id": "dpl_old",
    "previous_deployment_id": "dpl_prev",
}

#: What an action's before-state must hold besides :data:`BEFORE` for ``execute`` to send
#: anything (deactivating needs an active sequence: an inactive one is refused before sending).
BEFORE_BY_ACTION: dict[str, dict[str, Any]] = {"apollo.sequence.deactivate": {"active": True}}
#: Removing a contact from a sequence needs it to be in that sequence.
BEFORE_BY_ACTION["apollo.contact.remove_from_sequence"] = {"sequences": ["Q4 Outbound"]}
#: Gong's access changes take the call and the user's id from the before-state.
BEFORE_BY_ACTION["gong.call.access.grant"] = {"call": "7782342274025937895", "user_id": "234599484848423"}
BEFORE_BY_ACTION["gong.call.access.revoke"] = {**BEFORE_BY_ACTION["gong.call.access.grant"], "access": True}

#: Strings that tried, one way or another, to leave a path.
NASTY: tuple[str, ...] = (
    "..",
    ".",
    "%2e%2e",
    "%2E.",
    ".%2e",
    "%2e",
    "%252e%252e",
    "..%2f..",
    "..%5c",
    "%2f",
    "%5c",
    "../mona",
    "../../orgs",
    "a/../../b",
    "acme/..",
    "a/b",
    "/",
    "//evil.example",
    "a\\b",
    "..\\..",
    "a?x=1",
    "?",
    "a#frag",
    "#",
    "a\r\nX-Injected: 1",
    "\r\n",
    "a\x00b",
    "\x00",
    "\x7f",
    "a\tb",
    "\u2024\u2024",
    "\u2025",
    "\uff0e\uff0e",
    "a\uff0fb",
    "\uff0f..",
    "a\u2215b",
    "\u2215..",
    "a\u2044b",
    "\ufe68..",
    "\u200b..",
    "..\u200b",
    "\u202e..",
    "a\u2028b",
    "",
    " ",
    "..;",
    ";..",
    "https://evil.example/x",
    "@evil.example",
    "x" * 10240,
    "." * 10240,
    "/" * 3000,
    "%" * 2000,
)

"""The whole catalog against CATALOG.md: ids, risks, param names, inverses, normalisation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from adapters.catalog import ActionCall, Risk
from adapters.registry import CATALOG, all_specs, platform_specs, spec_for

C, R, D = Risk.CHANGE, Risk.READ, Risk.DESTRUCTIVE

#: CATALOG.md, row by row: action id → (risk, the param names it lists).
CONTRACT: dict[str, tuple[Risk, set[str]]] = {
    "snowflake.warehouse.create": (C, {"size", "auto_suspend_seconds"}),
    "snowflake.warehouse.scale": (C, {"size"}),
    "snowflake.warehouse.suspend": (C, set()),
    "snowflake.warehouse.resume": (C, set()),
    "snowflake.warehouse.set_auto_suspend": (C, {"seconds"}),
    "snowflake.warehouse.drop": (D, set()),
    "snowflake.database.create": (C, set()),
    "snowflake.database.drop": (D, set()),
    "snowflake.role.grant": (C, {"role"}),
    "snowflake.role.revoke": (C, {"role"}),
    "estuary.capture.enable": (C, set()),
    "estuary.capture.disable": (C, set()),
    "estuary.materialization.enable": (C, set()),
    "estuary.materialization.disable": (C, set()),
    "hubspot.property.create": (C, {"object_type", "label", "type"}),
    "hubspot.property.update": (C, {"object_type", "label"}),
    "hubspot.property.archive": (D, {"object_type"}),
    "hubspot.pipeline.create": (C, {"object_type"}),
    "hubspot.pipeline.stage.create": (C, {"label", "probability"}),
    "gong.call.list": (R, {"since"}),
    "gong.user.list": (R, set()),
    "usergems.contact.track": (C, set()),
    "usergems.contact.untrack": (C, set()),
    "apollo.sequence.activate": (C, set()),
    "apollo.sequence.deactivate": (C, set()),
    "apollo.contact.add_to_sequence": (C, {"sequence"}),
    "apollo.contact.remove_from_sequence": (C, {"sequence"}),
    "vercel.env.set": (C, {"key", "value", "environment"}),
    "vercel.env.unset": (C, {"key", "environment"}),
    "vercel.deployment.promote": (C, {"deployment_id"}),
    "vercel.deployment.rollback": (C, {"deployment_id"}),
    "vercel.domain.add": (C, {"domain"}),
    "vercel.domain.remove": (C, {"domain"}),
    "lambdalabs.instance.launch": (C, {"instance_type", "region", "count"}),
    "lambdalabs.instance.terminate": (D, set()),
    "lambdalabs.ssh_key.add": (C, {"public_key"}),
    "lambdalabs.ssh_key.remove": (C, set()),
    "github.repo.create": (C, {"private", "description"}),
    "github.repo.archive": (C, set()),
    "github.branch_protection.set": (C, {"branch", "required_reviews"}),
    "github.team.add_member": (C, {"user"}),
    "github.team.remove_member": (C, {"user"}),
    "github.webhook.create": (C, {"url", "events"}),
    "github.webhook.delete": (C, {"hook_id"}),
    "figma.webhook.create": (C, {"event_type", "endpoint"}),
    "figma.webhook.delete": (C, set()),
    "figma.file.get": (R, set()),
    "portkey.api_key.create": (C, set()),
    "portkey.api_key.rotate": (C, set()),
    "portkey.api_key.disable": (C, set()),
    "portkey.config.update": (C, {"fallback", "loadbalance", "retry"}),
    "portkey.budget.set": (C, {"limit_usd"}),
    "openrouter.key.create": (C, {"limit_usd"}),
    "openrouter.key.set_limit": (C, {"limit_usd"}),
    "openrouter.key.disable": (C, set()),
    "pgvector.index.create": (C, {"dimension", "metric"}),
    "pgvector.index.configure": (C, {"m", "ef_construction"}),
    "pgvector.index.delete": (D, set()),
    "pinecone.index.create": (C, {"dimension", "metric"}),
    "pinecone.index.configure": (C, {"replicas"}),
    "pinecone.index.delete": (D, set()),
    "weaviate.index.create": (C, {"dimension", "metric"}),
    "weaviate.index.delete": (D, set()),
    "slack.channel.create": (C, {"private"}),
    "slack.channel.archive": (C, set()),
    "slack.channel.unarchive": (C, set()),
    "slack.channel.set_topic": (C, {"topic"}),
    "slack.channel.invite": (C, {"users"}),
    "linear.project.create": (C, {"team"}),
    "linear.project.archive": (C, set()),
    "linear.issue.create": (C, {"title", "priority"}),
    "asana.project.create": (C, {"team"}),
    "asana.project.archive": (C, set()),
    "asana.task.create": (C, {"name", "assignee"}),
}

#: Inverses CATALOG.md names without parentheses: action → the inverse's action id.
NAMED_INVERSES = {
    "snowflake.warehouse.create": "snowflake.warehouse.drop",
    "snowflake.warehouse.scale": "snowflake.warehouse.scale",
    "snowflake.warehouse.suspend": "snowflake.warehouse.resume",
    "snowflake.warehouse.resume": "snowflake.warehouse.suspend",
    "snowflake.warehouse.set_auto_suspend": "snowflake.warehouse.set_auto_suspend",
    "snowflake.database.create": "snowflake.database.drop",
    "snowflake.role.grant": "snowflake.role.revoke",
    "snowflake.role.revoke": "snowflake.role.grant",
    "hubspot.property.create": "hubspot.property.archive",
    "hubspot.property.update": "hubspot.property.update",
    "usergems.contact.track": "usergems.contact.untrack",
    "apollo.sequence.activate": "apollo.sequence.deactivate",
    "apollo.contact.add_to_sequence": "apollo.contact.remove_from_sequence",
    "apollo.contact.remove_from_sequence": "apollo.contact.add_to_sequence",
    "vercel.deployment.promote": "vercel.deployment.promote",
    "vercel.deployment.rollback": "vercel.deployment.promote",
    "vercel.domain.add": "vercel.domain.remove",
    "lambdalabs.instance.launch": "lambdalabs.instance.terminate",
    "lambdalabs.ssh_key.add": "lambdalabs.ssh_key.remove",
    "lambdalabs.ssh_key.remove": "lambdalabs.ssh_key.add",
    "github.repo.create": "github.repo.archive",
    "github.repo.archive": "github.repo.unarchive",
    "github.team.add_member": "github.team.remove_member",
    "github.webhook.create": "github.webhook.delete",
    "github.webhook.delete": "github.webhook.create",
    "github.secret.set": "github.secret.set",
    "github.secret.delete": "github.secret.set",
    "github.repo.set_visibility": "github.repo.set_visibility",
    "github.repo.set_default_branch": "github.repo.set_default_branch",
    "figma.webhook.create": "figma.webhook.delete",
    "figma.webhook.delete": "figma.webhook.create",
    "portkey.api_key.create": "portkey.api_key.disable",
    "portkey.api_key.disable": "portkey.api_key.enable",
    "portkey.budget.set": "portkey.budget.set",
    "openrouter.key.create": "openrouter.key.disable",
    "openrouter.key.set_limit": "openrouter.key.set_limit",
    "openrouter.key.disable": "openrouter.key.enable",
    "pinecone.index.create": "pinecone.index.delete",
    "weaviate.index.create": "weaviate.index.delete",
    "slack.channel.create": "slack.channel.archive",
    "slack.channel.set_topic": "slack.channel.set_topic",
    "linear.project.create": "linear.project.archive",
    "linear.project.archive": "linear.project.unarchive",
    "asana.project.create": "asana.project.archive",
    "asana.project.archive": "asana.project.unarchive",
}

#: CATALOG.md marks these inverses in parentheses and they are not catalog actions.
NO_CATALOG_INVERSE = {
    "hubspot.pipeline.create", "hubspot.pipeline.stage.create",
    "slack.channel.invite", "linear.issue.create", "asana.task.create", "portkey.api_key.rotate",
}

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests1234 me@laptop"

#: One valid (target, params) per action, used to exercise validation and inverses.
SAMPLES: dict[str, tuple[str | None, dict[str, Any]]] = {
    "snowflake.warehouse.create": ("ML_WH", {"size": "medium"}),
    "snowflake.warehouse.scale": ("ETL_WH", {"size": "XL"}),
    "snowflake.warehouse.set_auto_suspend": ("ETL_WH", {"seconds": "5 minutes"}),
    "snowflake.role.grant": ("JSMITH", {"role": "analyst"}),
    "snowflake.role.revoke": ("JSMITH", {"role": "analyst"}),
    "snowflake.resource_monitor.create": ("ETL_WH_MONITOR", {"credit_quota": 200, "warehouse": "etl_wh"}),
    "snowflake.resource_monitor.set_quota": ("ETL_WH_MONITOR", {"credit_quota": "300 credits"}),
    "hubspot.property.create": ("renewal_date", {"object_type": "deal", "label": "Renewal Date", "type": "date"}),
    "hubspot.property.update": ("renewal_date", {"object_type": "deals", "label": "Contract Renewal"}),
    "hubspot.property.archive": ("old_field", {"object_type": "contacts"}),
    "hubspot.pipeline.stage.create": ("Enterprise", {"label": "Negotiation", "probability": "60%"}),
    "gong.call.list": (None, {"since": "monday"}),
    "apollo.contact.add_to_sequence": ("jane@acme.com", {"sequence": "Q4 Outbound"}),
    "apollo.contact.remove_from_sequence": ("jane@acme.com", {"sequence": "Q4 Outbound"}),
    "gong.call.access.grant": ("jane@acme.com", {"call": "7782342274025937895"}),
    "gong.call.access.revoke": ("jane@acme.com", {"call": "7782342274025937895"}),
    "vercel.env.set": ("web", {"key": "API_URL", "value": "https://api.example.com"}),
    "vercel.env.unset": ("web", {"key": "API_URL", "environment": "prod"}),
    "vercel.deployment.promote": ("web", {"deployment_id": "dpl_8fK2mQx9"}),
    "vercel.domain.add": ("web", {"domain": "App.Example.com"}),
    "vercel.domain.remove": ("web", {"domain": "app.example.com"}),
    "lambdalabs.instance.launch": ("trainer-1", {"instance_type": "gpu_1x_a100_sxm4", "region": "us-west-1"}),
    "lambdalabs.ssh_key.add": ("laptop", {"public_key": SSH_KEY}),
    "github.branch_protection.set": ("acme/web", {"required_reviews": 2}),
    "github.team.add_member": ("acme/platform", {"user": "@Octocat"}),
    "github.team.remove_member": ("acme/platform", {"user": "octocat"}),
    "github.webhook.create": ("acme/web", {"url": "https://hooks.example.com/gh"}),
    "github.webhook.delete": ("acme/web", {"hook_id": 12345}),
    "github.secret.set": ("acme/web", {"name": "DEPLOY_TOKEN", "value": "secret://NEW", "previous": "secret://OLD"}),
    "github.secret.delete": ("acme/web", {"name": "DEPLOY_TOKEN", "previous": "secret://OLD"}),
    "github.repo.set_visibility": ("acme/web", {"visibility": "public"}),
    "github.repo.set_default_branch": ("acme/web", {"branch": "develop"}),
    "figma.webhook.create": ("123456", {"event_type": "file update", "endpoint": "https://e.example.com/f"}),
    "portkey.config.update": ("prod-routing", {"fallback": "openai, anthropic"}),
    "portkey.budget.set": ("research", {"limit_usd": "$500"}),
    "openrouter.key.set_limit": ("batch-jobs", {"limit_usd": "100 usd"}),
    "pgvector.index.create": ("docs", {"dimension": 384}),
    "pgvector.index.configure": ("docs", {"m": 32, "ef_construction": 128}),
    "pinecone.index.create": ("recs", {"dimension": 1536}),
    "pinecone.index.configure": ("recs", {"replicas": 3}),
    "weaviate.index.create": ("Articles", {"dimension": 768}),
    "slack.channel.set_topic": ("incident-1", {"topic": "Investigating"}),
    "slack.channel.invite": ("incident-1", {"users": "@jane, @omar"}),
    "linear.project.create": ("Billing Revamp", {"team": "ENG"}),
    "linear.issue.create": ("ENG", {"title": "Checkout times out", "priority": "urgent"}),
    "asana.task.create": ("Website Relaunch", {"name": "Draft launch email"}),
}

#: A before-state carrying every key the spec modules document, and an after-state with new ids.
BEFORE: dict[str, Any] = {
    "size": "LARGE", "auto_suspend_seconds": 300, "label": "Old Label", "exists": True,
    "value_ref": "secretref:vercel/web/API_URL/3", "production_deployment_id": "dpl_prev1234",
    "public_key": SSH_KEY, "enabled": True, "branch": "main", "required_reviews": 1,
    "url": "https://old.example.com/h", "events": ["push"], "team_id": "123456",
    "event_type": "FILE_UPDATE", "endpoint": "https://old.example.com/f", "fallback": ["openai"],
    "loadbalance": None, "retry": 2, "limit_usd": 50.0, "replicas": 1, "topic": "old topic",
    "m": 16, "ef_construction": 64, "visibility": "private", "default_branch": "main",
    "credit_quota": 120,
}
AFTER: dict[str, Any] = {"hook_id": 777, "id": "888"}


def _call(action_id: str) -> ActionCall:
    target, params = SAMPLES.get(action_id, ("thing", {}))
    return spec_for(action_id).call(target, params)


def test_every_platform_is_registered() -> None:
    platforms = {a.split(".")[0] for a in CONTRACT}
    assert platforms <= set(CATALOG)
    for platform in platforms:
        assert platform_specs(platform), platform


@pytest.mark.parametrize("action_id", sorted(CONTRACT))
def test_contract_row(action_id: str) -> None:
    risk, params = CONTRACT[action_id]
    spec = spec_for(action_id)
    assert spec.risk is risk
    fields = spec.params.model_fields
    assert params <= set(fields), f"CATALOG.md params missing: {params - set(fields)}"
    for extra in set(fields) - params:  # adapters may add params, but only optional ones
        assert not fields[extra].is_required(), f"{action_id}: extra param {extra} must be optional"
    assert len(spec.examples) >= 3, "every action needs 3+ example utterances"
    assert len(set(spec.examples)) == len(spec.examples)


def test_no_duplicate_ids_and_ids_are_in_their_module() -> None:
    ids = [s.id for s in all_specs()]
    assert len(ids) == len(set(ids))
    for platform in CATALOG:
        assert all(s.platform == platform for s in platform_specs(platform))


def test_destructive_actions_have_no_inverse() -> None:
    destructive = [s for s in all_specs() if s.risk is Risk.DESTRUCTIVE]
    assert {s.id for s in destructive} >= {a for a, (r, _) in CONTRACT.items() if r is D}
    for spec in destructive:
        assert spec.inverse is None and not spec.reversible
        assert spec.inverse_hint, f"{spec.id} should say why it can't be undone"


@pytest.mark.parametrize("spec", [s for s in all_specs() if s.inverse is not None], ids=lambda s: s.id)
def test_reversible_inverse_names_a_catalog_action_with_valid_params(spec: Any) -> None:
    inverse = spec.derive_inverse(_call(spec.id), BEFORE, AFTER)
    assert inverse is not None
    inverse_spec = spec_for(inverse.action)  # raises for a non-catalog action
    assert inverse_spec.validate_params(inverse.params) is not None
    assert inverse.target


@pytest.mark.parametrize(("action_id", "expected"), sorted(NAMED_INVERSES.items()))
def test_named_inverse(action_id: str, expected: str) -> None:
    inverse = spec_for(action_id).derive_inverse(_call(action_id), BEFORE, AFTER)
    assert inverse is not None and inverse.action == expected


@pytest.mark.parametrize("action_id", sorted(NO_CATALOG_INVERSE))
def test_parenthesised_inverses_are_honest_hints(action_id: str) -> None:
    spec = spec_for(action_id)
    assert spec.inverse is None and spec.inverse_hint


def test_inverse_details() -> None:
    scale = spec_for("snowflake.warehouse.scale").derive_inverse(_call("snowflake.warehouse.scale"), BEFORE, None)
    assert scale == ActionCall(action="snowflake.warehouse.scale", target="ETL_WH", params={"size": "LARGE"})
    revoke = spec_for("snowflake.role.grant").derive_inverse(_call("snowflake.role.grant"), None, None)
    assert revoke is not None and revoke.params == {"role": "ANALYST"}
    auto = spec_for("snowflake.warehouse.set_auto_suspend")
    assert auto.derive_inverse(_call(auto.id), BEFORE, None).params == {"seconds": 300}  # type: ignore[union-attr]
    assert auto.derive_inverse(_call(auto.id), None, None) is None
    env = spec_for("vercel.env.set")
    unset = env.derive_inverse(_call(env.id), {"exists": False}, None)
    assert unset is not None and unset.action == "vercel.env.unset"
    restored = env.derive_inverse(_call(env.id), BEFORE, None)
    assert restored is not None and restored.params["value"].startswith("secretref:")
    limit = spec_for("openrouter.key.set_limit")
    unlimited = limit.derive_inverse(_call(limit.id), {"limit_usd": None}, None)
    assert unlimited is not None and unlimited.params == {"limit_usd": None}
    figma = spec_for("figma.webhook.delete").derive_inverse(_call("figma.webhook.delete"), BEFORE, None)
    assert figma is not None and figma.target == "123456"
    unprotected = spec_for("github.branch_protection.set")
    assert unprotected.derive_inverse(_call(unprotected.id), {"enabled": False}, None) is None


def test_secret_params() -> None:
    assert spec_for("vercel.env.set").secret_params == frozenset({"value"})
    for spec in all_specs():
        assert spec.secret_params <= set(spec.params.model_fields), spec.id


@pytest.mark.parametrize(
    ("action_id", "params", "expected"),
    [
        ("snowflake.warehouse.scale", {"size": "X-LARGE"}, {"size": "XLARGE"}),
        ("snowflake.warehouse.scale", {"size": "xlarge"}, {"size": "XLARGE"}),
        ("snowflake.warehouse.scale", {"size": "XL"}, {"size": "XLARGE"}),
        ("snowflake.warehouse.scale", {"size": "large"}, {"size": "LARGE"}),
        ("snowflake.warehouse.scale", {"size": "2X-Large"}, {"size": "XXLARGE"}),
        ("snowflake.warehouse.scale", {"size": "x-small"}, {"size": "XSMALL"}),
        ("snowflake.warehouse.create", {}, {"size": "XSMALL", "auto_suspend_seconds": 600}),
        ("snowflake.warehouse.set_auto_suspend", {"seconds": "2m"}, {"seconds": 120}),
        ("snowflake.warehouse.set_auto_suspend", {"seconds": "1 hour"}, {"seconds": 3600}),
        ("snowflake.role.grant", {"role": "data engineer"}, {"role": "DATA_ENGINEER"}),
        ("hubspot.property.create", {"object_type": "Contact", "label": " Lead  Source ", "type": "text"},
         {"object_type": "contacts", "label": "Lead Source", "type": "string"}),
        ("hubspot.pipeline.stage.create", {"label": "Won", "probability": 40}, {"label": "Won", "probability": 0.4}),
        ("hubspot.pipeline.stage.create", {"label": "Won", "probability": "0.25"},
         {"label": "Won", "probability": 0.25}),
        ("gong.call.list", {"since": "Monday"}, {"since": "monday"}),
        ("gong.call.list", {"since": "last 7 days"}, {"since": "7d"}),
        ("gong.call.list", {"since": "2pm"}, {"since": "14:00"}),
        ("vercel.env.unset", {"key": "API_URL", "environment": "prod"},
         {"key": "API_URL", "environment": "production"}),
        ("vercel.deployment.rollback", {}, {"deployment_id": None}),
        ("vercel.domain.add", {"domain": "https://App.Example.com/"}, {"domain": "app.example.com"}),
        ("lambdalabs.instance.launch", {"instance_type": "GPU_1X_A10", "region": "US-West-1"},
         {"instance_type": "gpu_1x_a10", "region": "us-west-1", "count": 1}),
        ("github.team.add_member", {"user": "@Mona-Lisa"}, {"user": "mona-lisa"}),
        ("github.webhook.create", {"url": "https://Hooks.Example.com/x", "events": "push, pull request"},
         {"url": "https://hooks.example.com/x", "events": ["push", "pull_request"]}),
        ("github.branch_protection.set", {}, {"branch": "main", "required_reviews": 1}),
        ("figma.webhook.create", {"event_type": "library publish", "endpoint": "https://x.example.com"},
         {"event_type": "LIBRARY_PUBLISH", "endpoint": "https://x.example.com"}),
        ("portkey.budget.set", {"limit_usd": "$1,500"}, {"limit_usd": 1500.0}),
        ("portkey.budget.set", {"limit_usd": "1.5k"}, {"limit_usd": 1500.0}),
        ("portkey.config.update", {"retry": 3}, {"fallback": None, "loadbalance": None, "retry": 3}),
        ("openrouter.key.create", {"limit_usd": "20 dollars"}, {"limit_usd": 20.0}),
        ("pinecone.index.create", {"dimension": 8, "metric": "dot"}, {"dimension": 8, "metric": "dotproduct"}),
        ("weaviate.index.create", {"dimension": 8, "metric": "euclidean"}, {"dimension": 8, "metric": "l2-squared"}),
        ("slack.channel.invite", {"users": "@Jane @omar jane"}, {"users": ["jane", "omar"]}),
        ("slack.channel.invite", {"users": ["U024BE7LH", "Kim@Example.com"]},
         {"users": ["U024BE7LH", "kim@example.com"]}),
        ("linear.issue.create", {"title": "x", "priority": "High"}, {"title": "x", "priority": 2}),
        ("asana.task.create", {"name": "Book venue", "assignee": "Kim@Example.COM"},
         {"name": "Book venue", "assignee": "kim@example.com"}),
        ("apollo.contact.add_to_sequence", {"sequence": "  Q4   Outbound "}, {"sequence": "Q4 Outbound"}),
    ],
)
def test_param_normalisation(action_id: str, params: dict[str, Any], expected: dict[str, Any]) -> None:
    assert spec_for(action_id).validate_params(params) == expected


@pytest.mark.parametrize(
    ("action_id", "params"),
    [
        ("snowflake.warehouse.scale", {"size": "gigantic"}),
        ("snowflake.warehouse.scale", {}),
        ("snowflake.warehouse.set_auto_suspend", {"seconds": -1}),
        ("snowflake.warehouse.scale", {"size": "LARGE", "color": "red"}),
        ("hubspot.pipeline.stage.create", {"label": "Won", "probability": 150}),
        ("gong.call.list", {"since": "whenever"}),
        ("vercel.env.set", {"key": "BAD KEY!", "value": "x"}),
        ("vercel.env.set", {"key": "OK", "value": "x", "environment": "staging"}),
        ("vercel.deployment.promote", {"deployment_id": "latest"}),
        ("lambdalabs.instance.launch", {"instance_type": "a100", "region": "us-west-1"}),
        ("lambdalabs.instance.launch", {"instance_type": "gpu_1x_a10", "region": "us-west-1", "count": 0}),
        ("lambdalabs.ssh_key.add", {"public_key": "not a key"}),
        ("github.branch_protection.set", {"required_reviews": 7}),
        ("github.webhook.create", {"url": "http://insecure.example.com"}),
        ("github.team.add_member", {"user": "bad user"}),
        ("portkey.budget.set", {"limit_usd": -5}),
        ("portkey.config.update", {}),
        ("portkey.config.update", {"fallback": ["a"], "loadbalance": {"b": 1}}),
        ("openrouter.key.set_limit", {}),
        ("pinecone.index.configure", {"replicas": 0}),
        ("pinecone.index.create", {"dimension": 0}),
        ("slack.channel.invite", {"users": []}),
        ("slack.channel.set_topic", {"topic": "x" * 251}),
        ("linear.issue.create", {"title": "x", "priority": 9}),
        ("asana.task.create", {"name": "x", "assignee": "not-an-email"}),
        ("apollo.contact.add_to_sequence", {}),
    ],
)
def test_invalid_params_are_rejected(action_id: str, params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        spec_for(action_id).validate_params(params)


def test_every_action_has_a_summary_and_target_words() -> None:
    for spec in all_specs():
        assert spec.summary and spec.target, spec.id
        assert spec.json_schema()["type"] == "object"

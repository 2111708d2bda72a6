"""What the LLM parser sends: the relevant catalog slice, deterministic and within budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.registry import all_specs
from evals.dataset import load_cases
from orchestrator.config import Settings
from orchestrator.parsing.llm import PROMPT_TOKEN_BUDGET, LLMParser
from orchestrator.parsing.llm_context import mask_values, output_schema, relevant_specs

DEV = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "dev.jsonl"


@pytest.fixture(scope="module")
def parser() -> LLMParser:
    return LLMParser(Settings(llm_model="m", llm_base_url="http://llm.test/v1"))


def test_the_expected_actions_are_offered_on_the_dev_split(parser: LLMParser) -> None:
    missed = []
    for case in load_cases(DEV):
        offered = {s.id for s in relevant_specs(case.text, case.inventory, limit=parser.max_actions)}
        missed.extend((case.id, step["action"]) for step in case.expect.get("actions", [])
                      if step["action"] not in offered)
    assert not missed


def test_requests_are_deterministic_and_within_budget(parser: LLMParser) -> None:
    inventory = {"snowflake.warehouse": ["ETL_WH", "ANALYTICS_WH"], "slack.channel": ["general"]}
    first = parser.messages("scale the analytics warehouse to large", inventory)
    again = parser.messages("scale the analytics warehouse to large",
                            {"slack.channel": ["general"], "snowflake.warehouse": ["ETL_WH", "ANALYTICS_WH"]})
    assert json.dumps(first) == json.dumps(again)
    (_, system), _user = first[0]
    assert "ANALYTICS_WH" in system and "general" not in system  # only the offered actions' resources
    longest = max(load_cases(DEV), key=lambda c: len(c.text))
    messages = parser.messages(longest.text, longest.inventory)[0]
    assert sum(len(m[1]) for m in messages) / 3.0 <= PROMPT_TOKEN_BUDGET


def test_out_of_scope_text_offers_no_actions() -> None:
    assert relevant_specs("tell me a joke", {}) == []
    schema = output_schema([])
    intents = {b["properties"]["intent"]["const"] for b in schema["anyOf"]}
    assert "action" not in intents and {"refuse", "clarify", "status"} <= intents


def test_every_catalog_action_has_a_schema_branch() -> None:
    schema = output_schema(all_specs())
    action = next(b for b in schema["anyOf"] if b["properties"]["intent"] == {"const": "action"})
    ids = [i["properties"]["action"]["const"] for i in action["properties"]["actions"]["items"]["anyOf"]]
    assert ids == [s.id for s in all_specs()]
    assert "$ref" not in json.dumps(schema)  # inlined: some endpoints reject references


def test_masking_round_trips_and_hides_secrets() -> None:
    text = "set API_TOKEN to tok_live_8f7e6d5c4b3a29180f7e6d5c4b3a2918 on vercel web, key ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1 me@box"
    masked, restore = mask_values(text)
    assert "tok_live" not in masked and "AAAAC3" not in masked
    for placeholder, original in restore.items():
        masked = masked.replace(placeholder, original)
    assert masked == text

"""Hybrid parser: the real offline parser decides when it is confident, the LLM otherwise.

The LLM side is served by the scripted endpoint of ``test_llm_guard`` (see its docstring for
why a mock transport stands in); the replayed eval with the real model's cassettes is in
``test_llm_eval``.
"""

from __future__ import annotations

import httpx2
import pytest

from adapters.catalog import ActionCall
from adapters.registry import spec_for
from orchestrator.parsing.hybrid import HybridParser
from orchestrator.parsing.offline import OfflineParser
from orchestrator.state import Intent, ParsedCommand
from tests.parsing.test_llm_guard import Endpoint, scale


def hybrid(endpoint: Endpoint, **kw: float) -> HybridParser:
    llm = endpoint.parser()
    return HybridParser(llm.settings, llm=llm, **kw)


def test_confident_offline_answer_makes_no_call() -> None:
    text = spec_for("pgvector.index.create").examples[0]
    offline = OfflineParser().parse(text, {})
    endpoint = Endpoint(scale())
    parser = hybrid(endpoint)
    assert parser.offline_decides(offline), "the catalog's own example should be parsed with confidence"
    parsed = parser.parse(text)
    assert parsed.parser == "offline" and parsed.intent is Intent.ACTION
    assert parsed.actions == offline.actions
    assert endpoint.requests == [] and parser.last_usage is None


def test_unsure_offline_answer_goes_to_the_llm() -> None:
    text = "could you kindly make ETL_WH one notch beefier, say large"
    offline = OfflineParser().parse(text, {})
    endpoint = Endpoint(scale())
    parser = hybrid(endpoint, threshold=1.01)  # nothing offline is confident enough
    assert not parser.offline_decides(offline) or offline.intent is Intent.REFUSE
    parsed = parser.parse(text)
    assert parsed.parser == "llm" and parsed.actions[0].action == "snowflake.warehouse.scale"
    assert len(endpoint.requests) == 1 and parser.last_usage is not None and parser.last_usage.calls == 1


@pytest.mark.parametrize(
    ("intent", "confidence", "final"),
    [
        (Intent.REFUSE, 0.1, True),  # a refusal is final, however unsure
        (Intent.ACTION, 0.95, True),
        (Intent.ACTION, 0.55, True),
        (Intent.ACTION, 0.3, False),
        (Intent.CLARIFY, 0.7, True),  # a deliberate question: the model can't know what wasn't said
        (Intent.CLARIFY, 0.1, False),  # "didn't understand": the model may
        (Intent.STATUS, 1.0, True),
    ],
)
def test_who_decides(intent: Intent, confidence: float, final: bool) -> None:
    parser = hybrid(Endpoint())
    assert parser.offline_decides(ParsedCommand(intent=intent, confidence=confidence)) is final


def test_model_down_falls_back_safely() -> None:
    down = [httpx2.Response(503, json={"error": {"message": "down"}})] * 4
    parser = hybrid(Endpoint(*down), threshold=1.01)
    parsed = parser.parse("could you kindly make ETL_WH one notch beefier, say large")
    assert parsed.parser == "offline"
    assert parsed.intent not in (Intent.ACTION, Intent.FREEZE, Intent.UNFREEZE)  # never an unsure change
    status = hybrid(Endpoint(*down), threshold=1.01).parse("status of snowflake")
    assert status.intent in (Intent.STATUS, Intent.CLARIFY)


def test_a_change_the_rules_never_considered_becomes_a_question() -> None:
    parser = hybrid(Endpoint())
    unsure = ParsedCommand(intent=Intent.CLARIFY, confidence=0.3,
                           candidates=["snowflake.warehouse.scale", "snowflake.warehouse.suspend"])
    drop = ParsedCommand(intent=Intent.ACTION, actions=[ActionCall(action="snowflake.warehouse.drop",
                                                                    target="ETL_WH")])
    asked = parser.consensus(unsure, drop, "do the thing to ETL_WH", {})
    assert asked.intent is Intent.CLARIFY and asked.actions == []
    assert asked.candidates[0] == "snowflake.warehouse.drop"
    scale = ParsedCommand(intent=Intent.ACTION, actions=[ActionCall(action="snowflake.warehouse.scale",
                                                                     target="ETL_WH", params={"size": "LARGE"})])
    assert parser.consensus(unsure, scale, "ETL_WH large-ify", {}) == scale


def test_a_platform_the_request_never_names_is_not_picked_for_it() -> None:
    parser = hybrid(Endpoint())
    tie = ParsedCommand(intent=Intent.CLARIFY, confidence=0.3,
                        candidates=["pinecone.index.delete", "weaviate.index.delete"])
    pick = ParsedCommand(intent=Intent.ACTION, actions=[ActionCall(action="pinecone.index.delete", target="docs")])
    assert parser.consensus(tie, pick, "delete the docs index", {}).intent is Intent.CLARIFY
    assert parser.consensus(tie, pick, "delete the docs index on pinecone", {}) == pick
    assert parser.consensus(tie, pick, "delete the docs index", {"pinecone.index": ["docs"]}) == pick

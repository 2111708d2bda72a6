"""The Slack app: hand-signed inbound requests, Web API calls against Slack's spec served by Prism.

Inbound requests are signed here with ``hmac`` exactly as Slack documents (v0, HMAC-SHA256 over
``v0:timestamp:body``). Outbound ``chat.postMessage`` / ``chat.postEphemeral`` go to Prism
serving Slack's published Web API description; ``response_url`` replies go to a local sink
(they are not part of the Web API contract).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.interfaces.conftest import Api, RecordingClient
from tests.interfaces.test_api import SlowParser


@pytest.fixture
def slack_client(prism: Any) -> Any:
    (server,) = prism.serve("slack", "slack_web_openapi_v2.json")
    return RecordingClient(server.base_url + "/")


@pytest.fixture
def team(api: Api) -> Api:
    api.link("UALICE", "alice", "operator")
    api.link("UCAROL", "carol", "approver")
    api.link("UBOB", "bob", "approver")
    api.link("UVIC", "vic", "viewer")
    return api


def _actions(post: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in post.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def _slack_rows(api: Api) -> int:
    from sqlmodel import select

    from state.models import SlackRequest

    with api.store.session() as s:
        return len(s.exec(select(SlackRequest)).all())


def _event(event_id: str, text: str, user: str = "UALICE", ts: str = "1700000000.000200") -> bytes:
    return json.dumps({"type": "event_callback", "team_id": "T1", "event_id": event_id, "event_time": 1700000000,
                       "event": {"type": "app_mention", "user": user, "text": text, "channel": "C1", "ts": ts}}
                      ).encode()


# -- signatures --------------------------------------------------------------------------


def test_missing_stale_future_or_tampered_signatures_are_refused(team: Api) -> None:
    form = ("command=%2Fsophia&text=help&user_id=UALICE&team_id=T1&channel_id=C1&trigger_id=t1"
            f"&response_url={team.sink.url('x')}").encode()
    cases = {
        "/slack/commands": (form, "application/x-www-form-urlencoded"),
        "/slack/events": (_event("EvSig", "<@UBOT> help"), "application/json"),
        "/slack/interactivity": (b"payload=" + json.dumps({"type": "block_actions", "trigger_id": "t2"}).encode(),
                                 "application/x-www-form-urlencoded"),
    }
    for path, (body, ctype) in cases.items():
        missing = team.client.post(path, content=body, headers={"Content-Type": ctype})
        assert missing.status_code == 401 and missing.json()["code"] == "webhook_rejected", missing.text
        assert team.slack(path, body, ctype, ts=int(time.time()) - 305).status_code == 401
        assert team.slack(path, body, ctype, ts=int(time.time()) + 305).status_code == 401
        assert team.slack(path, body, ctype, secret="not-the-signing-secret").status_code == 401
        signed = team.slack(path, body, ctype)
        assert signed.status_code == 200, signed.text
        # same signature headers, different body
        stamp = str(int(time.time()))
        import hashlib
        import hmac

        from tests.interfaces.conftest import SLACK_SECRET

        sig = "v0=" + hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        tampered = team.client.post(path, content=body + b"&x=1" if ctype.endswith("urlencoded") else body[:-1] + b" }",
                                    headers={"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig,
                                             "Content-Type": ctype})
        assert tampered.status_code == 401
    team.drain()
    # only the three correctly signed requests were accepted; the rejected ones left nothing behind
    assert _slack_rows(team) == 2  # the command and the event (the bare interaction is ignored)
    assert len(team.runs()) == 2


def test_url_verification_handshake(team: Api) -> None:
    body = json.dumps({"type": "url_verification", "token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV"}).encode()
    answer = team.slack("/slack/events", body, "application/json")
    assert answer.status_code == 200 and answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
    assert team.client.post("/slack/events", content=body, headers={"Content-Type": "application/json"}
                            ).status_code == 401


# -- commands and buttons ----------------------------------------------------------------


def test_slash_command_shows_the_plan_and_only_the_requester_applies_it(team: Api) -> None:
    started = time.perf_counter()
    ack = team.slash("create a vector index called slack-docs with 3 dimensions", name="plan")
    assert time.perf_counter() - started < 3.0  # Slack's deadline; the bench measures the real figure
    assert ack.status_code == 200 and ack.json()["response_type"] == "in_channel"
    assert "slack-docs" not in ack.json()["text"], "the unparsed command is not echoed to the channel"
    team.drain()
    (plan,) = team.sink.wait("plan")
    assert _actions(plan) == ["sophia_confirm", "sophia_cancel"]
    (run,) = team.runs()
    assert (run.status, run.actor, run.surface) == ("awaiting_confirmation", "slack:UALICE", "slack")
    team.press("confirm", run.id, user="UBOB", name="bob-press")
    team.drain()
    (refusal,) = team.sink.wait("bob-press")
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    assert "Only" in refusal["text"] and team.store.get_run(run.id).status == "awaiting_confirmation"
    team.press("confirm", run.id, user="UALICE", name="alice-press")
    team.drain()
    (applied,) = team.sink.wait("alice-press")
    assert applied["replace_original"] is True and _actions(applied) == []
    assert "Applied" in applied["text"] and team.store.get_run(run.id).status == "applied"
    assert [c.action for c in team.store.ledger.list(run_id=run.id)] == ["pgvector.index.create"]


def _awaiting_delete(team: Api, user: str, name: str) -> str:
    team.slash(f"create a vector index called {name} with 3 dimensions", user=user, name=f"{name}-c")
    team.drain()
    created = next(r for r in team.runs() if r.text.startswith(f"create a vector index called {name}"))
    team.press("confirm", created.id, user=user, name=f"{name}-c-ok")
    team.drain()
    assert team.store.get_run(created.id).status == "applied"
    team.slash(f"delete the vector index {name}", user=user, name=f"{name}-d")
    team.drain()
    delete = next(r for r in team.runs() if r.text == f"delete the vector index {name}")
    team.press("confirm", delete.id, user=user, name=f"{name}-d-ok")
    team.drain()
    (waiting,) = team.sink.wait(f"{name}-d-ok")
    assert _actions(waiting) == ["sophia_approve", "sophia_reject", "sophia_request_changes"]
    assert team.store.get_run(delete.id).status == "awaiting_approval"
    return delete.id


def test_approval_buttons_check_who_pressed_them(team: Api) -> None:
    run_id = _awaiting_delete(team, "UCAROL", "victim")
    for user, why in (("UVIC", "your role is viewer"), ("UALICE", "your role is operator"),
                      ("UNOBODY", "not linked"), ("UCAROL", "approval_invalid")):
        team.press("approve", run_id, user=user, name=f"approve-{user}")
        team.drain()
        (refusal,) = team.sink.wait(f"approve-{user}")
        assert refusal["response_type"] == "ephemeral" and why in refusal["text"], refusal
        assert team.store.get_run(run_id).status == "awaiting_approval"
    team.press("approve", run_id, user="UBOB", name="approve-bob")
    team.drain()
    (done,) = team.sink.wait("approve-bob")
    assert done["replace_original"] is True and "Applied" in done["text"]
    assert team.store.get_run(run_id).status == "applied"
    # a second press finds nothing to approve
    team.press("approve", run_id, user="UBOB", name="approve-bob-2")
    team.drain()
    assert team.sink.wait("approve-bob-2")[0]["response_type"] == "ephemeral"


def test_typing_approve_needs_the_approver_role_too(team: Api) -> None:
    run_id = _awaiting_delete(team, "UCAROL", "typed")
    team.slash(f"approve {run_id}", user="UALICE", name="typed-approve")
    team.drain()
    (answer,) = team.sink.wait("typed-approve")
    assert "approval_invalid" in answer["text"] and "may not decide" in answer["text"]
    assert team.store.get_run(run_id).status == "awaiting_approval"


def test_request_changes_and_reject_from_slack(team: Api) -> None:
    run_id = _awaiting_delete(team, "UCAROL", "keepme")
    team.press("request_changes", run_id, user="UBOB", name="rc")
    team.drain()
    (post,) = team.sink.wait("rc")
    assert "Changes requested by `bob`" in json.dumps(post["blocks"])
    assert team.store.get_run(run_id).status == "changes_requested"
    (answer,) = team.ctx.host.service.view(run_id)["approvals"]
    assert (answer["actor"], answer["source"], answer["decision"]) == ("bob", "slack:UBOB", "request_changes")


def test_unlinked_users_and_viewers_cannot_run_commands(team: Api) -> None:
    stranger = team.slash("create a vector index called nope with 3 dimensions", user="USTRANGER")
    assert stranger.json()["response_type"] == "ephemeral" and "slack link" in stranger.json()["text"]
    viewer = team.slash("create a vector index called nope with 3 dimensions", user="UVIC")
    assert viewer.json()["response_type"] == "ephemeral" and "operator" in viewer.json()["text"]
    team.drain()
    assert team.runs() == []


def test_mention_retries_make_exactly_one_run_answered_in_thread(team: Api, slack_client: Any) -> None:
    body = _event("Ev0RETRY1", "<@UBOT123> create a vector index called mentioned with 3 dimensions",
                  ts="1700000000.000300")
    for retry in (None, "1", "2", "3"):
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        assert team.slack("/slack/events", body, "application/json", headers=headers).status_code == 200
    team.drain()
    (run,) = team.runs()
    assert run.text == "create a vector index called mentioned with 3 dimensions" and run.actor == "slack:UALICE"
    posts = [c for c in slack_client.calls if c["method"] == "chat.postMessage"]
    assert len(posts) == 1 and posts[0]["data"]["thread_ts"] == "1700000000.000300"
    assert posts[0]["status"] == 200 and slack_client.request_violations() == []
    # an unlinked user's mention gets an ephemeral answer, through the contract too
    team.slack("/slack/events", _event("Ev0STRANGER", "<@UBOT123> status", user="USTRANGER"), "application/json")
    team.drain()
    assert [c["method"] for c in slack_client.calls][-1] == "chat.postEphemeral"
    assert slack_client.request_violations() == [] and len(team.runs()) == 1


# -- escaping ----------------------------------------------------------------------------

SMUGGLED = "<!channel> <@U0BOSS> <https://evil.example|click me> @here @everyone https://evil.example/x `x`"


def _leaks(text: str) -> list[str]:
    return [bad for bad in ("<!channel>", "<!here", "<@U", "<http", "@here", "@everyone", "https://")
            if bad in text]


def test_data_cannot_smuggle_mentions_or_links_into_messages() -> None:
    from orchestrator.interfaces.slack import render_drift, render_run
    from state.models import Drift

    view = {"run_id": "run_1", "status": "awaiting_approval", "actor": SMUGGLED, "text": SMUGGLED,
            "plan": {"steps": [{"call": {"action": SMUGGLED, "target": SMUGGLED, "params": {"x": SMUGGLED}},
                                "risk": "destructive", "before": {"n": SMUGGLED}, "expected": None}]},
            "decision": {"effect": "require_approval", "reasons": [{"rule": SMUGGLED, "message": SMUGGLED}]},
            "error": {"code": SMUGGLED, "message": SMUGGLED, "hint": SMUGGLED},
            "approvals": [{"decision": "request_changes", "actor": SMUGGLED, "comment": SMUGGLED}]}
    _, blocks = render_run(view)
    blocks += render_run(view | {"status": "changes_requested"})[1]
    drift = Drift(id="drift_1", platform="github", resource_type="repo", name=SMUGGLED, verb=SMUGGLED,
                  reported_actor=SMUGGLED, observed={"d": SMUGGLED}, before={"d": SMUGGLED},
                  revert={"action": SMUGGLED, "target": SMUGGLED, "params": {"p": SMUGGLED}})
    _, dblocks = render_drift(drift)
    rendered = json.dumps(blocks + dblocks, ensure_ascii=False)
    assert _leaks(rendered) == [] and "evil.example" in rendered  # the data is shown, inert


def test_command_text_is_escaped_end_to_end(team: Api) -> None:
    # Slack sends what the user typed with <, > and & as entities; we decode them to parse …
    typed = SMUGGLED.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    ack = team.slash(typed, name="smuggle")
    assert _leaks(json.dumps(ack.json(), ensure_ascii=False)) == []
    team.drain()
    (answer,) = team.sink.wait("smuggle")
    (run,) = team.runs()
    assert "<!channel>" in run.text  # … and keep the text as data …
    assert _leaks(json.dumps(answer, ensure_ascii=False)) == []  # … which is inert when shown


# -- acknowledgement speed and Socket Mode -----------------------------------------------


def test_acks_stay_fast_while_the_parser_is_slow(team: Api) -> None:
    team.ctx.host.service.deps.parsers["default"] = SlowParser(4.0)
    latencies = []
    for i in range(5):
        started = time.perf_counter()
        ack = team.slash(f"create a vector index called slow-{i} with 3 dimensions", name=f"slow-{i}")
        latencies.append(time.perf_counter() - started)
        assert ack.status_code == 200
    # each parse takes 4 s (20 s in all) on the service loop; an ack that waited for one would take ≥ 4 s
    assert max(latencies) < 2.0, latencies
    assert team.client.get("/healthz").status_code == 200
    team.drain()
    assert len(team.runs()) == 5


def test_socket_mode_envelopes_use_the_same_handlers(team: Api) -> None:
    from orchestrator.interfaces.slack_socket import socket_dispatch

    form = {"command": "/sophia", "text": "status", "user_id": "UALICE", "team_id": "T1", "channel_id": "C1",
            "response_url": team.sink.url("socket"), "trigger_id": "socket-trigger-1"}

    async def dispatch() -> Any:
        return await socket_dispatch(team.ctx.slack, "slash_commands", form)

    ack = team.client.portal.call(dispatch)
    assert ack["response_type"] == "in_channel"
    team.drain()
    (answer,) = team.sink.wait("socket")
    assert "Answer" in answer["text"]
    (run,) = team.runs()
    assert run.surface == "slack" and run.actor == "slack:UALICE"


def test_one_person_across_api_and_slack_cannot_approve_their_own_change(team: Api) -> None:
    team.key("carol", "approver")  # carol's API key; UCAROL is carol in Slack
    team.client.post("/v1/commands", json={"text": "create a vector index called mine with 3 dimensions"},
                     headers=team.h("carol"))
    pending = team.client.post("/v1/commands", json={"text": "delete the vector index mine"}, headers=team.h("carol"))
    assert pending.status_code == 202 and pending.json()["awaiting"]["requester"] == "carol"
    run_id = pending.json()["run_id"]
    team.press("approve", run_id, user="UCAROL", name="self")
    team.drain()
    (refusal,) = team.sink.wait("self")
    assert refusal["response_type"] == "ephemeral" and "someone else" in refusal["text"]
    team.press("approve", run_id, user="UBOB", name="other")
    team.drain()
    assert team.store.get_run(run_id).status == "applied"

"""A stateful Slack Web API stand-in on a loopback port, optionally checked by Prism.

No stateful Slack can run here. :class:`SlackDouble` keeps channels, members and users and
answers like the Web API (``ok``/``error`` bodies, cursors); :func:`serve` runs it as a real
HTTP server so slack-sdk's ``AsyncWebClient`` talks to it over aiohttp exactly as it would to
Slack. With ``prism_url`` every request is first forwarded to Prism serving Slack's published
contract and the exchange recorded (:attr:`SlackDouble.exchanges`) for the violation check;
the answer still comes from the double's state.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from adapters.catalog import ActionCall
from adapters.registry import spec_for
from adapters.testing_faults import Tally

__all__ = ["TOKEN", "SlackDouble", "scenario_calls", "serve"]

TOKEN = "xoxb-1111-2222-slacktesttoken"
_FORWARDED = ("authorization", "token", "content-type", "prefer")


class SlackDouble:
    """A stateful Slack Web API stand-in (channels, members, users) with scriptable failures."""

    def __init__(self) -> None:
        self.ids = itertools.count(100)
        self.channels: dict[str, dict[str, Any]] = {
            "C0LAUNCH01": {
                "id": "C0LAUNCH01",
                "name": "launch-week",
                "is_private": False,
                "is_archived": False,
                "topic": {"value": "Launch on Thursday"},
            },
            "C0OLDPRJ01": {
                "id": "C0OLDPRJ01",
                "name": "old-project",
                "is_private": False,
                "is_archived": True,
                "topic": {"value": ""},
            },
        }
        self.members: dict[str, set[str]] = {
            "C0LAUNCH01": {"U0BOT0001", "U0JANE001"},
            "C0OLDPRJ01": {"U0BOT0001"},
        }
        self.users = [
            {
                "id": "U0JANE001",
                "name": "jane",
                "profile": {"email": "jane@example.com", "display_name": "Jane"},
            },
            {
                "id": "U0OMAR001",
                "name": "omar",
                "profile": {"email": "omar@example.com", "display_name": "Omar"},
            },
            {"id": "U0GONE001", "name": "gone", "deleted": True, "profile": {"email": "gone@example.com"}},
        ]
        self.calls: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
        self.script: list[tuple[int, bytes, dict[str, str]]] = []
        self.exchanges: list[Any] = []
        self.faults = SlackFaults()

    def answer(self, method: str, verb: str, form: dict[str, str], headers: dict[str, str]) -> Any:
        self.calls.append((verb, method, form, headers))
        if headers.get("authorization") != f"Bearer {TOKEN}" or headers.get("token") != TOKEN:
            return {"ok": False, "error": "invalid_auth"}
        if verb == "POST" and not headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return {"ok": False, "error": "invalid_form_data"}
        channel = self.channels.get(form.get("channel", ""))
        if method == "auth.test":
            return {"ok": True, "team": "Acme", "user": "sophia", "team_id": "T0ACME", "user_id": "U0BOT0001"}
        if method == "conversations.list":
            return {
                "ok": True,
                "channels": list(self.channels.values()),
                "response_metadata": {"next_cursor": ""},
            }
        if method == "users.list":
            return {"ok": True, "members": self.users, "response_metadata": {"next_cursor": ""}}
        if method == "conversations.create":
            if any(c["name"] == form["name"] for c in self.channels.values()):
                return {"ok": False, "error": "name_taken"}
            cid = f"C0NEW{next(self.ids):05d}"
            self.channels[cid] = {
                "id": cid,
                "name": form["name"],
                "is_private": form["is_private"] == "true",
                "is_archived": False,
                "topic": {"value": ""},
            }
            self.members[cid] = {"U0BOT0001"}
            return {"ok": True, "channel": self.channels[cid]}
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if method == "conversations.info":
            return {"ok": True, "channel": channel}
        if method == "conversations.members":
            return {
                "ok": True,
                "members": sorted(self.members[channel["id"]]),
                "response_metadata": {"next_cursor": ""},
            }
        if method in ("conversations.archive", "conversations.unarchive"):
            archive = method.endswith(".archive")
            if channel["is_archived"] == archive:
                return {"ok": False, "error": "already_archived" if archive else "not_archived"}
            channel["is_archived"] = archive
            return {"ok": True}
        if method == "conversations.setTopic":
            channel["topic"] = {"value": form["topic"]}
            return {"ok": True, "channel": channel}
        if method == "conversations.invite":
            new = set(form["users"].split(","))
            if new & self.members[channel["id"]]:
                return {"ok": False, "error": "already_in_channel"}
            self.members[channel["id"]] |= new
            return {"ok": True, "channel": channel}
        return {"ok": False, "error": "unknown_method"}

    @property
    def mutating(self) -> list[str]:
        return [method for verb, method, _, _ in self.calls if verb == "POST"]


class SlackFaults:
    """Server-side faults for the conformance fault matrix (:mod:`adapters.testing_faults`).

    Slack's client is slack-sdk on aiohttp, not httpx, so the fault is injected where the
    request arrives: armed, the next POST (every Slack change is a POST; reads are GETs) is
    answered per the fault kind — dropped unapplied, 429, applied then dropped, applied then 503.
    """

    def __init__(self) -> None:
        self.kind: str | None = None
        self.armed = False
        self.tally = Tally()

    def arm(self) -> Tally:
        """Inject into the next POST; returns a fresh tally."""
        self.armed, self.tally = True, Tally()
        return self.tally

    def disarm(self) -> None:
        """Answer everything normally."""
        self.armed = False

    def take(self) -> str | None:
        """The fault for this request, once."""
        if not self.armed:
            return None
        self.armed = False
        self.tally.injected += 1
        return self.kind


@contextmanager
def serve(state: SlackDouble, *, prism_url: str | None = None) -> Iterator[str]:
    """Run ``state`` on a free loopback port; yields its base URL."""
    from tests.contract.prism import Exchange

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self, verb: str) -> None:
            url = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            query = raw.decode() if verb == "POST" else url.query
            form = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            if prism_url is not None:
                sent = {k: v for k, v in headers.items() if k in _FORWARDED}
                checked = httpx.request(
                    verb, f"{prism_url}{self.path}", headers=sent, content=raw, timeout=30
                )
                state.exchanges.append(Exchange(checked.request, checked))
            fault = state.faults.take() if verb == "POST" else None
            if fault in ("timeout_before", "429"):
                state.calls.append((verb, url.path.strip("/"), form, headers))
                if fault == "timeout_before":  # the request is lost before Slack acts on it
                    self.close_connection = True
                    return
                status, body, extra = 429, b'{"ok": false, "error": "ratelimited"}', {"retry-after": "1"}
            elif state.script:
                status, body, extra = state.script.pop(0)
                state.calls.append((verb, url.path.strip("/"), form, headers))
            else:
                answer = state.answer(url.path.strip("/"), verb, form, headers)
                status, body, extra = 200, json.dumps(answer).encode(), {}
                if verb == "POST":
                    state.faults.tally.delivered.append(("POST", url.path, raw, 200 if answer.get("ok") else 400))
                if fault in ("lost", "twice"):  # Slack acted; the connection drops before the answer
                    self.close_connection = True
                    return
                if fault == "5xx_after":
                    status, body, extra = 503, b'{"ok": false, "error": "fatal_error"}', {}
            extra = dict(extra)
            self.send_response(status)
            self.send_header("content-type", extra.pop("content-type", "application/json; charset=utf-8"))
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def scenario_calls() -> list[ActionCall]:
    """Every mutating action, in an order the double's state supports."""

    def call(action: str, target: str, **params: Any) -> ActionCall:
        return spec_for(f"slack.channel.{action}").call(target, params)

    return [
        call("create", "incident-2231"),
        call("set_topic", "#incident-2231", topic="Checkout errors — investigating"),
        call("invite", "incident-2231", users="@jane, omar@example.com"),
        call("archive", "launch-week"),
        call("unarchive", "old-project"),
    ]

"""A real local HTTP server that plays scripted answers, for the shared client's tests.

The server (stdlib ``ThreadingHTTPServer`` on 127.0.0.1) answers each request with the next
scripted response: a status, headers and body, or a misbehaviour (a truncated body, a stall
past the client's timeout), and records every request it received.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

__all__ = ["Answer", "Script", "Seen", "server"]


@dataclass
class Answer:
    """One scripted response."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    truncate: bool = False
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class Script:
    """The answers still to give, the requests received, and the peak concurrency."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.default = Answer(200, {"ok": True})
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def play(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def next(self) -> Answer:
        with self.lock:
            return self.answers.pop(0) if self.answers else self.default


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            with script.lock:
                script.seen.append(
                    Seen(
                        self.command,
                        url.path,
                        parse_qs(url.query),
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                script.in_flight += 1
                script.peak = max(script.peak, script.in_flight)
            try:
                answer = script.next()
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body
                ctype = "application/json"
                if isinstance(payload, (dict, list)):
                    payload = json.dumps(payload).encode()
                elif isinstance(payload, str):
                    payload = payload.encode()
                    ctype = "text/html; charset=utf-8"
                headers = {"Content-Type": ctype, **answer.headers}
                self.send_response(answer.status)
                for key, value in headers.items():
                    self.send_header(key, value)
                declared = len(payload) * 2 + 10 if answer.truncate else len(payload)
                self.send_header("Content-Length", str(declared))
                if answer.truncate:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
                if answer.truncate:
                    self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with script.lock:
                    script.in_flight -= 1

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()

"""A local HTTP endpoint standing in for Slack's ``response_url`` (hooks.slack.com).

``response_url`` posts are not part of Slack's Web API contract, so there is nothing for Prism
to serve; this server only records what was posted (JSON bodies) for the tests to inspect.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Sink"]


class Sink:
    """Records ``POST /<anything>`` JSON bodies; ``url(name)`` gives a distinct response_url."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with sink._lock:
                    sink.posts.append((self.path, body))
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def prefix(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def url(self, name: str) -> str:
        return self.prefix + name

    def at(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for path, body in self.posts if path == "/" + name]

    def wait(self, name: str, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(name)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"expected {count} post(s) to /{name}, got {self.at(name)}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""Contract-test harness: vendor OpenAPI files served by Stoplight Prism on 127.0.0.1.

Prism (npm ``@stoplight/prism-cli@5.14.2``) validates every request against the vendor's
published contract and answers from its examples. Violations come back in the
``sl-violations`` header (a JSON list of ``{location, severity, code, message}``) or, where
the operation declares no 4xx, in an ``application/problem+json`` body's ``validation`` list.
The two spell locations differently: the header prefixes ``request``/``response``
(``["request", "header"]``, ``["request", "path", "id"]``), the body lists the request's own
checks bare (``["header"]``, ``["path", "id"]``, ``["query", …]``, ``["body", …]``).
:func:`violations` gives the body's the ``request`` prefix, so every request-side violation
reads ``request.…`` whichever way it came. Only those count against an adapter: several
vendors' own examples break their own response schemas.

Where the vendor documents and Prism come from (the project's own copies, ``SOPHIA_SPECS_DIR``,
a pinned ``npm ci`` on first use) is :mod:`.provision`'s business; :func:`specs_dir`,
:func:`find_prism` and :func:`ensure_prism` are re-exported here.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .provision import PRISM_VERSION, ensure_prism, find_prism, project_root, specs_dir
from .strict import forget, register, strict_violations

__all__ = [
    "PRISM_VERSION",
    "Exchange",
    "PrismError",
    "PrismPool",
    "PrismServer",
    "RecordingTransport",
    "assert_no_request_violations",
    "ensure_prism",
    "find_prism",
    "free_port",
    "project_root",
    "request_violations",
    "specs_dir",
    "violations",
]

READY = "Prism is listening"
#: Seconds a server may take to say it is listening. Figma's 0.43 document took ~4 min with the
#: machine's two cores busy (about 40 s idle); a hung start is paid for once (see PrismPool).
START_TIMEOUT = 420.0


class PrismError(RuntimeError):
    """Prism could not be started (bad spec, port clash, timeout)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrismServer:
    """One ``prism mock`` process serving one spec file on a free loopback port."""

    def __init__(self, spec: Path, *, binary: Path, dynamic: bool = False) -> None:
        self.spec = spec
        self.binary = binary
        self.dynamic = dynamic
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.log: deque[str] = deque(maxlen=200)
        self._ready = threading.Event()
        self._said_ready = False
        self.started_in = 0.0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (Prism serves the spec's paths at the host root)."""
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        """Start the process (returns at once; :meth:`wait_ready` waits for it)."""
        self.port = free_port()
        cmd = [str(self.binary), "mock", "-h", "127.0.0.1", "-p", str(self.port), str(self.spec)]
        if self.dynamic:
            cmd.append("-d")
        self._started = time.monotonic()
        register(self.port, self.spec)
        self.process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
        )
        threading.Thread(target=self._drain, daemon=True, name=f"prism-{self.spec.name}").start()

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line.rstrip())
            if READY in line:
                self._said_ready = True
                self._ready.set()
        self._ready.set()  # its output ended: wait_ready needn't wait out the timeout

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Block until Prism says it is listening.

        Raises:
            PrismError: with Prism's last log lines when it exits or times out first.
        """
        # Readiness is Prism saying so: a process whose output ended without it failed, even if its
        # exit status isn't in yet (under load the pipe closes before the process is reaped).
        if not self._ready.wait(timeout) or not self._said_ready or self.process is None \
                or self.process.poll() is not None:
            tail = "\n".join(list(self.log)[-15:])
            self.stop()
            raise PrismError(f"prism did not start for {self.spec} within {timeout:.0f} s:\n{tail}")
        self.started_in = time.monotonic() - self._started

    def stop(self) -> None:
        """Terminate this server's process group (the one it was started in), and reap it."""
        self.reap(self.terminate())

    def terminate(self) -> subprocess.Popen[str] | None:
        """Send the process group SIGTERM; the process to :meth:`reap` (None if it had ended)."""
        proc, self.process = self.process, None
        forget(self.port)
        if proc is None or proc.poll() is not None:
            return None
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return None
        return proc

    @staticmethod
    def reap(proc: subprocess.Popen[str] | None) -> None:
        """Wait for a terminated process (SIGKILL after 10 s)."""
        if proc is None:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)


class PrismPool:
    """Session-wide servers: each spec file is started once, on first use, and reused.

    :meth:`prestart` launches servers a session will need without waiting for them, so slow
    starters (GitHub's 7 MB file, Figma's, which Prism takes minutes over on a busy machine)
    boot while other tests run. A server that fails to start is not tried again: every later
    test that asks for it fails at once with the first failure.
    """

    def __init__(self, specs: Path, binary: Path) -> None:
        self.specs = specs
        self.binary = binary
        self.servers: dict[Path, PrismServer] = {}
        self._launched: dict[Path, PrismServer] = {}
        self.failed: dict[Path, PrismError] = {}

    def _launch(self, path: Path, dynamic: bool) -> PrismServer:
        server = self._launched.get(path) or self.servers.get(path)
        if server is None:
            if not path.exists():
                raise FileNotFoundError(f"contract file not found: {path}")
            server = self._launched[path] = PrismServer(path, binary=self.binary, dynamic=dynamic)
            server.launch()
        return server

    def prestart(self, wanted: Iterable[tuple[str, str]]) -> None:
        """Launch ``(platform, file)`` servers now; :meth:`serve` waits for them later."""
        for platform, name in sorted(set(wanted)):
            path = self.specs / platform / name
            if path.exists():
                self._launch(path, dynamic=False)

    def serve(
        self, platform: str, *files: str, dynamic: bool = False, timeout: float = START_TIMEOUT
    ) -> list[PrismServer]:
        """Servers for ``specs/<platform>/<file>`` (started in parallel when new)."""
        wanted = [self.specs / platform / name for name in files]
        for path in wanted:
            if path in self.failed:
                raise PrismError(f"not retried: {self.failed[path]}")
        for path in wanted:
            self._launch(path, dynamic)
        for path in wanted:
            if path not in self.servers:
                server = self._launched.pop(path)
                try:
                    server.wait_ready(timeout)
                except PrismError as exc:
                    self.failed[path] = exc
                    raise
                self.servers[path] = server
        return [self.servers[p] for p in wanted]

    def close(self) -> None:
        """Stop every server this pool started: all told at once, then each waited for."""
        ending = [server.terminate() for server in [*self.servers.values(), *self._launched.values()]]
        for proc in ending:
            PrismServer.reap(proc)
        self.servers.clear()
        self._launched.clear()


# -- violations --------------------------------------------------------------------------


def violations(response: httpx.Response) -> list[dict[str, Any]]:
    """Every violation Prism reported for this exchange (header and problem+json body)."""
    found: list[dict[str, Any]] = []
    header = response.headers.get("sl-violations")
    if header:
        parsed = json.loads(header)
        found.extend(parsed if isinstance(parsed, list) else [parsed])
    if "problem+json" in response.headers.get("content-type", ""):
        try:
            body = json.loads(response.content or b"{}")
        except ValueError:
            body = {}
        if not isinstance(body, dict) or "prism/errors" not in str(body.get("type", "")):
            body = {}  # a vendor's own problem+json example is no verdict on the request
        found.extend(_as_request_side(v) for v in body.get("validation") or [] if isinstance(v, dict))
        if not body.get("validation") and body:
            # Prism's own refusals: no such path or method, no credential, unacceptable media type.
            found.append(
                {
                    "location": ["request"],
                    "code": str(body.get("type")).rsplit("#", 1)[-1],
                    "message": f"{body.get('title', '')}: {body.get('detail', '')}",
                }
            )
    return found


def _as_request_side(violation: dict[str, Any]) -> dict[str, Any]:
    """A Prism problem body's entry, located as the ``sl-violations`` header would locate it.

    Prism 5.14 builds that body (``UNPROCESSABLE_ENTITY``) from its input validation alone, with
    bare locations (``header``, ``path``, ``query``, ``body``); only its ``--errors`` template,
    unused here, lists entries already prefixed ``request``/``response``.
    """
    location = [str(part) for part in violation.get("location") or []]
    if location[:1] in (["request"], ["response"]):
        return violation
    return {**violation, "location": ["request", *location]}


def request_violations(response: httpx.Response) -> list[dict[str, Any]]:
    """The violations that are the client's fault: body, header, path, query, security, routing.

    Everything except the ``response`` side (vendors' examples that break their own schemas).
    """
    return [v for v in violations(response) if (v.get("location") or [""])[0] != "response"]


@dataclass
class Exchange:
    """One request the adapter sent and the answer Prism gave."""

    request: httpx.Request
    response: httpx.Response

    def describe(self) -> str:
        return f"{self.request.method} {self.request.url.raw_path.decode()} -> {self.response.status_code}"


def assert_no_request_violations(
    exchanges: Iterable[Exchange], *, waived: Callable[[dict[str, Any]], bool] | None = None
) -> int:
    """Fail listing every request-side violation; return how many exchanges were checked.

    Prism's findings plus strict mode's (:func:`~tests.contract.strict.strict_violations`: the
    body validated against the operation's schema with unknown properties refused). ``waived`` names violations a spec makes unavoidable (each use must say why, and a test
    must show no request could satisfy the spec there).
    """
    problems = []
    count = 0
    for ex in exchanges:
        count += 1
        for v in [*request_violations(ex.response), *strict_violations(ex.request)]:
            if waived is not None and waived(v):
                continue
            problems.append(
                f"{ex.describe()}: {'.'.join(map(str, v.get('location', [])))}: {v.get('message')}"
            )
    assert not problems, "request-side contract violations:\n" + "\n".join(problems)
    return count


@dataclass
class RecordingTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport that records every exchange and can route and force codes.

    Args:
        routes: path prefix → base URL; a request whose path starts with a prefix goes to
            that server (one vendor API split over several spec files, one Prism each).
        prefer: called per request; a non-None answer is sent as ``Prefer: code=…`` (how
            tests force 401/404/429 from Prism for the first N attempts only).
        edit_json: adjusts a JSON answer before the adapter sees it (the recorded exchange
            keeps Prism's original): how a test picks fixture state Prism's single canned
            example can't express. Each use says why.
        override: replaces Prism's whole answer (recorded as the exchange's answer) when it
            returns a response; asked only when Prism found nothing wrong with the request, so
            a fault the document doesn't declare (a 429) can follow a request Prism judged.
    """

    routes: Mapping[str, str] = field(default_factory=dict)
    prefer: Callable[[httpx.Request], str | None] | None = None
    edit_json: Callable[[httpx.Request, Any], Any] | None = None
    override: Callable[[httpx.Request, httpx.Response], httpx.Response | None] | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    _inner: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncHTTPTransport] = field(
        default_factory=weakref.WeakKeyDictionary
    )

    def _transport(self) -> httpx.AsyncHTTPTransport:
        # One connection pool per event loop (the conformance suite runs each call in its own).
        loop = asyncio.get_running_loop()
        if loop not in self._inner:
            self._inner[loop] = httpx.AsyncHTTPTransport()
        return self._inner[loop]

    def _route(self, request: httpx.Request) -> httpx.Request:
        path = request.url.path
        for prefix, base in sorted(self.routes.items(), key=lambda kv: -len(kv[0])):
            if path.startswith(prefix):
                target = httpx.URL(base)
                request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
                request.headers["host"] = f"{target.host}:{target.port}"
                break
        return request

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request = self._route(request)
        if self.prefer is not None:
            code = self.prefer(request)
            if code is not None:
                request.headers["Prefer"] = f"code={code}"
        response = await self._transport().handle_async_request(request)
        await response.aread()
        if self.override is not None and not request_violations(response):
            substitute = self.override(request, response)
            if substitute is not None:
                await response.aclose()
                substitute.request = request
                response = substitute
        self.exchanges.append(Exchange(request, response))
        if self.edit_json is not None and "json" in response.headers.get("content-type", ""):
            edited = self.edit_json(request, json.loads(response.content or b"null"))
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
            response = httpx.Response(response.status_code, headers=headers, json=edited, request=request)
        return response

    async def aclose(self) -> None:
        transport = self._inner.pop(asyncio.get_running_loop(), None)
        if transport is not None:
            await transport.aclose()

    def forced(self, *codes: int | None) -> None:
        """Force the next requests' statuses, one per request (None: as served), then pass through."""
        queue = deque(None if c is None else str(c) for c in codes)
        self.prefer = lambda request: queue.popleft() if queue else None

    def take(self) -> list[Exchange]:
        """The exchanges so far, clearing the record."""
        taken, self.exchanges = self.exchanges, []
        return taken

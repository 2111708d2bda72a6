"""Run one :class:`~orchestrator.service.OrchestratorService` on its own event-loop thread.

The host gives the service a private loop in a daemon thread; HTTP handlers ``await
host.call(...)`` and their own loop stays free for health probes and Slack's 3-second
acknowledgements. Calls run concurrently on the service loop: the service sends its blocking
work (parsing, which may call a model for seconds, and the synchronous store) to worker
threads, so one slow run doesn't hold up the others.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from orchestrator.config import Settings
    from orchestrator.service import OrchestratorService

__all__ = ["ServiceHost"]

T = TypeVar("T")


class ServiceHost:
    """Owns a service and the thread/loop it runs on; ``start()`` then ``call()``/``run()``."""

    def __init__(self, settings: Settings, *, service: OrchestratorService | None = None,
                 name: str = "sophia-service") -> None:
        self.settings = settings
        self._service = service
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def service(self) -> OrchestratorService:
        """The running service (after :meth:`start`)."""
        if self._service is None:
            raise RuntimeError("the service host is not started")
        return self._service

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The service's event loop."""
        if self._loop is None:
            raise RuntimeError("the service host is not started")
        return self._loop

    def start(self, timeout: float = 120.0) -> None:
        """Start the thread, open the service on it, and wait until it is ready.

        Raises:
            Exception: whatever the service raised while starting (e.g. store unavailable).
        """
        self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError(f"the service did not start within {timeout:.0f} s")
        if self._error is not None:
            raise self._error

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            if self._service is None:
                from orchestrator.service import OrchestratorService

                self._service = OrchestratorService(self.settings)
            loop.run_until_complete(self._service.start())
            from orchestrator.interfaces.directory import install

            install(self._service)
        except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
            self._error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def submit(self, fn: Callable[[OrchestratorService], Awaitable[T]]) -> Future[T]:
        """Schedule ``fn(service)`` on the service loop; a concurrent future for its result.

        The caller's span and log ids go with it (:func:`orchestrator.tracing.carry`), so a run a
        request starts is traced under that request.
        """
        from orchestrator.tracing import carry

        carried = carry()

        async def runner() -> T:
            with carried():
                return await fn(self.service)

        return asyncio.run_coroutine_threadsafe(runner(), self.loop)

    async def call(self, fn: Callable[[OrchestratorService], Awaitable[T]]) -> T:
        """``await fn(service)`` on the service loop, from any other event loop."""
        return await asyncio.wrap_future(self.submit(fn))

    def run(self, fn: Callable[[OrchestratorService], Awaitable[T]], timeout: float | None = None) -> T:
        """Blocking form of :meth:`call` (for threads without a loop)."""
        return self.submit(fn).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Close the service and stop the thread."""
        if self._loop is None or self._thread is None or not self._thread.is_alive():
            return
        if self._service is not None and self._error is None:
            try:
                asyncio.run_coroutine_threadsafe(self._service.close(), self._loop).result(timeout)
            except Exception:  # noqa: BLE001, S110 - closing is best effort at shutdown
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    def ready(self) -> bool:
        """Whether the service started and its thread is alive."""
        return self._started.is_set() and self._error is None and bool(self._thread and self._thread.is_alive())


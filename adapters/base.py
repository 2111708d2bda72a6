"""The one interface every platform adapter implements.

An adapter declares its actions (:class:`~adapters.catalog.ActionSpec`) and capabilities as
class attributes and implements three public operations — :meth:`PlatformAdapter.configure`,
:meth:`PlatformAdapter.get_status`, :meth:`PlatformAdapter.handle_webhook` — on top of a few
primitives the orchestrator also drives directly for write-ahead logging:

* ``observe(call)``  reads the current state of the call's target (``None`` = absent);
* ``predict(call, before)`` says what the state should be after the call (for dry runs,
  plans, read-back checks and crash reconciliation);
* ``execute(call, before)`` performs the change and returns the state read back after it.

``execute`` and ``observe`` dispatch by naming convention to ``do_<resource>_<verb>`` and
``observe_<resource>`` methods, so an adapter is a set of small, obviously-named coroutines.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.catalog import ActionCall, ActionSpec, Stack
from orchestrator.errors import SophiaError, ValidationFailedError

if TYPE_CHECKING:
    from orchestrator.config import Settings

__all__ = [
    "ChangeResult",
    "ObservedChange",
    "PlatformAdapter",
    "PlatformStatus",
    "State",
    "WebhookRejectedError",
    "WebhookRequest",
    "WebhookResult",
    "matches",
]

#: The observed state of one resource; None means it does not exist.
State = dict[str, Any] | None

#: Called with the before-state and prediction, before anything is sent to the platform.
WriteAhead = Callable[[State, State], Awaitable[None]]


@dataclass
class ChangeResult:
    """What one configure call did (or, for a dry run, would do)."""

    call: ActionCall
    before: State
    expected: State
    after: State = None
    inverse: ActionCall | None = None
    dry_run: bool = False


@dataclass
class PlatformStatus:
    """Health plus the platform's resources, by type (``{"index": [{"name": …}, …]}``)."""

    platform: str
    healthy: bool
    configured: bool = True
    message: str = ""
    inventory: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class WebhookRequest:
    """An inbound webhook exactly as received: raw body bytes and lower-cased headers."""

    headers: Mapping[str, str]
    body: bytes
    path: str = ""
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        return self.headers.get(name.lower())


@dataclass
class ObservedChange:
    """A resource change a platform reported (by webhook or refresh)."""

    resource_type: str
    name: str
    state: State
    verb: str = "updated"
    actor: str | None = None


@dataclass
class WebhookResult:
    """A verified webhook turned into data: dedup key, event type, resource changes."""

    platform: str
    delivery_id: str
    event_type: str
    changes: list[ObservedChange] = field(default_factory=list)
    summary: str = ""


class WebhookRejectedError(SophiaError):
    """A webhook failed verification (signature, freshness, missing header)."""

    code = "webhook_rejected"
    exit_code = 14
    http_status = 401


def matches(expected: State, observed: State) -> bool:
    """Whether ``observed`` satisfies ``expected``: both absent, or every expected key equal."""
    if expected is None or observed is None:
        return expected is None and observed is None
    return all(observed.get(key) == value for key, value in expected.items())


class PlatformAdapter(ABC):
    """Base class for platform adapters.

    Subclasses set the class attributes and implement ``observe_<resource>``,
    ``do_<resource>_<verb>`` for every action, ``predict`` and ``get_status``.
    Capabilities are class attributes, never isinstance checks.
    """

    name: ClassVar[str]
    display_name: ClassVar[str] = ""
    stack: ClassVar[Stack]
    actions: ClassVar[tuple[ActionSpec, ...]] = ()
    resource_types: ClassVar[tuple[str, ...]] = ()
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True
    #: Per resource type, what a resource holds beyond the state we observe, as what a
    #: re-create would *not* bring back (``{"repo": "contents, issues and settings are not
    #: restored"}``). Drift never offers re-creating such a resource as a revert.
    content_on_delete: ClassVar[Mapping[str, str]] = {}
    #: False: the platform offers no way to read a change back (UserGems' API only accepts
    #: writes). ``execute`` then returns what the platform's answer says, not an observed state;
    #: the ledger records an acknowledged change ``applied`` with ``verified`` False (shown as
    #: "unverified"), a lost answer ``needs_reconcile`` that no reconciler can settle, and an undo
    #: never marks what it undoes ``rolled_back`` (:mod:`orchestrator.settle`).
    read_back: ClassVar[bool] = True

    def __init__(self, settings: Settings | None = None) -> None:
        if settings is None:
            from orchestrator.config import get_settings

            settings = get_settings()
        self.settings = settings

    # -- catalog -------------------------------------------------------------------------
    @classmethod
    def spec(cls, action_id: str) -> ActionSpec:
        """The spec for one of this adapter's actions."""
        for spec in cls.actions:
            if spec.id == action_id:
                return spec
        known = ", ".join(s.id for s in cls.actions)
        raise ValidationFailedError(
            f"{cls.name} has no action {action_id!r}", hint=f"known actions: {known}"
        )

    @classmethod
    def recreate_loses(cls, resource_type: str, before: State) -> str | None:
        """What re-creating a deleted ``resource_type`` from ``before`` would not restore (None: nothing)."""
        return cls.content_on_delete.get(resource_type)

    # -- primitives ----------------------------------------------------------------------
    async def observe(self, call: ActionCall) -> State:
        """Read the current state of ``call.target`` (None if it does not exist)."""
        spec = self.spec(call.action)
        reader = getattr(self, f"observe_{spec.resource.replace('.', '_')}", None)
        if reader is None:
            return None
        result: State = await reader(call)
        return result

    def precheck(self, call: ActionCall, before: State) -> None:
        """Raise a clear error if ``call`` can't work from ``before`` (e.g. create over an existing one).

        Called while planning and again just before executing; must not touch the platform.
        """

    @abstractmethod
    def predict(self, call: ActionCall, before: State) -> State:
        """The state ``call`` should leave its target in, given ``before``."""

    async def execute(self, call: ActionCall, before: State) -> State:
        """Perform ``call`` and return the target's state read back afterwards."""
        spec = self.spec(call.action)
        handler = getattr(self, self.handler_name(spec))
        result: State = await handler(call, before)
        return result

    @staticmethod
    def handler_name(spec: ActionSpec) -> str:
        """``do_<resource>_<verb>``: the method that performs ``spec``."""
        return f"do_{spec.resource.replace('.', '_')}_{spec.verb}"

    def reached(self, call: ActionCall, expected: State, observed: State) -> bool:
        """Whether the observed state is the one the call was meant to produce."""
        return matches(expected, observed)

    # -- the public interface ------------------------------------------------------------
    async def configure(
        self, call: ActionCall, *, dry_run: bool = False, write_ahead: WriteAhead | None = None
    ) -> ChangeResult:
        """Apply one action: validate, observe, (write ahead), execute, read back, derive inverse.

        With ``dry_run`` nothing mutating is sent: the result carries before and expected.
        ``write_ahead`` is awaited with (before, expected) before the platform is touched;
        if it raises, nothing is sent.
        """
        spec = self.spec(call.action)
        call = spec.call(call.target, call.params)
        before = await self.observe(call)
        self.precheck(call, before)
        expected = self.predict(call, before)
        if dry_run:
            return ChangeResult(call, before, expected, dry_run=True)
        if write_ahead is not None:
            await write_ahead(before, expected)
        after = await self.execute(call, before)
        return ChangeResult(call, before, expected, after, spec.derive_inverse(call, before, after))

    @abstractmethod
    async def get_status(self) -> PlatformStatus:
        """Health and inventory of the platform."""

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify and interpret a webhook; text in it is data, never a command."""
        raise WebhookRejectedError(
            f"{self.name} does not accept webhooks", hint="check the webhook URL's platform name"
        )

    async def aclose(self) -> None:
        """Release connections; adapters with clients override this."""

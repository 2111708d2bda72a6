"""The Apollo adapter class (the package doc says how each action is carried out)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State, matches
from adapters.catalog import ActionCall, Stack
from adapters.http import HttpAdapter, api_path
from adapters.specs.apollo import ACTIONS
from orchestrator.errors import AdapterError, ConfigError, NotFoundError, SophiaError, ValidationFailedError

from .records import (
    ALREADY_THERE,
    CONTACT_ACTIONS,
    DEFAULT_BASE_URL,
    EMAIL_ACCOUNT_VAR,
    ID,
    apollo_id,
    contact_email,
    emails,
    key,
    memberships,
    obj,
    sequence_name,
    sequence_state,
    sorted_names,
    unsent,
    without,
)

__all__ = ["ApolloAdapter"]


class ApolloAdapter(HttpAdapter):
    """Apollo sequences (activate, deactivate) and contacts (add to a sequence, remove from it)."""

    name: ClassVar[str] = "apollo"
    display_name: ClassVar[str] = "Apollo"
    stack: ClassVar[Stack] = Stack.DATA
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("sequence", "contact")
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    #: Apollo documents its 401 as text/plain; everything else is JSON.
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json, text/plain;q=0.5"}
    #: POST operations that only read (Apollo's searches): the fault matrix does not count them
    #: as changes (:func:`adapters.testing_faults.is_mutating`).
    read_only_posts: ClassVar[tuple[str, ...]] = ("/emailer_campaigns/search", "/contacts/search")

    #: Records per search page (Apollo allows up to 100).
    page_size: ClassVar[int] = 100
    #: Most pages read for one search; more is reported, never silently truncated.
    max_pages: ClassVar[int] = 50

    # -- reads -----------------------------------------------------------------------------

    async def _search(
        self,
        path: str,
        field: str,
        *,
        action: str,
        target: str | None,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Every record under ``field`` of a paginated Apollo search (a POST that reads)."""
        records: list[dict[str, Any]] = []
        for page in range(1, self.max_pages + 1):
            paging = {"page": page, "per_page": self.page_size}
            reply = await self.http.request(
                "POST",
                path,
                action=action,
                target=target,
                params={**(query or {}), **{k: str(v) for k, v in paging.items()}} if body is None else None,
                json={**body, **paging} if body is not None else None,
                # A search is a read, safe to repeat after a 5xx or a timeout; Apollo takes no
                # idempotency key, so this only tells the shared client so (nothing is sent).
                idempotency_key=f"read-{uuid.uuid4()}",
            )
            data = obj(reply.data)
            found = data.get(field)
            if not isinstance(found, list):
                raise AdapterError(
                    f"apollo answered {path} without a {field} list (during {action})",
                    hint="Apollo or a proxy in front of it is misbehaving; retry later",
                    details={"platform": "apollo", "action": action},
                )
            records.extend(r for r in found if isinstance(r, dict))
            pages = obj(data.get("pagination")).get("total_pages")
            if not found or not isinstance(pages, int) or page >= pages:
                return records
        raise AdapterError(
            f"apollo: {path} has more than {self.max_pages * self.page_size} matches ({action})",
            hint="too many to search; use a more specific name",
            details={"platform": "apollo", "action": action},
        )

    async def _sequences(self, action: str, name: str | None = None) -> list[dict[str, Any]]:
        query = {"q_name": name} if name else {}
        return await self._search(
            "/emailer_campaigns/search", "emailer_campaigns", action=action, target=name, query=query
        )

    @staticmethod
    def _pick(raws: list[dict[str, Any]], name: str, action: str) -> dict[str, Any] | None:
        """The one sequence called ``name`` among ``raws``, None, or an ambiguity error."""
        found = [r for r in raws if r.get("name") == name] or [
            r for r in raws if key(r.get("name")) == key(name)
        ]
        if len(found) > 1:
            found = [r for r in found if r.get("archived") is not True] or found
        if len(found) > 1:
            listed = ", ".join(
                f"{r.get('id')}{' (archived)' if r.get('archived') else ''}" for r in found[:10]
            )
            raise unsent(
                ValidationFailedError(
                    f"apollo: {len(found)} sequences are called {name!r}: {listed}",
                    hint="rename one of them in Apollo so the name is unique",
                    details={
                        "platform": "apollo",
                        "action": action,
                        "candidates": [r.get("id") for r in found],
                    },
                )
            )
        return found[0] if found else None

    async def observe_sequence(self, call: ActionCall) -> State:
        """The sequence's state (see the module doc) or None."""
        name = sequence_name(call.target)
        raw = self._pick(await self._sequences(call.action, name), name, call.action)
        return sequence_state(raw) if raw is not None else None

    async def _read_sequence(self, sequence_id: str, name: str, action: str) -> State:
        """Read back: search by the name it had and take the sequence with this id (None: gone)."""
        raws = await self._sequences(action, name)
        same = [r for r in raws if r.get("id") == sequence_id]
        return sequence_state(same[0]) if same else None

    async def _contact(self, email: str, action: str) -> dict[str, Any] | None:
        raws = await self._search(
            "/contacts/search", "contacts", action=action, target=email, body={"q_keywords": email}
        )
        found = [r for r in raws if email.casefold() in emails(r)]
        if len(found) > 1:
            raise unsent(
                ValidationFailedError(
                    f"apollo: {len(found)} contacts have the email {email!r}: "
                    + ", ".join(str(r.get("id")) for r in found[:10]),
                    hint="merge the duplicates in Apollo first",
                    details={"platform": "apollo", "action": action},
                )
            )
        return found[0] if found else None

    async def observe_contact(self, call: ActionCall) -> State:
        """``{"id", "email", "sequences"}`` of the contact with the target email, or None.

        For ``add_to_sequence`` and ``remove_from_sequence`` the sequence must exist: a missing
        one is ``NotFoundError``.
        """
        email = contact_email(call.target)
        sequences = await self._sequences(call.action)
        if call.action in CONTACT_ACTIONS:
            self._sequence_for(sequences, call)
        raw = await self._contact(email, call.action)
        if raw is None:
            return None
        names = {str(s.get("id")): str(s.get("name")) for s in sequences}
        return {
            "id": raw.get("id"),
            "email": raw.get("email"),
            "sequences": sorted_names([names.get(i, i) for i in memberships(raw)]),
        }

    def _sequence_for(self, sequences: list[dict[str, Any]], call: ActionCall) -> dict[str, Any]:
        name = sequence_name(call.params.get("sequence"))
        raw = self._pick(sequences, name, call.action)
        if raw is None:
            raise unsent(
                NotFoundError(
                    f"apollo: no sequence named {name!r} ({call.action})",
                    hint="check the name; `sophia-iac status apollo` lists the sequences",
                    details={"platform": "apollo", "action": call.action, "target": name},
                )
            )
        return raw

    # -- changes ---------------------------------------------------------------------------

    async def _switch(self, call: ActionCall, before: State, verb: str) -> State:
        self.precheck(call, before)
        assert before is not None  # precheck refuses a missing sequence
        sequence_id, name = apollo_id(before.get("id"), "id"), str(before.get("name"))
        await self.http.request(
            "POST",
            api_path("/emailer_campaigns/{sequence_id}/" + verb, sequence_id=sequence_id),
            action=call.action,
            target=name,
        )
        return await self._read_sequence(sequence_id, name, call.action)

    async def do_sequence_activate(self, call: ActionCall, before: State) -> State:
        """``POST /emailer_campaigns/{id}/approve``, then read the sequence back."""
        return await self._switch(call, before, "approve")

    async def do_sequence_deactivate(self, call: ActionCall, before: State) -> State:
        """``POST /emailer_campaigns/{id}/abort``, then read the sequence back."""
        return await self._switch(call, before, "abort")

    async def email_account(self, action: str) -> str:
        """The mailbox a sequence sends from (``SOPHIA_APOLLO_EMAIL_ACCOUNT_ID``, else the one default).

        Raises:
            ConfigError: naming the variable when it is not an id, or no single default exists.
        """
        configured = os.environ.get(EMAIL_ACCOUNT_VAR, "").strip()
        if configured:
            if not ID.match(configured):
                raise ConfigError(
                    f"apollo: {EMAIL_ACCOUNT_VAR}={configured[:60]!r} is not an Apollo id",
                    hint=f"set {EMAIL_ACCOUNT_VAR} to an id GET /email_accounts lists",
                )
            return configured
        reply = await self.http.request("GET", "/email_accounts", action=action)
        accounts = [a for a in obj(reply.data).get("email_accounts") or [] if isinstance(a, dict)]
        defaults = [a for a in accounts if a.get("active") is True and a.get("default") is True]
        if len(defaults) != 1:
            listed = ", ".join(f"{a.get('email')} ({a.get('id')})" for a in accounts[:5]) or "none"
            raise ConfigError(
                f"apollo: {len(defaults)} active default mailboxes; can't choose the sender",
                hint=f"set {EMAIL_ACCOUNT_VAR} to one of: {listed}",
                details={"variable": EMAIL_ACCOUNT_VAR},
            )
        return apollo_id(defaults[0].get("id"), "email_account_id")

    async def do_contact_add_to_sequence(self, call: ActionCall, before: State) -> State:
        """``POST /emailer_campaigns/{id}/add_contact_ids``, then read the contact back.

        Raises:
            AdapterError: Apollo skipped the contact (its reason named; recorded as refused).
        """
        self.precheck(call, before)
        assert before is not None  # precheck refuses a missing contact
        email = contact_email(call.target)
        contact_id = apollo_id(before.get("id"), "id")
        sequence = self._sequence_for(await self._sequences(call.action), call)
        if sequence.get("archived") is True:
            raise unsent(
                ValidationFailedError(
                    f"apollo: sequence {sequence.get('name')!r} is archived",
                    hint="unarchive it in Apollo first",
                )
            )
        sequence_id = apollo_id(sequence.get("id"), "sequence id")
        sender = await self.email_account(call.action)
        reply = await self.http.request(
            "POST",
            api_path("/emailer_campaigns/{sequence_id}/add_contact_ids", sequence_id=sequence_id),
            action=call.action,
            target=email,
            params={
                "emailer_campaign_id": sequence_id,
                "contact_ids[]": [contact_id],
                "send_email_from_email_account_id": sender,
            },
        )
        reason = obj(obj(reply.data).get("skipped_contact_ids")).get(contact_id)
        if reason is not None and reason != ALREADY_THERE:
            raise AdapterError(
                f"apollo skipped {email} instead of adding it to {sequence.get('name')!r}: {str(reason)[:80]}",
                hint="Apollo's own check refused it (e.g. active in another sequence, no verified email);"
                " resolve that in Apollo, then retry",
                details={
                    "platform": "apollo",
                    "action": call.action,
                    "target": email,
                    "vendor_code": str(reason)[:40],
                    "outcome": "refused",
                },
            )
        return await self.observe_contact(call)

    async def do_contact_remove_from_sequence(self, call: ActionCall, before: State) -> State:
        """``POST /emailer_campaigns/remove_or_stop_contact_ids`` (``mode=remove``), then read back.

        ``remove`` takes the contact out of the sequence (``mark_as_finished`` and ``stop`` would
        leave it listed there with another status, which an add could not undo).
        """
        self.precheck(call, before)
        assert before is not None  # precheck refuses a missing contact
        email = contact_email(call.target)
        contact_id = apollo_id(before.get("id"), "id")
        sequence = self._sequence_for(await self._sequences(call.action), call)
        await self.http.request(
            "POST",
            "/emailer_campaigns/remove_or_stop_contact_ids",
            action=call.action,
            target=email,
            params={
                "emailer_campaign_ids[]": [apollo_id(sequence.get("id"), "sequence id")],
                "contact_ids[]": [contact_id],
                "mode": "remove",
            },
        )
        return await self.observe_contact(call)

    # -- planning --------------------------------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse changes to missing things, and changes that would change nothing."""
        if call.action in CONTACT_ACTIONS:
            email = contact_email(call.target)
            wanted = sequence_name(call.params.get("sequence"))
            if before is None:
                raise unsent(
                    NotFoundError(
                        f"apollo: no contact with the email {email!r}",
                        hint="create the contact in Apollo first (sophia-iac does not create contacts)",
                        details={"platform": "apollo", "action": call.action, "target": email},
                    )
                )
            inside = key(wanted) in {key(n) for n in before.get("sequences") or []}
            if inside == (call.action == "apollo.contact.add_to_sequence"):
                where = "already in" if inside else "not in"
                raise unsent(
                    ValidationFailedError(
                        f"apollo: {email} is {where} the sequence {wanted!r}", hint="nothing to do"
                    )
                )
            return
        name = sequence_name(call.target)
        if before is None:
            raise unsent(
                NotFoundError(
                    f"apollo: no sequence named {name!r} ({call.action})",
                    hint="check the name; `sophia-iac status apollo` lists the sequences",
                    details={"platform": "apollo", "action": call.action, "target": name},
                )
            )
        activate = call.action == "apollo.sequence.activate"
        if activate and before.get("archived"):
            raise unsent(
                ValidationFailedError(
                    f"apollo: sequence {name!r} is archived", hint="unarchive it in Apollo first"
                )
            )
        if bool(before.get("active")) == activate:
            state = "active" if activate else "inactive"
            raise unsent(
                ValidationFailedError(f"apollo: sequence {name!r} is already {state}", hint="nothing to do")
            )

    def predict(self, call: ActionCall, before: State) -> State:
        """The sequence with its new ``active`` flag; the contact with the sequence added or removed."""
        b = dict(before or {})
        if call.action == "apollo.contact.add_to_sequence":
            return {**b, "sequences": sorted_names([*(b.get("sequences") or []), call.params["sequence"]])}
        if call.action == "apollo.contact.remove_from_sequence":
            return {**b, "sequences": without(b.get("sequences") or [], call.params["sequence"])}
        return {**b, "active": call.action == "apollo.sequence.activate"}

    def reached(self, call: ActionCall, expected: State, observed: State) -> bool:
        """Like :func:`adapters.base.matches`; sequence names compare without case or spacing."""
        if expected is None or observed is None or "sequences" not in expected:
            return matches(expected, observed)

        def names(state: Mapping[str, Any]) -> list[str]:
            return sorted(key(n) for n in state.get("sequences") or [])

        rest = {k: v for k, v in expected.items() if k != "sequences"}
        return names(expected) == names(observed) and matches(rest, observed)

    # -- status ----------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Every sequence of the team (archived ones flagged) as inventory, and the breaker."""
        try:
            raws = await self._sequences("apollo.status")
        except SophiaError as exc:
            return self.failed_status(exc)
        sequences = [sequence_state(r) for r in raws if isinstance(r.get("name"), str)]
        active = sum(1 for s in sequences if s["active"])
        return PlatformStatus(
            "apollo",
            healthy=True,
            message=f"{len(sequences)} sequence(s), {active} active",
            inventory={"sequence": sequences},
            details={
                "circuit": self.http.breaker.snapshot(),
                "base_url": self.http.base_url,
                "email_account": os.environ.get(EMAIL_ACCOUNT_VAR, "").strip() or "the default mailbox",
            },
        )

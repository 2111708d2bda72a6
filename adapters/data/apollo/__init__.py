"""Apollo adapter: sequences (activate, deactivate), contacts added to and removed from them, API v1.

Configuration: an API key in ``SOPHIA_APOLLO_TOKEN`` (or ``…_TOKEN_FILE``, or the secret
manager's ``apollo/token``), sent as ``x-api-key``. The sequence endpoints need a master key or
a key whose scope lists them (else 403 ``API_INACCESSIBLE``, reported naming the variable).
``SOPHIA_APOLLO_BASE_URL`` overrides ``https://api.apollo.io/api/v1`` (tests: a contract
server's host root). Apollo sends a sequence's emails from a linked mailbox:
``SOPHIA_APOLLO_EMAIL_ACCOUNT_ID`` names it; unset, the one active default mailbox
``GET /email_accounts`` lists is used, and none or several is a ``ConfigError`` naming the variable.

How each action is carried out:

* a sequence (target = its name) is found with ``POST /emailer_campaigns/search?q_name=…``
  (Apollo's searches are POSTs that change nothing), page by page; an exact-case match wins
  over a case-insensitive one, an unarchived one over archived ones, and two candidates left is
  an error listing their ids. Its state is ``{"id", "name", "active", "archived"}``;
* ``sequence.activate`` → ``POST /emailer_campaigns/{id}/approve``; ``deactivate`` →
  ``…/abort``; each is read back by searching again and taking the sequence with that id.
  Each is the other's inverse. Activating an active (or archived) sequence, or deactivating an
  inactive one, is refused before anything is sent;
* a contact (target = its email) is found with ``POST /contacts/search`` (``q_keywords`` = the
  email) and an exact, case-insensitive match on its email addresses. Its state is ``{"id",
  "email", "sequences"}``: the names of the sequences it is in (``emailer_campaign_ids`` and
  ``contact_campaign_statuses``, whatever its status there), named from one listing of the
  team's sequences;
* ``contact.add_to_sequence`` → ``POST /emailer_campaigns/{id}/add_contact_ids`` with the
  contact's id and the mailbox, then the contact is read back. Apollo answers 200 even when it
  skips a contact (already active in another sequence, no verified email, …): a skip is an
  error naming Apollo's reason, recorded as refused (read back, nothing changed). Apollo's own
  checks stay on: nothing is forced;
* ``contact.remove_from_sequence`` → ``POST /emailer_campaigns/remove_or_stop_contact_ids``
  with the sequence's id, the contact's id and ``mode=remove``, then the contact is read back
  (a contact not in the sequence is refused before anything is sent). ``remove`` takes the
  contact out of the sequence, as it was before an add; ``mark_as_finished`` and ``stop`` would
  leave it listed there with another status. Each of add and remove is the other's inverse; an
  add after a remove puts the contact back in the sequence but Apollo starts it afresh (its
  earlier status and progress are not restored, and the state recorded does not hold them).

Errors: 401/403 → :class:`~adapters.http.PlatformAuthError` naming ``SOPHIA_APOLLO_TOKEN``;
422 (already active/inactive, no steps, inactive mailbox) → an error carrying Apollo's message;
429 is retried by the shared client (Apollo documents no ``Retry-After``: jittered backoff
unless one is sent); 5xx and timeouts are retried for the searches (reads, marked safe) but
never for a change (a POST without an idempotency key), whose outcome is then settled by
read-back. Webhooks are not handled (Apollo's are about records, not these settings).

The contract this is tested against is WRITTEN BY HAND (``tests/contract/fixtures/apollo/``,
citing Apollo's reference pages) and checked against Apollo's own OpenAPI export where a copy
sits beside the checkout: it shows the requests match the documentation, not that the live API
accepts them, nor how quickly Apollo's search reflects a change (a read-back that lags is
recorded ``needs_reconcile``, never ``applied``, and the reconciler settles it later).
"""

from __future__ import annotations

from .adapter import ApolloAdapter
from .records import (
    DEFAULT_BASE_URL,
    EMAIL_ACCOUNT_VAR,
    apollo_id,
    contact_email,
    sequence_name,
    sequence_state,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "EMAIL_ACCOUNT_VAR",
    "ApolloAdapter",
    "apollo_id",
    "contact_email",
    "sequence_name",
    "sequence_state",
]

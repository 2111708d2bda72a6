"""Gong adapter: calls and users (reads), a user's individual access to a call, signed webhooks.

Configuration: ``SOPHIA_GONG_TOKEN`` (or ``…_TOKEN_FILE``, or the secret manager's
``gong/token``) holds ``ACCESS_KEY:ACCESS_KEY_SECRET`` from Gong's API page, sent as
``Authorization: Basic base64(key:secret)`` as Gong's API reference says; a value without a
colon is taken as an OAuth access token and sent as ``Bearer``. ``SOPHIA_GONG_BASE_URL``
overrides ``https://api.gong.io`` (Gong's API page shows each company's own base URL; tests: a
contract server's host root). Gong allows 3 calls a second and 10,000 a day, and answers 429
with ``Retry-After``, which the shared client honours.

How each action is carried out:

* ``call.list`` (since) → ``GET /v2/calls?fromDateTime=…&toDateTime=now`` page by page
  (``records.cursor``); Gong's 404 "no calls found for the specified period" is an empty list.
  ``since`` is the catalog's canonical form, resolved to a UTC instant when the command runs;
* ``user.list`` → ``GET /v2/users`` page by page;
* ``call.access.grant`` / ``revoke`` (target = the user's email, param ``call`` = the call's
  numeric id): the call is checked with ``GET /v2/calls/{id}`` (404: not found, nothing sent),
  the user found by email (or an alias) in ``GET /v2/users``, and the state read with ``POST
  /v2/calls/users-access`` (a read: who holds *individual access given through the API*).
  Grant → ``PUT /v2/calls/users-access``, revoke → ``DELETE /v2/calls/users-access``, each
  with ``{"callAccessList": [{"callId", "userIds": [id]}]}``, then read back the same way.
  Each is the other's inverse. Granting access the user already holds, or revoking access
  not given through the API, is refused before anything is sent.

Why these and no other write: of the document's writes, only this pair is undone by its
opposite and read back by an operation of the same API. Users and their settings and
permission-profile assignments have no write operation; ``PUT /v2/permission-profile``
replaces a whole profile (dozens of fields and nested access levels) and the document does not
say which fields an update leaves alone; the rest upload or erase data (calls, CRM objects,
meetings, data-privacy erasure) and have no inverse.

Gong documents two limits on what a read-back proves: a grant "has no effect" when the user
already has access another way (shared with them, or by their permission profile), and a
revoke removes only access given through the API. Neither shows in ``/v2/calls/users-access``,
so such a grant reads back as not given: it is recorded ``needs_reconcile``/``failed``, never
``applied``.

Webhooks: Gong's automation rules with the "Signed JWT header" method; see
:mod:`adapters.data.gong.webhook` (``SOPHIA_GONG_WEBHOOK_SECRET`` = Gong's public key,
``SOPHIA_GONG_WEBHOOK_URL`` = the rule's destination URL). A delivery is summarised; its
contents (call titles, parties) are data and are never interpreted.

Errors: 401/403 → :class:`~adapters.http.PlatformAuthError` naming ``SOPHIA_GONG_TOKEN``; 404
on a call → ``NotFoundError``; 429 is retried honouring ``Retry-After``; 5xx and timeouts are
retried for reads and for the PUT/DELETE (idempotent: the same grant twice changes nothing).

The contract this is tested against is WRITTEN BY HAND (``tests/contract/fixtures/gong/``,
citing Gong's reference pages) and checked against Gong's own OpenAPI document where a copy
sits beside the checkout: it shows the requests match the documentation, not that the live API
accepts them.
"""

from __future__ import annotations

from .adapter import GongAdapter
from .records import DEFAULT_BASE_URL, gong_id, since_instant, user_email
from .webhook import URL_VAR, verify_gong

__all__ = [
    "DEFAULT_BASE_URL",
    "URL_VAR",
    "GongAdapter",
    "gong_id",
    "since_instant",
    "user_email",
    "verify_gong",
]

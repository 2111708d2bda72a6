"""Gong adapter: calls and users (reads), health and inventory, and signed webhooks.

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
* ``get_status`` lists the users and ``GET /v2/workspaces`` as inventory.

No Gong change is offered here. Of the writes in Gong's document, only one pair is undone by
its opposite and read back by the same API: a user's individual access to a call (PUT, DELETE
and a reading POST on ``/v2/calls/users-access``). Users, their settings and their
permission-profile assignments have no write operation; ``PUT /v2/permission-profile``
replaces a whole profile and the document does not say which fields an update leaves alone;
the other writes upload or erase data (calls, CRM objects, meetings, data-privacy erasure) and
have no inverse. Adding the access pair to the catalog also needs held-out eval cases and
re-recorded LLM cassettes, so it is kept apart from this adapter's first version.

Webhooks: Gong's automation rules with the "Signed JWT header" method; see
:mod:`adapters.data.gong.webhook` (``SOPHIA_GONG_WEBHOOK_SECRET`` = Gong's public key,
``SOPHIA_GONG_WEBHOOK_URL`` = the rule's destination URL). A delivery is summarised; its
contents (call titles, parties) are data and are never interpreted.

Errors: 401/403 → :class:`~adapters.http.PlatformAuthError` naming ``SOPHIA_GONG_TOKEN``;
429 and 5xx are retried (every request here is a GET), honouring ``Retry-After``.

The contract this is tested against is WRITTEN BY HAND (``tests/contract/fixtures/gong/``,
citing Gong's reference pages) and checked against Gong's own OpenAPI document where a copy
sits beside the checkout: it shows the requests match the documentation, not that the live API
accepts them.
"""

from __future__ import annotations

from .adapter import GongAdapter
from .records import DEFAULT_BASE_URL, since_instant
from .webhook import URL_VAR, verify_gong

__all__ = [
    "DEFAULT_BASE_URL",
    "URL_VAR",
    "GongAdapter",
    "since_instant",
    "verify_gong",
]

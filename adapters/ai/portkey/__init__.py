"""Portkey adapter: API keys, gateway configs and budgets over the Portkey Admin API.

Configuration: an admin API key in ``SOPHIA_PORTKEY_TOKEN`` (or ``…_TOKEN_FILE``), sent as
``x-portkey-api-key``; ``SOPHIA_PORTKEY_BASE_URL`` overrides ``https://api.portkey.ai/v1``
(a self-hosted control plane, or a local contract server at its host root);
``SOPHIA_PORTKEY_WORKSPACE`` is the workspace new keys go to when a call names none.

How each action is carried out:

* api keys are found by name (or id) in ``GET /api-keys`` (paged). Names are not unique in
  Portkey; the target is the newest key of that name that is not disabled (for ``create``,
  a name whose keys are all disabled is free).
  ``create`` → ``POST /api-keys/{organisation|workspace}/service``; ``disable`` →
  ``PUT /api-keys/{id}`` with ``expires_at`` = now; ``enable`` → the same with the expiry the
  key had before (or none).
* ``rotate`` is a verified transaction (:mod:`.rotation`): clone the key, verify the new value
  against the gateway, hand it to the secret drop, then disable the old key; on any failure
  the new key is disabled, the old one stays active, and a :class:`KeyRotationError` says
  which key is active and what happened. The after-state carries the same story under
  ``rotation`` (ids and a file reference only).
* configs: ``GET /configs`` finds the slug by name; ``GET /configs/{slug}`` reads the routing;
  ``PUT /configs/{slug}`` writes the whole config back with only ``strategy``, ``targets``
  and ``retry`` changed (existing target objects are kept, so their overrides survive).
* budgets: the target is ``workspace:<name>``, ``key:<name>`` or a bare name looked up in both.
  Workspaces: ``GET/PUT /admin/workspaces/{id}`` ``usage_limits`` (a list); keys:
  ``PUT /api-keys/{id}`` ``usage_limits`` (one object). Only the cost limit is touched.

Key material never leaves this package except into the
:class:`~adapters.ai.keydrop.SecretDrop` (a 0600 file whose path is what the ledger records):
every value is registered with the scrubber the moment it arrives, and states, results,
errors and logs carry ids and names only.

Modules: :mod:`.adapter` (the class), :mod:`.rotation` (the verified rotation),
:mod:`.state` (states and the config rewrite as plain functions).

Where the published contract and the live API differ, or the contract can't say:

* The contract has no enable/disable for API keys (``status`` is ``active``/``exhausted``), so
  disabling sets ``expires_at`` to now, and a key whose expiry has passed is reported as
  ``disabled``. Whether the live API accepts an expiry in the past is not in the contract.
* Portkey's own ``POST /api-keys/{id}/rotate`` is not used: the old value stays valid for a
  transition period whatever happens, so a failed verification can't be rolled back.
* ``usage_limits.credit_limit`` is an integer ≥ 1, so budgets are whole dollars.
* Prism's canned answers: the create example's ``id`` (``…63we``) is not a UUID (Prism flags
  its own response), and the listed key's ``expires_at`` is in 2019 (so it reads as
  disabled); contract tests substitute values where a test needs another state, and say so.
"""

from .adapter import DEFAULT_BASE_URL, PortkeyAdapter
from .rotation import DEFAULT_SCOPES, KeyRotationError
from .state import config_state, key_state, routed_config

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_SCOPES",
    "KeyRotationError",
    "PortkeyAdapter",
    "config_state",
    "key_state",
    "routed_config",
]

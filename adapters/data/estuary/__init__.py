"""Estuary Flow adapter: enable and disable captures and materializations.

Configuration: ``SOPHIA_ESTUARY_TOKEN`` (or ``…_TOKEN_FILE``, or the secret manager's
``estuary/token``) holds an Estuary **refresh token** — the base64 string the dashboard gives
under Admin > CLI-API ("Generate token"; docs.estuary.dev, "How to generate an Estuary Flow
Refresh Token"), the same one ``flowctl auth token --token`` takes and flowctl reads from
``FLOW_AUTH_TOKEN``. It decodes to ``{"id", "secret"}`` and is exchanged, as flowctl does
(estuary/flow ``crates/flow-client/src/user_auth.rs``, ``exchange_refresh_token``), with
``POST /rest/v1/rpc/generate_access_token {"refresh_token_id", "secret"}`` for a short-lived
access token (a JWT, about an hour), cached until a minute before its ``exp``; a 401 on a
cached one exchanges the refresh token once more and resends (a 401 was not acted on). Any other value
is sent as the bearer as it is: an access token, or a service account's ``flow_sa_`` API key
(which Estuary's schema says may be presented as ``Authorization: Bearer``).
``SOPHIA_ESTUARY_SUPABASE_KEY`` is the control plane's public Supabase ``anon`` key, which its
gateway wants in ``apikey`` on every PostgREST call (flowctl ships it as
``DEFAULT_PG_PUBLIC_TOKEN``; it is public, but sophia-iac does not carry it).
``SOPHIA_ESTUARY_BASE_URL`` overrides the agent API (``https://agent-api-1084703453822.us-central1.run.app``,
flowctl's ``DEFAULT_AGENT_URL``) and ``SOPHIA_ESTUARY_PG_URL`` the Supabase host
(``https://eyrcnmuzzyriypdajwdk.supabase.co``, flowctl's ``DEFAULT_PG_URL``); when only the
base URL is set, PostgREST is reached under it too (one test server serves both).

Reads use Estuary's production GraphQL schema (``tests/contracts/vendor/estuary``, introspected
from the control plane; BSL): ``POST /api/graphql`` (flowctl ``crates/flowctl/src/graphql.rs``)
with ``liveSpecs(by: {names: [...]})`` for one spec (``isDisabled``, ``lastPubId``, ``model``)
and ``prefixes(by: {minCapability: read})`` + ``liveSpecs(by: {prefix})`` for the inventory.
The tests validate every document against that schema.

**Hand-written part.** That schema has no mutation for drafts or publications, so changes go
through the control plane's PostgREST tables the way flowctl and the dashboard publish; no
contract file describes them, and ``tests/contract/fixtures/estuary/openapi.yaml`` was written by
hand from these sources (cited there too): flowctl ``crates/flowctl/src/draft/mod.rs`` (insert
into ``drafts``, ``publications {draft_id, dry_run, detail}``, read ``draft_errors``),
``crates/flowctl/src/draft/author.rs`` (``draft_specs {draft_id, catalog_name, spec_type, spec,
expect_pub_id}``), ``crates/flowctl/src/poll.rs`` (poll ``publications?id=eq.…`` for
``job_status->>type`` while ``queued``), ``crates/agent/src/publications/status.rs`` (the
``JobStatus`` values), and the dashboard's ``src/api/drafts.ts``, ``src/api/draftSpecs.ts``,
``src/api/publications.ts`` (estuary/ui). A task is enabled or disabled by its model's
``shards.disable`` (estuary/flow ``crates/models``: ``is_enabled() = !shards.disable``).

How each action is carried out (target = the catalog name, e.g. ``acmeCo/postgres-orders``; a
name outside Flow's grammar — letters, numbers, ``-``, ``_``, ``.`` in parts joined by ``/`` —
is refused before anything is sent; names only ever travel in JSON bodies, GraphQL variables
and PostgREST filter values, never in a URL path):

* before-state ``{"name", "enabled"}`` from ``liveSpecs`` (None when absent, of another catalog
  type, or not visible to the token); a disable of a disabled task (or an enable of an enabled
  one) is refused before anything is sent;
* the change: read the live ``model`` and ``lastPubId``; delete sophia-iac's own leftover drafts
  for the name (``drafts?detail=eq.sophia-iac: <name>``); ``POST /rest/v1/drafts``; ``POST
  /rest/v1/draft_specs`` with the model, ``shards.disable`` set (disable) or removed (enable),
  and ``expect_pub_id`` = the live ``lastPubId`` (Estuary refuses the publication with
  ``expectPubIdMismatch`` if someone published the spec meanwhile); ``POST
  /rest/v1/publications``; then poll ``GET /rest/v1/publications?id=eq.…`` every
  :attr:`EstuaryAdapter.poll_interval` seconds while ``queued``, up to
  :attr:`EstuaryAdapter.settle_timeout`;
* ``success`` (or ``emptyDraft``): the spec is read back and returned; a failed status
  (``buildFailed``, ``testFailed``, ``publishFailed``, ``expectPubIdMismatch``, …) is an error
  naming it and ``draft_errors``' details, marked ``refused`` (a failed publication commits
  nothing), and the draft is deleted;
* **asynchrony.** A publication is a queued job. Still queued at the timeout → an error whose
  outcome is ``unknown``; an answer lost after ``POST /publications`` (the job may be queued)
  → the shared client's ``unknown``. Either way the executor records ``needs_reconcile`` and
  never ``applied``/``failed`` without a read-back; and while a publication that sophia-iac
  queued for the name (found through its drafts' ``detail``) is still ``queued``, reading the
  spec raises :class:`~orchestrator.errors.BusyError`, so neither the read-back nor the
  reconciler can conclude "as before" from a spec whose publication has not ended. Estuary
  deletes a draft once its publication succeeds.

Each action is the other's inverse. Errors: 401/403 → :class:`~adapters.http.PlatformAuthError`
naming ``SOPHIA_ESTUARY_TOKEN``; 429 retried honouring ``Retry-After``; GraphQL queries, the
token exchange and PostgREST GETs are reads and retried after a 5xx or a timeout; the POSTs that
change something are never retried after delivery. Activation of a published spec in the data
plane happens after the publication commits: ``enabled`` here is the published model's
``shards.disable``, not whether shards are running. Webhooks are not handled.
"""

from .adapter import EstuaryAdapter

__all__ = ["EstuaryAdapter"]

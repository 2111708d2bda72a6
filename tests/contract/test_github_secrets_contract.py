"""GitHub Actions secrets, visibility, default branch and rulesets against GitHub's own document.

Prism serves ``api.github.com.json`` (every request checked, zero request-side violations
asserted). Prism keeps no state and GitHub keeps secret values out of every answer, so what a
sealed value *is* can't come back through it: each test opens the sent ``encrypted_value``
with the private half of a key pair made for the test (:mod:`.github_keys`), as GitHub would.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import pytest
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey
from pydantic import ValidationError

from adapters.catalog import ActionCall, format_validation_error
from adapters.dev.github import GitHubAdapter
from adapters.dev.github_secrets import NOT_RESTORABLE, seal
from adapters.specs.github_settings import SecretSetParams
from orchestrator.errors import AdapterError, ConfigError, ValidationFailedError
from orchestrator.secret_params import PLACEHOLDER, withhold_secrets
from orchestrator.state import Intent, ParsedCommand

from .common import pointed_at, sent
from .github_keys import KEY_ID, PRIVATE_KEY, opened, with_real_public_key
from .prism import PrismPool, RecordingTransport, assert_no_request_violations, request_violations
from .steered import Sleeps

PRISM_SPECS = [("github", "api.github.com.json")]

pytestmark = pytest.mark.anyio

TOKEN = "ghp_" + "S3cretsT0kenAbcdefghijklmnopqrstuv"
VALUE = "canary-deploy-value-7Hq2Lm9Xz"
OLD = "canary-old-value-Pw41Kd83Vb"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prism: PrismPool) -> Iterator[RecordingTransport]:
    (server,) = prism.serve("github", "api.github.com.json")
    with pointed_at(
        monkeypatch,
        "github",
        server.base_url,
        TOKEN,
        SOPHIA_GITHUB_ENV_DEPLOY=VALUE,
        SOPHIA_GITHUB_ENV_GH_OLD=OLD,
    ):
        yield RecordingTransport(edit_json=with_real_public_key)


@pytest.fixture
async def adapter(env: RecordingTransport) -> AsyncIterator[GitHubAdapter]:
    async with aclosing(GitHubAdapter(transport=env, sleep=Sleeps())) as a:
        yield a


def _put_body(env: RecordingTransport) -> dict[str, str]:
    put = next(ex for ex in env.exchanges if ex.request.method == "PUT")
    body: dict[str, str] = json.loads(put.request.content)
    return body


def test_sealed_value_opens_only_with_the_matching_private_key() -> None:
    public = base64.b64encode(bytes(PRIVATE_KEY.public_key)).decode()
    sealed = seal(public, VALUE)
    assert opened(sealed) == VALUE and VALUE not in sealed
    assert seal(public, VALUE) != sealed, "a sealed box uses a fresh ephemeral key each time"
    with pytest.raises(CryptoError):
        opened(sealed, PrivateKey.generate())


async def test_new_secret_is_sealed_for_the_repo_and_undone_by_delete(
    adapter: GitHubAdapter, env: RecordingTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    call = ActionCall(
        action="github.secret.set",
        target="acme/web",
        params={"name": "DEPLOY_TOKEN", "value": "secret://DEPLOY"},
    )
    result = await adapter.configure(call)
    assert_no_request_violations(env.exchanges)
    order = sent(env.exchanges)
    key_read = order.index(("GET", "/repos/acme/web/actions/secrets/public-key"))
    assert order[key_read + 1] == ("PUT", "/repos/acme/web/actions/secrets/DEPLOY_TOKEN")
    body = _put_body(env)
    assert body["key_id"] == KEY_ID and opened(body["encrypted_value"]) == VALUE
    assert result.before == {"name": "DEPLOY_TOKEN", "exists": False, "updated_at": None}
    assert result.inverse == ActionCall(
        action="github.secret.delete", target="acme/web", params={"name": "DEPLOY_TOKEN"}
    )
    kept = json.dumps(
        [result.call.model_dump(), result.before, result.expected, result.after, str(result.inverse)]
    )
    assert VALUE not in kept and VALUE not in caplog.text


async def test_overwrite_without_a_reference_says_it_cannot_be_undone(
    adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    call = ActionCall(
        action="github.secret.set", target="acme/web", params={"name": "GH_TOKEN", "value": "secret://DEPLOY"}
    )
    result = await adapter.configure(call)
    assert result.before is not None and result.before["exists"]
    assert result.expected is not None and result.expected["previous_value"] == NOT_RESTORABLE
    assert result.inverse is None
    # Prism is stateless: the secret's updated_at reads back unchanged, so the overwrite is not
    # shown as reached (a PUT that never landed looks exactly like this).
    assert not adapter.reached(result.call, result.expected, result.after)
    assert_no_request_violations(env.exchanges)


async def test_overwrite_with_a_reference_is_undone_from_it(
    adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    params = {"name": "gh_token", "value": "secret://DEPLOY", "previous": "secret://GH_OLD"}
    result = await adapter.configure(ActionCall(action="github.secret.set", target="acme/web", params=params))
    assert result.expected is not None and "previous_value" not in result.expected
    assert result.inverse == ActionCall(
        action="github.secret.set",
        target="acme/web",
        params={"name": "GH_TOKEN", "value": "secret://GH_OLD", "previous": "secret://DEPLOY"},
    )
    env.take()
    await adapter.configure(result.inverse)
    assert opened(_put_body(env)["encrypted_value"]) == OLD


async def test_delete_is_irreversible_unless_a_reference_is_given(
    adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    gone = await adapter.configure(
        ActionCall(action="github.secret.delete", target="acme/web", params={"name": "GIST_ID"})
    )
    assert (
        gone.inverse is None
        and gone.expected is not None
        and gone.expected["previous_value"] == NOT_RESTORABLE
    )
    kept = await adapter.configure(
        ActionCall(
            action="github.secret.delete",
            target="acme/web",
            params={"name": "GIST_ID", "previous": "secret://GH_OLD"},
        )
    )
    assert kept.inverse == ActionCall(
        action="github.secret.set", target="acme/web", params={"name": "GIST_ID", "value": "secret://GH_OLD"}
    )
    with pytest.raises(ValidationFailedError, match="no Actions secret NOT_THERE"):
        await adapter.configure(
            ActionCall(action="github.secret.delete", target="acme/web", params={"name": "not_there"})
        )
    assert_no_request_violations(env.exchanges)


def test_a_typed_value_is_refused_and_never_echoed() -> None:
    with pytest.raises(ValidationError) as err:
        SecretSetParams.model_validate({"name": "DEPLOY_TOKEN", "value": VALUE})
    spec = GitHubAdapter.spec("github.secret.set")
    shown = format_validation_error(spec.id, err.value, spec.secret_params)
    assert "secret://NAME" in shown and VALUE not in shown
    for bad in ("secret://vault/deploy", "secret://lower", "secret://"):
        with pytest.raises(ValidationError):
            SecretSetParams.model_validate({"name": "X", "value": bad})
    call = ActionCall(
        action="github.secret.set", target="acme/web", params={"name": "DEPLOY_TOKEN", "value": VALUE}
    )
    text = f"set the actions secret DEPLOY_TOKEN on acme/web to {VALUE}"
    withheld = withhold_secrets(text, ParsedCommand(intent=Intent.ACTION, actions=[call]))
    assert withheld.error is not None and VALUE not in withheld.text and PLACEHOLDER in withheld.text
    assert withheld.parsed.actions[0].params["value"] == PLACEHOLDER


async def test_unresolvable_reference_is_refused_at_plan_time(
    adapter: GitHubAdapter, env: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPHIA_GITHUB_ENV_DEPLOY")
    call = ActionCall(
        action="github.secret.set",
        target="acme/web",
        params={"name": "DEPLOY_TOKEN", "value": "secret://DEPLOY"},
    )
    with pytest.raises(ConfigError) as err:
        await adapter.configure(call, dry_run=True)
    assert "SOPHIA_GITHUB_ENV_DEPLOY" in json.dumps(err.value.to_dict())
    assert all(ex.request.method == "GET" for ex in env.exchanges)


async def test_the_documents_example_key_is_refused_before_sending(
    adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    env.edit_json = None  # Prism's own example: 33 bytes, not an X25519 key
    call = ActionCall(
        action="github.secret.set",
        target="acme/web",
        params={"name": "DEPLOY_TOKEN", "value": "secret://DEPLOY"},
    )
    with pytest.raises(AdapterError, match="not a 32-byte base64 key"):
        await adapter.configure(call)
    assert not [ex for ex in env.exchanges if ex.request.method == "PUT"]


async def test_visibility_change_and_its_inverse(adapter: GitHubAdapter, env: RecordingTransport) -> None:
    result = await adapter.configure(
        ActionCall(action="github.repo.set_visibility", target="acme/web", params={"visibility": "Private"})
    )
    patch = next(ex for ex in env.exchanges if ex.request.method == "PATCH")
    assert json.loads(patch.request.content) == {"visibility": "private"}
    assert result.before is not None and result.before["visibility"] == "public"  # the document's example
    assert result.inverse == ActionCall(
        action="github.repo.set_visibility", target="acme/web", params={"visibility": "public"}
    )
    with pytest.raises(ValidationFailedError, match="already public"):
        await adapter.configure(
            ActionCall(
                action="github.repo.set_visibility", target="acme/web", params={"visibility": "public"}
            )
        )
    assert_no_request_violations(env.exchanges)


async def test_internal_visibility_is_beyond_this_document(
    adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    """api.github.com's document lists public/private only; ``internal`` is GitHub Enterprise's."""
    with pytest.raises(AdapterError, match="HTTP 422"):
        await adapter.configure(
            ActionCall(
                action="github.repo.set_visibility", target="acme/web", params={"visibility": "internal"}
            )
        )
    patch = next(ex for ex in env.exchanges if ex.request.method == "PATCH")
    assert json.loads(patch.request.content) == {"visibility": "internal"}
    assert request_violations(patch.response), "the document does not list internal: Prism should say so"


async def test_default_branch_change_and_a_missing_branch(
    adapter: GitHubAdapter, env: RecordingTransport
) -> None:
    result = await adapter.configure(
        ActionCall(
            action="github.repo.set_default_branch", target="acme/web", params={"branch": "release/2.0"}
        )
    )
    assert ("GET", "/repos/acme/web/branches/release%2F2.0") in [
        (ex.request.method, ex.request.url.raw_path.decode()) for ex in env.exchanges
    ]
    patch = next(ex for ex in env.exchanges if ex.request.method == "PATCH")
    assert json.loads(patch.request.content) == {"default_branch": "release/2.0"}
    assert result.inverse == ActionCall(
        action="github.repo.set_default_branch", target="acme/web", params={"branch": "master"}
    )
    assert_no_request_violations(env.exchanges)
    env.take()
    env.forced(None, 404)  # the repo exists; GET …/branches/nope answers the declared 404
    with pytest.raises(ValidationFailedError, match="has no branch 'nope'"):
        await adapter.configure(
            ActionCall(action="github.repo.set_default_branch", target="acme/web", params={"branch": "nope"})
        )
    assert all(ex.request.method == "GET" for ex in env.exchanges)


async def test_status_lists_rulesets(adapter: GitHubAdapter, env: RecordingTransport) -> None:
    status = await adapter.get_status()
    assert status.healthy and status.inventory["ruleset"]
    first = status.inventory["ruleset"][0]
    assert first["ruleset"] == "super cool ruleset" and first["enforcement"] == "enabled"
    assert first["name"] == f"{first['repo']}:super cool ruleset"
    assert ("GET", f"/repos/{first['repo']}/rulesets") in sent(env.exchanges)
    assert_no_request_violations(env.exchanges)

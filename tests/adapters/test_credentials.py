"""adapters.credentials: resolution by reference, typed headers, and the one scrubber."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from adapters.credentials import (
    SCRUBBER,
    ApiKeyHeader,
    BearerToken,
    ScrubbingFilter,
    SecretRef,
    SnowflakeToken,
    credential_for,
    resolve_secret,
    scrub,
    scrub_cassette_request,
    scrub_cassette_response,
    set_secret_manager,
    webhook_secret,
)
from orchestrator.errors import ConfigError

TOKEN = "tok_live_9f8e7d6c5b4a39281706"


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    SCRUBBER.clear()
    set_secret_manager(None)
    yield
    SCRUBBER.clear()
    set_secret_manager(None)


def test_env_var_first() -> None:
    secret = resolve_secret(SecretRef("github"), environ={"SOPHIA_GITHUB_TOKEN": f"  {TOKEN}\n"})
    assert secret.reveal() == TOKEN
    assert secret.source == "env:SOPHIA_GITHUB_TOKEN"
    assert TOKEN not in repr(secret)


def test_file_reference(tmp_path: Path) -> None:
    path = tmp_path / "gh-token"
    path.write_text(TOKEN + "\n")
    secret = resolve_secret(SecretRef("github"), environ={"SOPHIA_GITHUB_TOKEN_FILE": str(path)})
    assert secret.reveal() == TOKEN and secret.source == "file:SOPHIA_GITHUB_TOKEN_FILE"


def test_unreadable_file_names_the_variable_not_the_content(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_secret(SecretRef("github"), environ={"SOPHIA_GITHUB_TOKEN_FILE": str(tmp_path / "nope")})
    assert "SOPHIA_GITHUB_TOKEN_FILE" in str(err.value)


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        resolve_secret(SecretRef("github"), environ={"SOPHIA_GITHUB_TOKEN_FILE": str(path)})


def test_secret_manager_hook_is_consulted_last() -> None:
    asked: list[str] = []

    def manager(key: str) -> str | None:
        asked.append(key)
        return TOKEN if key == "vercel/token" else None

    set_secret_manager(manager)
    assert resolve_secret(SecretRef("vercel"), environ={}).source == "secret-manager:vercel/token"
    assert (
        resolve_secret(SecretRef("vercel"), environ={"SOPHIA_VERCEL_TOKEN": "from-env-1234"}).reveal()
        == "from-env-1234"
    )
    assert asked == ["vercel/token"]


def test_missing_credential_names_the_variable() -> None:
    with pytest.raises(ConfigError) as err:
        credential_for("github", environ={})
    assert "SOPHIA_GITHUB_TOKEN" in err.value.hint and "SOPHIA_GITHUB_TOKEN_FILE" in err.value.hint
    assert err.value.details["variable"] == "SOPHIA_GITHUB_TOKEN"


def test_typed_credentials_build_their_headers() -> None:
    gh = credential_for("github", environ={"SOPHIA_GITHUB_TOKEN": TOKEN})
    assert isinstance(gh, BearerToken) and gh.auth_headers() == {"Authorization": f"Bearer {TOKEN}"}
    sf = credential_for(
        "snowflake",
        environ={"SOPHIA_SNOWFLAKE_TOKEN": TOKEN, "SOPHIA_SNOWFLAKE_TOKEN_TYPE": "programmatic_access_token"},
    )
    assert isinstance(sf, SnowflakeToken)
    assert sf.auth_headers()["X-Snowflake-Authorization-Token-Type"] == "PROGRAMMATIC_ACCESS_TOKEN"
    assert (
        credential_for("snowflake", environ={"SOPHIA_SNOWFLAKE_TOKEN": TOKEN}).auth_headers()[
            "X-Snowflake-Authorization-Token-Type"
        ]
        == "OAUTH"
    )
    pk = credential_for("portkey", environ={"SOPHIA_PORTKEY_TOKEN": TOKEN})
    assert isinstance(pk, ApiKeyHeader) and pk.auth_headers() == {"x-portkey-api-key": TOKEN}
    assert TOKEN not in repr(gh) and TOKEN not in repr(sf) and gh.env_var == "SOPHIA_GITHUB_TOKEN"


def test_bad_snowflake_token_type_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SOPHIA_SNOWFLAKE_TOKEN_TYPE"):
        credential_for(
            "snowflake", environ={"SOPHIA_SNOWFLAKE_TOKEN": TOKEN, "SOPHIA_SNOWFLAKE_TOKEN_TYPE": "PASSWORD"}
        )


def test_webhook_secret_variable() -> None:
    with pytest.raises(ConfigError) as err:
        webhook_secret("github", environ={})
    assert "SOPHIA_GITHUB_WEBHOOK_SECRET" in err.value.hint


def test_resolved_values_are_scrubbed_everywhere() -> None:
    resolve_secret(SecretRef("acme"), environ={"SOPHIA_ACME_TOKEN": "p@ss/word+42"})
    assert scrub("using p@ss/word+42 now") == "using [REDACTED] now"
    assert scrub("url?token=p%40ss%2Fword%2B42") == "url?token=[REDACTED]"


@pytest.mark.parametrize(
    "token",
    [
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
        "xoxb-1234567890-abcdefghijkl",
        "sk-or-v1-0123456789abcdef0123456789abcdef",
        "lin_api_abcdefghijklmnopqrstuvwxyz012345",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ],
)
def test_well_known_token_shapes_are_scrubbed_without_registration(token: str) -> None:
    assert token not in scrub(f"failed with {token} in the message")


def test_bearer_header_values_are_scrubbed() -> None:
    assert scrub("Authorization: Bearer abcdefghijklmnop1234") == "Authorization: [REDACTED]"


def test_logging_filter_scrubs_messages_and_args() -> None:
    SCRUBBER.register(TOKEN)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubbingFilter())
    log = logging.getLogger("test.credentials.scrub")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("calling with %s", TOKEN)
    finally:
        log.removeHandler(handler)
    assert TOKEN not in stream.getvalue() and "[REDACTED]" in stream.getvalue()


def test_cassette_hooks_scrub_requests_and_responses() -> None:
    SCRUBBER.register(TOKEN)
    request = SimpleNamespace(
        headers={"Authorization": f"Bearer {TOKEN}", "X-Trace": f"t={TOKEN}", "Accept": "application/json"},
        uri=f"https://api.example.com/x?key={TOKEN}",
        body=f'{{"token": "{TOKEN}"}}'.encode(),
    )
    scrub_cassette_request(request)
    assert request.headers["Authorization"] == "[REDACTED]" and TOKEN not in request.headers["X-Trace"]
    assert TOKEN not in request.uri and TOKEN.encode() not in request.body
    assert request.headers["Accept"] == "application/json"
    response = {
        "headers": {"Set-Cookie": ["s=1"], "X-Echo": [TOKEN]},
        "body": {"string": f"echo {TOKEN}".encode()},
    }
    scrub_cassette_response(response)
    assert response["headers"]["Set-Cookie"] == ["[REDACTED]"] and response["headers"]["X-Echo"] == [
        "[REDACTED]"
    ]
    assert TOKEN.encode() not in response["body"]["string"]


def test_each_platform_has_one_webhook_secret_setting() -> None:
    assert webhook_secret("hubspot", environ={"SOPHIA_HUBSPOT_WEBHOOK_SECRET": "s"}).env_var == \
        "SOPHIA_HUBSPOT_WEBHOOK_SECRET"
    # Slack's is the app's signing secret; the retired SOPHIA_SLACK_WEBHOOK_SECRET is not read.
    assert webhook_secret("slack", environ={"SOPHIA_SLACK_SIGNING_SECRET": "s"}).env_var == \
        "SOPHIA_SLACK_SIGNING_SECRET"
    with pytest.raises(ConfigError) as err:
        webhook_secret("slack", environ={"SOPHIA_SLACK_WEBHOOK_SECRET": "old"})
    assert "SOPHIA_SLACK_SIGNING_SECRET" in (err.value.hint or "")

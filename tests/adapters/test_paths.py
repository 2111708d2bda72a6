"""``adapters.paths``: every request path is a literal template plus checked, quoted segments.

Also the client's own guard: :class:`~adapters.http.PlatformClient` refuses, before sending,
a path that is not clean or whose URL would leave its base URL; and the catalog refuses
targets with dot segments or control characters for every action.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.catalog import check_target
from adapters.http import CircuitBreaker, PlatformClient, api_path, check_path, segment
from adapters.paths import MAX_SEGMENT
from adapters.registry import spec_for
from orchestrator.errors import ValidationFailedError

REFUSED = [
    "",
    ".",
    "..",
    "%2e%2e",
    "%2E.",
    ".%2e",
    "%2e",
    "%252e%252e",
    "a/b",
    "../mona",
    "acme/..",
    "a\\b",
    "a?x=1",
    "a#f",
    "100%",
    "a\r\nX: 1",
    "a\nb",
    "a\x00b",
    "\x7f",
    "a\u2028b",
    "\u200b",
    "a\u202eb",  # format characters: zero-width space, right-to-left override
    "\u2024\u2024",
    "\u2025",
    "\u2024",
    "\uff0e\uff0e",
    "a\uff0fb",
    "a\u2215b",
    "a\u2044b",
    "a\ufe68b",
    "x" * (MAX_SEGMENT + 1),
    "x" * 10240,
]
ACCEPTED = {
    "ETL_WH": "ETL_WH",
    "acme": "acme",
    "web.app": "web.app",
    "...": "...",  # not a dot segment: only "." and ".." are
    ".github": ".github",
    "prj_123": "prj_123",
    '"My WH"': "%22My%20WH%22",
    "a$b": "a%24b",
    "a:b@c": "a%3Ab%40c",
    "café": "caf%C3%A9",
    "Enterprise Sales": "Enterprise%20Sales",
    "x" * MAX_SEGMENT: "x" * MAX_SEGMENT,
}


@pytest.mark.parametrize("value", REFUSED)
def test_segment_refuses(value: str) -> None:
    with pytest.raises(ValidationFailedError) as err:
        segment(value, "target")
    assert err.value.message.startswith("target: ")
    assert err.value.details["field"] == "target"
    assert err.value.hint


@pytest.mark.parametrize(("value", "quoted"), ACCEPTED.items())
def test_segment_quotes(value: str, quoted: str) -> None:
    assert segment(value, "target") == quoted


def test_segment_takes_ints_but_not_bools_or_none() -> None:
    assert segment(12345, "hook_id") == "12345"
    for bad in (True, None, 1.5, ["a"]):
        with pytest.raises(ValidationFailedError, match="hook_id"):
            segment(bad, "hook_id")


def test_slashes_only_where_allowed_and_each_part_checked() -> None:
    assert segment("release/1.0", "branch", slashes=True) == "release%2F1.0"
    for bad in ("release/..", "../main", "a//b", "/main", "main/", "a/%2e%2e", "a/\u2025"):
        with pytest.raises(ValidationFailedError, match="branch"):
            segment(bad, "branch", slashes=True)
    with pytest.raises(ValidationFailedError):
        segment("release/1.0", "branch")


def test_api_path_fills_the_template_and_names_the_field() -> None:
    path = api_path(
        "/orgs/{org}/teams/{team_slug}/memberships/{username}", org="acme", team_slug="ops", username="mona"
    )
    assert path == "/orgs/acme/teams/ops/memberships/mona"
    assert (
        api_path("/api/v2/warehouses/{name}:suspend", name='"a b"')
        == "/api/v2/warehouses/%22a%20b%22:suspend"
    )
    with pytest.raises(ValidationFailedError, match="team_slug: '..'"):
        api_path(
            "/orgs/{org}/teams/{team_slug}/memberships/{username}",
            org="acme",
            team_slug="..",
            username="mona",
        )
    with pytest.raises(ValidationFailedError, match="username"):
        api_path(
            "/orgs/{org}/teams/{team_slug}/memberships/{username}", org="acme", team_slug="x", username="../m"
        )


def test_api_path_template_and_values_must_agree() -> None:
    with pytest.raises(TypeError):
        api_path("/repos/{owner}/{repo}", owner="acme")
    with pytest.raises(TypeError):
        api_path("/repos/{owner}", owner="acme", repo="web")


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_accepted_value_is_exactly_one_clean_segment(value: str) -> None:
    try:
        quoted = segment(value, "target")
    except ValidationFailedError:
        return
    path = api_path("/things/{name}/sub", name=value)
    assert path == f"/things/{quoted}/sub"
    assert path.count("/") == 3
    check_path(path)
    url = httpx.URL("https://api.example.com/v1" + path)
    assert url.path.startswith("/v1/things/") and url.path.endswith("/sub")


@pytest.mark.parametrize(
    "path",
    [
        "orgs/acme",
        "//evil.example/x",
        "https://evil.example/x",
        "/orgs/acme/teams/../memberships/m",
        "/a/./b",
        "/a/%2e%2e/b",
        "/a/%2E./b",
        "/a/%252e%252e/b",
        "/a/..%2f../b",
        "/a//b",
        "/a/b?x=1",
        "/a/b#f",
        "/a\\b",
        "/a b",
        "/a/\r\n",
        "/a/\x00",
        "/a/\u2025",
        "/a/%zz",
    ],
)
def test_check_path_refuses(path: str) -> None:
    with pytest.raises(ValidationFailedError):
        check_path(path)


@pytest.mark.parametrize(
    "path", ["/", "/user", "/.well-known/ready", "/api/v2/warehouses/X:resume", "/a/release%2F1.0"]
)
def test_check_path_accepts(path: str) -> None:
    check_path(path)


# -- the client's guard --------------------------------------------------------------------


def _client(seen: list[httpx.Request], base: str = "https://api.example.com/v1") -> PlatformClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    return PlatformClient(
        "acme", base_url=base, transport=httpx.MockTransport(answer), breaker=CircuitBreaker("acme")
    )


@pytest.mark.parametrize(
    "path",
    ["/orgs/acme/teams/../memberships/mona", "https://evil.example/x", "//evil.example/x", "/a/%2e%2e/b"],
)
def test_client_refuses_an_escaping_path_before_sending(path: str) -> None:
    seen: list[httpx.Request] = []

    async def go() -> None:
        client = _client(seen)
        try:
            await client.request("DELETE", path, action="acme.thing.delete", target="x")
        finally:
            await client.aclose()

    with pytest.raises(ValidationFailedError):
        asyncio.run(go())
    assert seen == []


def test_client_sends_a_clean_path_under_its_base() -> None:
    seen: list[httpx.Request] = []

    async def go() -> None:
        client = _client(seen)
        try:
            await client.request("GET", api_path("/things/{name}", name="a b"), action="acme.thing.get")
        finally:
            await client.aclose()

    asyncio.run(go())
    assert [r.url.raw_path for r in seen] == [b"/v1/things/a%20b"]


# -- the catalog ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["acme/..", "..", ".", "acme/%2e%2e", "acme/%2E.", "a\\..", "acme/\u2025", "a\r\nb", "a\x00", "web\n"],
)
def test_catalog_refuses_dot_segment_and_control_character_targets(target: str) -> None:
    with pytest.raises(ValidationFailedError, match="target"):
        check_target("github.team.remove_member", target)
    with pytest.raises(ValidationFailedError):
        spec_for("github.team.remove_member").call(target, {"user": "mona"})


@pytest.mark.parametrize(
    "target", ["acme/platform", "Q1..Q2 plan", ".github", "Enterprise Sales", "#general", None]
)
def test_catalog_keeps_ordinary_targets(target: str | None) -> None:
    check_target("asana.project.create", target)

"""The shared client says, on every error, whether the failed request may have been applied.

``details["outcome"]``: ``unsent`` (nothing reached the vendor), ``refused`` (it answered and did
not act), ``unknown`` (it may have acted: a lost answer, a 5xx, an unreadable body, or a
404/409 on a retry of a request that may already have landed). The executor believes
``unsent``/``refused`` and settles ``unknown`` by read-back. Against the same scripted local
server as test_http.py.
"""

from __future__ import annotations

import socket

import pytest

from adapters.http import HttpPolicy
from orchestrator.errors import AdapterError, NotFoundError, ValidationFailedError, outcome_unknown
from tests.adapters.scripted import Answer, Script
from tests.adapters.test_http import Sleeps, client

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_post_whose_answer_is_lost_is_unknown(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(201, {"id": 1}, delay=0.6)
    async with client(base, policy=HttpPolicy(timeout=0.2, max_attempts=3)) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/repos", action="acme.repo.create", target="r", json={})
    assert err.value.details["outcome"] == "unknown" and outcome_unknown(err.value)
    assert "may have reached acme" in err.value.hint and "nothing is assumed" not in err.value.hint


async def test_a_5xx_on_a_post_is_unknown(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(502, {"message": "bad gateway"})
    async with client(base) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/repos", action="acme.repo.create", json={})
    assert err.value.details["outcome"] == "unknown"


async def test_an_unreadable_success_on_a_post_is_unknown(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(201, b'{"id": 1, "na')
    async with client(base) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/repos", action="acme.repo.create", json={})
    assert err.value.details["outcome"] == "unknown"


async def test_a_retried_delete_that_finds_nothing_is_unknown_not_a_plain_404(server: tuple[str, Script]) -> None:
    # The first DELETE landed and its answer was lost (a timeout); the retry finds nothing. The
    # 404 is most likely our own first attempt's effect: the outcome is unknown, not "not found".
    base, script = server
    script.play(Answer(204, b"", delay=0.6), Answer(404, {"message": "Not Found"}))
    sleeps = Sleeps()
    async with client(base, sleep=sleeps, policy=HttpPolicy(timeout=0.2, max_attempts=3)) as c:
        with pytest.raises(NotFoundError) as err:
            await c.request("DELETE", "/repos/r", action="acme.repo.delete", target="r")
    assert [s.method for s in script.seen] == ["DELETE", "DELETE"]
    assert err.value.details["outcome"] == "unknown" and outcome_unknown(err.value)


async def test_a_retried_create_that_conflicts_is_unknown(server: tuple[str, Script]) -> None:
    base, script = server
    script.play(Answer(503, {"message": "busy"}))
    script.default = Answer(409, {"message": "already exists"})
    async with client(base, policy=HttpPolicy(max_attempts=2)) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/repos", action="acme.repo.create", json={}, idempotency_key="k1")
    assert len(script.seen) == 2 and err.value.details["outcome"] == "unknown"


async def test_a_first_answer_refusal_is_refused(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(422, {"message": "name taken"})
    async with client(base) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/repos", action="acme.repo.create", json={})
        with pytest.raises(NotFoundError) as missing:
            script.default = Answer(404, {"message": "Not Found"})
            await c.request("DELETE", "/repos/r", action="acme.repo.delete", target="r")
    assert err.value.details["outcome"] == "refused" and not outcome_unknown(err.value)
    assert missing.value.details["outcome"] == "refused"


async def test_a_429_storm_is_refused(server: tuple[str, Script]) -> None:
    base, script = server
    script.default = Answer(429, {"message": "slow down"}, headers={"Retry-After": "1"})
    async with client(base, policy=HttpPolicy(max_attempts=2)) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/repos", action="acme.repo.create", json={})
    assert err.value.details["outcome"] == "refused"


async def test_connection_refused_is_unsent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with client(f"http://127.0.0.1:{port}", policy=HttpPolicy(max_attempts=2)) as c:
        with pytest.raises(AdapterError) as err:
            await c.request("POST", "/x", action="acme.thing.create", json={})
    assert err.value.details["outcome"] == "unsent" and not outcome_unknown(err.value)
    assert "nothing was sent" in err.value.hint


def test_errors_that_say_nothing_are_unknown_unless_raised_before_sending() -> None:
    assert outcome_unknown(RuntimeError("connection reset by peer"))
    assert outcome_unknown(AdapterError("the platform said something odd"))
    assert not outcome_unknown(ValidationFailedError("bad name"))

"""GitHubAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no GitHub can run here, so the platform is GitHub's published REST
description served by Prism (every request checked, zero request-side violations asserted at
teardown) with a small state model (:class:`~tests.contract.twins.GitHubTwin`) choosing the
declared answers and the values in them.

Two catalog inverses compensate rather than restore, so the suite's "undo restores the
before-state" can't hold for them and they get an equivalent, stated check instead:
``repo.create`` is undone by archiving (the repo stays, archived), and ``webhook.delete`` by
recreating the hook from its before-state (same URL and events, a new id).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from adapters.catalog import ActionCall
from adapters.dev.github import GitHubAdapter
from adapters.testing import AdapterConformanceTests, run

from .common import checked, closed_after
from .github_twin import GitHubTwin
from .prism import PrismPool, RecordingTransport
from .steered import Sleeps

PRISM_SPECS = [("github", "api.github.com.json")]

MAIN = ("acme/web", "main")

COMPENSATING = {
    "github.repo.create": "undone by archiving: the repo stays, archived",
    "github.webhook.delete": "undone by recreating the hook: same URL and events, new id",
}


class TestGitHubConformance(AdapterConformanceTests):
    """The suite, with the compensating inverses checked for what they do promise."""

    @pytest.fixture
    def twin(self) -> GitHubTwin:
        return GitHubTwin()

    @pytest.fixture
    def transport(
        self, prism: PrismPool, monkeypatch: pytest.MonkeyPatch, twin: GitHubTwin
    ) -> Iterator[RecordingTransport]:
        (server,) = prism.serve("github", "api.github.com.json")
        token = "ghp_" + "C0nf0rmanceT0kenAbcdefghijklmnopq"
        recording = twin.attach(RecordingTransport())
        with checked(monkeypatch, "github", server.base_url, token, recording,
                     SOPHIA_GITHUB_WEBHOOK_SECRET="conformance-secret",
                     SOPHIA_GITHUB_ENV_DEPLOY_V1="deploy-value-one", SOPHIA_GITHUB_ENV_NPM_OLD="npm-old-value",
                     ) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[GitHubAdapter]:
        with closed_after(GitHubAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        def call(action: str, target: str, **params: object) -> ActionCall:
            return ActionCall(action=f"github.{action}", target=target, params=params)

        return [
            call("repo.create", "acme/payments", private=True, description="Payments"),
            call("repo.archive", "acme/web"),
            call("repo.unarchive", "acme/web"),
            call("branch_protection.set", "acme/web", branch="main", required_reviews=2),
            call("team.add_member", "acme/platform", user="mona"),
            call("team.remove_member", "acme/platform", user="mona"),
            call(
                "webhook.create", "acme/web", url="https://hooks.example.com/gh", events=["push", "release"]
            ),
            call("webhook.delete", "acme/web", hook_id=7),
            call("secret.set", "acme/web", name="DEPLOY_TOKEN", value="secret://DEPLOY_V1"),
            call("secret.delete", "acme/web", name="NPM_TOKEN", previous="secret://NPM_OLD"),
            call("repo.set_visibility", "acme/web", visibility="public"),
            call("repo.set_default_branch", "acme/web", branch="develop"),
        ]

    def test_scenario_reaches_predictions_and_inverses_restore(
        self, adapter: GitHubAdapter, scenario: list[ActionCall]
    ) -> None:
        restoring = [c for c in scenario if c.action not in COMPENSATING]
        super().test_scenario_reaches_predictions_and_inverses_restore(adapter, restoring)
        for call in (c for c in scenario if c.action in COMPENSATING):
            result = run(adapter.configure(call))
            assert adapter.reached(result.call, result.expected, result.after), call.action
            assert result.inverse is not None, f"{call.action}: {COMPENSATING[call.action]}"
            undo = run(adapter.configure(result.inverse))
            assert adapter.reached(undo.call, undo.expected, undo.after), f"undo of {call.action}"
            if call.action == "github.repo.create":
                assert undo.after == {**result.after, "archived": True}
            else:
                assert result.before is not None and undo.after is not None
                assert (undo.after["url"], undo.after["events"]) == (
                    result.before["url"],
                    result.before["events"],
                )
                assert undo.after["hook_id"] != result.before["hook_id"]

    def test_review_count_change_keeps_and_undo_restores_the_whole_rule(
        self, adapter: GitHubAdapter, twin: GitHubTwin
    ) -> None:
        """PUT replaces the whole rule: every part but the count survives, and undo puts all of it back."""
        original = copy.deepcopy(twin.protection[MAIN])
        call = ActionCall(
            action="github.branch_protection.set", target="acme/web", params={"branch": "main", "required_reviews": 3}
        )
        result = run(adapter.configure(call))
        changed = twin.protection[MAIN]
        assert changed["required_pull_request_reviews"]["required_approving_review_count"] == 3
        expected = copy.deepcopy(original)
        expected["required_pull_request_reviews"]["required_approving_review_count"] = 3
        lost = {part: changed.get(part) for part in expected if changed.get(part) != expected[part]}
        assert not lost, f"parts of the rule the change did not keep: {lost}"
        assert adapter.reached(result.call, result.expected, result.after)
        assert result.inverse is not None
        run(adapter.configure(result.inverse))
        assert twin.protection[MAIN] == original, "undo did not restore the whole rule"
        assert run(adapter.observe(call)) == result.before

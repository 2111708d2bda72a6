"""GitHub repositories with branch protection (pulumi-github).

One explicit ``github.Provider`` per owner (``GITHUB_TOKEN`` resolved by reference from
``SOPHIA_GITHUB_TOKEN``), so repositories of several owners can live in one stack. Branch
protection hangs off the repository's ``node_id``: Pulumi orders it after the repository.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, ClassVar

import pulumi
import pulumi_github as github
from pydantic import Field, field_validator

from adapters.catalog import ActionCall
from adapters.specs.github import owner_repo
from iac.programs.base import Program, ProgramContext, Spec, Transition
from orchestrator.errors import ValidationFailedError

__all__ = ["PROGRAM", "GitHubProgram", "GitHubSpec", "ProtectionSpec", "RepoSpec", "github_program"]


class ProtectionSpec(Spec):
    """Branch protection on one branch: required approving reviews."""

    branch: str = "main"
    required_reviews: int = Field(default=1, ge=0, le=6)
    enforce_admins: bool = False


class RepoSpec(Spec):
    """One repository and its protected branches."""

    full_name: str
    private: bool = True
    description: str = Field(default="", max_length=350)
    archived: bool = False
    protections: dict[str, ProtectionSpec] = Field(default_factory=dict)

    _n = field_validator("full_name", mode="before")(classmethod(lambda cls, v: owner_repo(v)))

    @property
    def owner(self) -> str:
        """``acme`` for ``acme/web``."""
        return self.full_name.split("/", 1)[0]

    @property
    def repo(self) -> str:
        """``web`` for ``acme/web``."""
        return self.full_name.split("/", 1)[1]


class GitHubSpec(Spec):
    """Every repository the stack manages, by ``owner/repo``."""

    repos: dict[str, RepoSpec] = Field(default_factory=dict)


def _slug(text: str) -> str:
    return text.replace("/", "-").replace(".", "-")


def github_program(spec: GitHubSpec) -> dict[str, pulumi.Resource]:
    """A provider per owner, a ``Repository`` per repo, a ``BranchProtection`` per protected branch."""
    resources: dict[str, pulumi.Resource] = {}
    providers: dict[str, github.Provider] = {}
    for full_name, repo in sorted(spec.repos.items()):
        if repo.owner not in providers:
            providers[repo.owner] = github.Provider(f"github-{repo.owner}", owner=repo.owner)
            resources[f"provider/{repo.owner}"] = providers[repo.owner]
        opts = pulumi.ResourceOptions(provider=providers[repo.owner])
        repository = github.Repository(
            f"repo-{_slug(full_name)}",
            name=repo.repo,
            visibility="private" if repo.private else "public",
            description=repo.description or None,
            archived=repo.archived,
            auto_init=True,
            archive_on_destroy=True,
            opts=opts,
        )
        resources[f"repo/{full_name}"] = repository
        for branch, rule in sorted(repo.protections.items()):
            resources[f"branch_protection/{full_name}/{branch}"] = github.BranchProtection(
                f"protect-{_slug(full_name)}-{_slug(branch)}",
                repository_id=repository.node_id,
                pattern=branch,
                enforce_admins=rule.enforce_admins,
                required_pull_request_reviews=[
                    github.BranchProtectionRequiredPullRequestReviewArgs(
                        required_approving_review_count=rule.required_reviews,
                    )
                ],
                opts=opts,
            )
    return resources


class GitHubProgram(Program[GitHubSpec]):
    """github.repo.{create,archive,unarchive}, github.branch_protection.set."""

    name: ClassVar[str] = "github"
    platform: ClassVar[str] = "github"
    spec_model = GitHubSpec
    handles: ClassVar[frozenset[str]] = frozenset({
        "github.repo.create", "github.repo.archive", "github.repo.unarchive", "github.branch_protection.set",
    })
    creates: ClassVar[frozenset[str]] = frozenset({"github.repo.create"})
    upserts: ClassVar[frozenset[str]] = frozenset({"github.branch_protection.set"})
    secret_env: ClassVar[Mapping[str, tuple[str, str]]] = {"GITHUB_TOKEN": ("github", "TOKEN")}
    plugins: ClassVar[tuple[str, ...]] = ("github",)

    def build(self, spec: GitHubSpec, ctx: ProgramContext) -> dict[str, Any]:
        return dict(github_program(spec))

    def exports(self, spec: GitHubSpec, resources: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for full_name, repo in spec.repos.items():
            res = resources[f"repo/{full_name}"]
            out[f"repo/{full_name}"] = pulumi.Output.all(res.visibility, res.description, res.archived).apply(
                functools.partial(_repo_state, full_name)
            )
            for branch in repo.protections:
                rule = resources[f"branch_protection/{full_name}/{branch}"]
                out[f"branch_protection/{full_name}/{branch}"] = pulumi.Output.all(
                    rule.pattern, rule.required_pull_request_reviews
                ).apply(lambda v: {"branch": v[0], "enabled": True, "required_reviews": _reviews(v[1])})
        return out

    def describe(self, spec: GitHubSpec) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for full_name, repo in spec.repos.items():
            out[f"repo/{full_name}"] = {"full_name": full_name, "private": repo.private,
                                        "description": repo.description, "archived": repo.archived}
            for branch, rule in repo.protections.items():
                out[f"branch_protection/{full_name}/{branch}"] = {
                    "branch": branch, "enabled": True, "required_reviews": rule.required_reviews}
        return out

    def key(self, call: ActionCall) -> str:
        full_name = owner_repo(call.target)
        if call.action == "github.branch_protection.set":
            return f"branch_protection/{full_name}/{call.params.get('branch', 'main')}"
        return f"repo/{full_name}"

    def transition(self, spec: GitHubSpec, call: ActionCall) -> Transition[GitHubSpec]:
        full_name, p = owner_repo(call.target), call.params
        repos = dict(spec.repos)
        if call.action == "github.repo.create":
            repos[full_name] = RepoSpec(full_name=full_name, private=p.get("private", True),
                                        description=p.get("description", ""))
        elif call.action == "github.branch_protection.set":
            repo = repos.get(full_name)
            if repo is None:
                raise ValidationFailedError(
                    f"{full_name} is not managed as code, so its branch protection can't be",
                    hint="create the repository through sophia-iac first, or stop managing github.branch_protection",
                )
            rules = dict(repo.protections)
            rules[p["branch"]] = ProtectionSpec(branch=p["branch"], required_reviews=p["required_reviews"])
            repos[full_name] = repo.model_copy(update={"protections": rules})
        else:
            repos[full_name] = repos[full_name].model_copy(update={"archived": call.action == "github.repo.archive"})
        return Transition(GitHubSpec(repos=repos))


def _repo_state(full_name: str, v: list[Any]) -> dict[str, Any]:
    return {"full_name": full_name, "private": v[0] != "public", "description": v[1] or "", "archived": bool(v[2])}


def _reviews(value: Any) -> int | None:
    if not value:
        return None
    first = value[0]
    count = first.get("required_approving_review_count") if isinstance(first, dict) else getattr(
        first, "required_approving_review_count", None)
    return int(count) if count is not None else None


PROGRAM = GitHubProgram()

"""Identities and roles: actors map to one identity; viewers can't mutate; approvers only in their groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import ConfigError
from policies.identity import (
    IdentityDirectory,
    Role,
    load_identities,
    may_approve,
    may_freeze,
    may_mutate,
    may_unfreeze,
)

FILE = """\
identities:
  - id: alice
    roles: [operator]
    groups: [platform]
    actors: ["cli:alice", "slack:U01ALICE"]
  - id: amy
    roles: [approver]
    groups: [data-leads]
    actors: ["slack:U02AMY"]
  - id: root
    roles: [admin]
    actors: ["cli:root"]
"""


def test_actors_on_different_surfaces_are_one_identity(tmp_path: Path) -> None:
    """The same person on Slack and the CLI resolves to the same id (four-eyes compares it)."""
    path = tmp_path / "ids.yaml"
    path.write_text(FILE)
    directory = load_identities(path)
    assert directory.resolve("cli:alice").id == directory.resolve("slack:U01ALICE").id == "alice"
    info = directory.actor_info("slack:U01ALICE")
    assert (info.id, info.roles, info.groups, info.source) == ("alice", ("operator",), ("platform",), "slack:U01ALICE")
    assert directory.resolve("alice").id == "alice"


def test_unknown_and_lookalike_actors_are_viewers(tmp_path: Path) -> None:
    """No prefix or suffix matching: `slack:U01ALICE[bot]` is a stranger."""
    path = tmp_path / "ids.yaml"
    path.write_text(FILE)
    directory = load_identities(path)
    for actor in ("slack:U01ALICE[bot]", "cli:alice ", "CLI:ALICE", "apikey:x"):
        ident = directory.resolve(actor)
        assert ident.roles == (Role.VIEWER,) and not ident.can_mutate, actor


def test_unknown_role_setting(tmp_path: Path) -> None:
    """`unknown:` sets the role for unlisted actors."""
    path = tmp_path / "ids.yaml"
    path.write_text("identities: []\nunknown: operator\n")
    assert load_identities(path).resolve("cli:bob").can_mutate


def test_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """No file: the local CLI user is an admin, other CLI users operate and approve, remote actors only read."""
    monkeypatch.delenv("SOPHIA_IDENTITIES", raising=False)
    directory = load_identities(default_actor="cli:me")
    assert directory.resolve("cli:me").roles == (Role.ADMIN,)
    colleague = directory.resolve("cli:bob")
    assert colleague.id == "cli:bob" and colleague.can_mutate and colleague.can_approve(["approvers"])
    assert not colleague.can_approve(["data-leads"])
    for remote in ("slack:U1", "api:key", "webhook:github", "cli"):
        assert directory.resolve(remote).roles == (Role.VIEWER,), remote
    assert load_identities().resolve("cli:me").roles == (Role.OPERATOR, Role.APPROVER)


def test_patterns_in_the_file(tmp_path: Path) -> None:
    """Patterns give unlisted actors roles; listed actors win; no pattern means `unknown`."""
    path = tmp_path / "ids.yaml"
    path.write_text(FILE + "patterns:\n  - {actors: 'slack:T01*', roles: [operator], groups: [eng]}\n")
    directory = load_identities(path)
    assert directory.resolve("slack:T01XYZ").groups == ("eng",)
    assert directory.resolve("slack:U01ALICE").id == "alice"
    assert not directory.resolve("slack:T02").can_mutate
    assert directory.actors_of("alice") == ("alice", "cli:alice", "slack:U01ALICE")
    assert directory.actors_of("slack:T01XYZ") == ("slack:T01XYZ",)


def test_identities_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SOPHIA_IDENTITIES names the file."""
    path = tmp_path / "ids.yaml"
    path.write_text(FILE)
    monkeypatch.setenv("SOPHIA_IDENTITIES", str(path))
    assert load_identities(default_actor="cli:me").resolve("slack:U02AMY").id == "amy"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("identities:\n  - id: a\n    actors: [x]\n  - id: b\n    actors: [x]\n", "maps to both"),
        ("identities:\n  - id: a\n  - id: a\n", "listed twice"),
        ("identities:\n  - id: a\n    roles: [god]\n", "roles"),
        ("identities:\n  - id: a\n    role: admin\n", "role"),
        ("identities: [\n", "not valid YAML"),
    ],
)
def test_bad_identity_files(tmp_path: Path, text: str, needle: str) -> None:
    """A broken identities file is a ConfigError naming the problem."""
    path = tmp_path / "ids.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_identities(path)
    with pytest.raises(ConfigError, match="can't read"):
        load_identities(tmp_path / "missing.yaml")


def test_role_permissions() -> None:
    """Who may mutate, approve, freeze and unfreeze."""
    assert may_mutate(["operator"]) and may_mutate(["admin"])
    assert not may_mutate(["viewer"]) and not may_mutate(["approver"]) and not may_mutate([])
    assert may_approve(["approver"], ["data-leads"], ["data-leads", "platform"])
    assert not may_approve(["approver"], ["data-leads"], ["platform"])
    assert may_approve(["approver"], [], [])
    assert may_approve(["admin"], [], ["platform"])
    assert not may_approve(["operator"], ["platform"], ["platform"])
    assert may_freeze(["operator"]) and not may_freeze(["viewer"])
    assert may_unfreeze(["approver"]) and may_unfreeze(["admin"]) and not may_unfreeze(["operator"])


def test_directory_from_objects() -> None:
    """Identities may come from the store as well as a file."""
    from policies.identity import Identity

    directory = IdentityDirectory([Identity(id="x", roles=(Role.APPROVER,), groups=("g",), actors=("api:key1",))])
    assert directory.resolve("api:key1").can_approve(["g"])
    assert not directory.resolve("api:key1").can_approve(["h"])

"""Packs: the default one is clean; malformed and hostile ones are refused with file, line and rule id."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from orchestrator.errors import ConfigError
from orchestrator.state import Effect
from policies.loader import (
    DEFAULT_PACK,
    PolicyPackError,
    Problem,
    check_pack,
    load_engine,
    load_pack,
    pack_paths,
)
from tests.policies.policy_helpers import engine_from_text, make_ctx


def _pack(body: str, header: str = "pack: t\nversion: 1\nrules:\n") -> str:
    return header + textwrap.dedent(body)


def _errors(text: str) -> list[Problem]:
    return [p for p in load_pack("t.yaml", text=text).problems if p.level == "error"]


@pytest.mark.parametrize("pack", sorted(DEFAULT_PACK.parent.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_packs_are_clean(pack: Path) -> None:
    """The shipped packs (default and opt-in) have no errors and no warnings."""
    assert check_pack(pack) == []


def test_yaml_syntax_error_names_the_line() -> None:
    """A YAML error is reported with its line."""
    text = _pack("""\
      - id: ok
        when: "true"
        effect: deny
      - id: broken
        when: "true
        effect: deny
    """)
    (problem,) = _errors(text)
    assert problem.file == "t.yaml"
    assert problem.line == 8
    assert "YAML: while scanning a quoted scalar" in problem.message


def test_unknown_rule_field_is_refused_with_rule_id_and_line() -> None:
    """A misspelt field is not ignored (it could be a misspelt `effect`)."""
    text = _pack("""\
      - id: first
        when: "true"
        effect: allow
      - id: typo
        when: "change.risk == 'destructive'"
        efect: deny
    """)
    (problem,) = _errors(text)
    assert (problem.rule, problem.line) == ("typo", 9)
    assert "efect" in problem.message and "unknown field" in problem.message


def test_unknown_top_level_field_is_refused() -> None:
    """The pack header is strict too."""
    (problem,) = _errors("pack: t\nversion: 1\nrulez: []\n")
    assert problem.line == 3 and "rulez" in problem.message


def test_cel_syntax_error_reports_rule_and_when_line() -> None:
    """A `when` that doesn't parse is refused at load, pointing at the `when` key."""
    text = _pack("""\
      - id: bad-syntax
        description: oops
        when: "change.risk == "
        effect: deny
    """)
    (problem,) = _errors(text)
    assert (problem.rule, problem.line) == ("bad-syntax", 6)
    assert "syntax error" in problem.message


@pytest.mark.parametrize(
    ("expr", "needle"),
    [
        ("chnage.risk == 'destructive'", "unknown variable chnage"),
        ("exec('rm -rf /')", "unknown function exec"),
        ("change.target.split(',').size() > 1", "unknown function split"),
    ],
)
def test_unknown_names_are_refused_at_load(expr: str, needle: str) -> None:
    """Typos in names fail at start-up instead of denying every change at run time."""
    (problem,) = _errors(_pack(f'  - id: r\n    when: "{expr}"\n    effect: deny\n'))
    assert needle in problem.message and problem.rule == "r"


def test_comprehension_variables_are_allowed() -> None:
    """Names bound by macros (`exists(g, ...)`) are not unknown variables."""
    text = _pack("""\
      - id: platform-group
        when: "actor.groups.exists(g, g == 'platform') && actor.roles.all(r, r != 'viewer')"
        effect: require_approval
    """)
    assert _errors(text) == []


def test_non_boolean_when_is_refused_at_load() -> None:
    """`when: change.target` type-checks to a string on the probe changes: refused."""
    (problem,) = _errors(_pack('  - id: stringy\n    when: "change.target"\n    effect: allow\n'))
    assert problem.rule == "stringy" and "must be true or false" in problem.message


def test_runtime_error_is_a_warning_at_load_and_a_deny_at_run_time() -> None:
    """An expression that fails on some input loads (with a warning) and denies on that input."""
    text = _pack('  - id: big-spend-ok\n    when: "change.params.limit_usd > 100"\n    effect: allow\n')
    problems = load_pack("t.yaml", text=text).problems
    assert [p.level for p in problems] == ["warning"]
    assert "has(" in problems[0].message
    engine = engine_from_text(text)
    fine = engine.evaluate(make_ctx("openrouter.key.set_limit", "ci", {"limit_usd": 500}))
    assert fine.effect is Effect.ALLOW
    failing = engine.evaluate(make_ctx("snowflake.warehouse.scale", "ETL_WH", {"size": "LARGE"}))
    assert failing.effect is Effect.DENY
    (reason,) = failing.reasons
    assert reason["rule"] == "big-spend-ok" and "rule error" in reason["message"] and "limit_usd" in reason["message"]


def test_runtime_non_boolean_result_is_a_deny() -> None:
    """A `when` that returns a string for some input denies, never allows."""
    text = _pack('  - id: flaggy\n    when: "has(change.params.flag) && change.params.flag"\n    effect: allow\n')
    engine = engine_from_text(text)
    assert engine.evaluate(make_ctx(params={"flag": True})).effect is Effect.ALLOW
    decision = engine.evaluate(make_ctx(params={"flag": "yes"}))
    assert decision.effect is Effect.DENY
    assert "rule error" in decision.reasons[0]["message"]


def test_duplicate_keys_are_refused() -> None:
    """YAML would silently keep the last `effect`; a pack may not say two things."""
    text = _pack("""\
      - id: sneaky
        when: "true"
        effect: deny
        effect: allow
    """)
    (problem,) = _errors(text)
    assert "duplicate key 'effect'" in problem.message and problem.line == 7


def test_aliases_are_refused() -> None:
    """No anchors-and-aliases tricks (entity expansion, hidden reuse)."""
    text = "pack: t\nversion: 1\ndefaults: &d {ttl: 1h}\nrules:\n  - id: a\n    when: 'true'\n    effect: deny\n    x: *d\n"
    (problem,) = _errors(text)
    assert "aliases" in problem.message


def test_python_tags_are_refused() -> None:
    """Safe YAML only: no object construction."""
    text = "pack: t\nversion: 1\nrules: !!python/object/apply:os.system ['echo pwned']\n"
    (problem,) = _errors(text)
    assert "YAML" in problem.message


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ("  - id: fe\n    builtin: four_eyes\n    effect: allow\n", "takes effect require_approval or deny"),
        ("  - id: p\n    builtin: protected\n    config: {patterns: []}\n", "config.patterns"),
        ("  - id: p\n    builtin: protected\n    config: {patterns: ['x'], allow: [admin]}\n", "config.allow"),
        ("  - id: s\n    builtin: spend_cap\n    config: {}\n", "set limit_usd, gpu_instances, usd_per_hour or several"),
        ("  - id: w\n    builtin: change_window\n    config: {tz: Mars/Base, windows: [{start: '09:00', end: '17:00'}]}\n",
         "unknown time zone"),
        ("  - id: w\n    builtin: change_window\n    config: {windows: [{days: [funday], start: '09:00', end: '17:00'}]}\n",
         "unknown day"),
        ("  - id: r\n    builtin: rate_limit\n    config: {max_changes: 5, window: soon}\n", "not a duration"),
        ("  - id: a\n    builtin: autonomy\n    effect: deny\n", "takes no effect"),
        ("  - id: a\n    builtin: autonomy\n    config: {default: yolo}\n", "config.default"),
        ("  - id: x\n    builtin: teleport\n", "unknown builtin 'teleport'"),
        ("  - id: x\n    when: 'true'\n", "needs `effect`"),
        ("  - id: x\n    effect: deny\n", "needs `when`"),
        ("  - id: x\n    when: 'true'\n    effect: maybe\n", "effect"),
        ("  - id: Bad Id\n    when: 'true'\n    effect: deny\n", "rule id must be"),
        ("  - id: x\n    when: 'true'\n    effect: deny\n    ttl: -5m\n", "not a duration"),
    ],
)
def test_bad_rules_are_refused(rule: str, needle: str) -> None:
    """Each malformed rule is one error naming the problem."""
    problems = _errors(_pack(rule))
    assert len(problems) == 1, problems
    assert needle in problems[0].message, problems[0].message


def test_oversized_and_deeply_nested_expressions_are_refused() -> None:
    """Hostile expressions fail at compile time (no crash, no hang)."""
    long = " || ".join(["change.risk == 'read'"] * 300)
    deep = "(" * 3000 + "true" + ")" * 3000
    for expr in (long, deep):
        (problem,) = _errors(_pack(f'  - id: huge\n    when: "{expr}"\n    effect: allow\n'))
        assert problem.rule == "huge"


def test_every_problem_is_reported_at_once() -> None:
    """`policy check` lists everything wrong, not just the first thing."""
    text = _pack("""\
      - id: a
        when: "nope =="
        effect: deny
      - id: b
        when: "true"
        effect: deny
        colour: red
      - id: a
        when: "true"
        effect: deny
    """)
    problems = _errors(text)
    assert [(p.rule, p.line) for p in problems] == [("a", 5), ("b", 10), ("a", 11)]


def test_load_engine_refuses_a_bad_pack_whole(tmp_path: Path) -> None:
    """One bad rule in an extra pack refuses start-up; the error names file, line and rule."""
    good = tmp_path / "good.yaml"
    good.write_text(_pack('  - id: good\n    when: "true"\n    effect: allow\n'))
    bad = tmp_path / "bad.yaml"
    bad.write_text(_pack('  - id: good-too\n    when: "true"\n    effect: allow\n  - id: evil\n    when: "1 +"\n    effect: deny\n'))
    with pytest.raises(PolicyPackError) as info:
        load_engine(os.pathsep.join([str(good), str(bad)]))
    err = info.value
    assert isinstance(err, ConfigError) and err.code == "policy_pack_invalid"
    assert f"{bad}:8: rule evil: when: syntax error" in err.message
    assert err.details["problems"][0]["rule"] == "evil"


def test_rule_ids_are_unique_across_packs(tmp_path: Path) -> None:
    """A later pack can't redefine (and so weaken) a rule of the default pack."""
    pack = tmp_path / "override.yaml"
    pack.write_text(_pack('  - id: four-eyes-destructive\n    when: "false"\n    effect: allow\n'))
    with pytest.raises(PolicyPackError, match="four-eyes-destructive.*already defined"):
        load_engine(str(pack))


def test_policy_path_directories_and_include_default(tmp_path: Path) -> None:
    """A directory contributes its *.yaml in name order; `include_default: false` drops the default pack."""
    (tmp_path / "b.yaml").write_text(_pack('  - id: from-b\n    when: "true"\n    effect: allow\n'))
    (tmp_path / "a.yml").write_text(_pack('  - id: from-a\n    when: "true"\n    effect: allow\n'))
    (tmp_path / "notes.txt").write_text("not a pack")
    assert [p.name for p in pack_paths(str(tmp_path))] == ["a.yml", "b.yaml"]
    engine = load_engine(str(tmp_path))
    ids = [r.id for r in engine.rules]
    assert ids.index("four-eyes-destructive") < ids.index("from-a") < ids.index("from-b")
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "only.yaml").write_text(
        "pack: only\nversion: 1\ninclude_default: false\nrules:\n  - id: x\n    when: 'true'\n    effect: allow\n"
    )
    assert [r.id for r in load_engine(str(alone)).rules] == ["roles", "x"]


def test_policy_path_from_environment_and_missing_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SOPHIA_POLICY_PATH is read when no path is given; a missing entry is an error, not skipped."""
    pack = tmp_path / "p.yaml"
    pack.write_text(_pack('  - id: env-pack\n    when: "true"\n    effect: allow\n'))
    monkeypatch.setenv("SOPHIA_POLICY_PATH", str(pack))
    assert "env-pack" in [r.id for r in load_engine().rules]
    with pytest.raises(PolicyPackError, match="no such pack"):
        load_engine(str(tmp_path / "missing.yaml"))


def test_environment_mappings_from_packs(tmp_path: Path) -> None:
    """Extra packs' environment mappings apply; first match wins; the default is prod."""
    pack = tmp_path / "envs.yaml"
    pack.write_text(
        "pack: envs\nversion: 1\nenvironments:\n"
        "  - {match: 'snowflake:DEV_*', env: dev}\n  - {match: snowflake, env: data}\n  - {match: 'vercel:*-staging', env: staging}\n"
    )
    envs = load_engine(str(pack)).environments
    assert envs.resolve("snowflake", "dev_wh") == "dev"
    assert envs.resolve("snowflake", "ETL_WH") == "data"
    assert envs.resolve("vercel", "web-staging") == "staging"
    assert envs.resolve("vercel", "web") == "prod"
    assert load_engine(str(pack), default_environment="dev").environments.resolve("github", "a/b") == "dev"

"""Ids as people paste them, end to end: the parser reads them, the store settles which record they name."""

from __future__ import annotations

from tests.cli.test_cli_e2e import cli, cli_env, jcli

__all__ = ["cli_env"]


def test_approve_and_undo_with_fragments_of_ids(cli_env: dict[str, str]) -> None:
    code, run = jcli(cli_env, "do", "create a vector index called frag-idx with 8 dimensions", "--yes")
    assert code == 0, run
    code, tune = jcli(cli_env, "do", "tune vector index frag-idx: m 32, ef_construction 128", "--yes")
    assert code == 0, tune
    tune_id = tune["changes"][0]["id"]
    code, undo = jcli(cli_env, "do", f"please undo `CHG-{tune_id.removeprefix('chg_')[:8].upper()}`", "--yes")
    assert code == 0 and undo["result"]["verified"] == {tune_id: True}, undo
    code, pending = jcli(cli_env, "do", "delete the vector index frag-idx", "--yes")
    assert code == 0 and pending["status"] == "awaiting_approval"
    short = "r-" + pending["run_id"].removeprefix("run_")[:6]
    code, done = jcli(cli_env, "do", f"approve run {short}", "--yes", extra={"SOPHIA_ACTOR": "cli:bob"})
    assert code == 0 and done["run_id"] == pending["run_id"] and done["status"] == "applied", done


def test_an_id_that_names_nothing_says_so(cli_env: dict[str, str]) -> None:
    res = cli(cli_env, "do", "approve run r-0badc0de", "--yes", extra={"SOPHIA_ACTOR": "cli:bob"})
    assert res.returncode == 7 and "no run r-0badc0de" in res.stderr and "sophia-iac runs" in res.stderr

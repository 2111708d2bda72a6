"""Record (or replay) the LLM parser on the eval datasets through vcrpy cassettes, and score it.

``evals/record_local.sh`` runs this against a live model; CI never does. One cassette per
dataset (``evals/cassettes/llm/<dataset>.yaml``: heldout, heldout_blind, dev), matched on method + path + body, with the
Authorization header and every known secret scrubbed. ``meta.json`` beside them says which
model and prompt version made them: the replay tests configure the parser from it, and a
prompt change (a new :data:`~prompts.parse.PROMPT_VERSION`) fails them until re-recorded.

    python -m evals.record_llm [--dataset heldout]      # record (needs a live model)
    python -m evals.record_llm --extend                 # add only the requests the cassettes lack
    python -m evals.record_llm --replay --parser hybrid # score from the cassettes, no network
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adapters.credentials import scrub_cassette_request, scrub_cassette_response
from evals.dataset import load_cases
from prompts.parse import PROMPT_VERSION

__all__ = ["CASSETTES", "RESULTS", "llm_vcr", "load_meta", "main", "replay_settings", "run"]

ROOT = Path(__file__).resolve().parent
CASSETTES = ROOT / "cassettes" / "llm"
RESULTS = ROOT / "results"
DATASETS = {name: ROOT / "datasets" / f"{name}.jsonl" for name in ("heldout", "heldout_blind", "dev")}
META = CASSETTES / "meta.json"
#: The base URL replay runs use: never contacted (cassettes match on path, not host).
REPLAY_BASE_URL = "http://127.0.0.1:9/v1"


def llm_vcr(record_mode: str = "none") -> Any:
    """The vcrpy configuration every LLM cassette is recorded and replayed with."""
    import vcr

    config = vcr.VCR(
        record_mode=record_mode,
        match_on=["method", "path", "body"],
        filter_headers=["authorization", "x-api-key", "api-key", "openai-organization", "openai-project",
                        "cookie", "set-cookie"],
        before_record_request=scrub_cassette_request,
        before_record_response=scrub_cassette_response,
        decode_compressed_response=True,
    )
    # The stock body matcher re-parses both JSON bodies on every comparison (~0.3 s a request
    # against a few hundred recorded ones); ours are deterministic, so exact bytes match.
    config.register_matcher("body", _same_body)
    return config


def _same_body(r1: Any, r2: Any) -> None:
    if r1.body != r2.body:
        raise AssertionError("request bodies differ")


def load_meta() -> dict[str, Any]:
    """What the committed cassettes were recorded with (model, prompt version, date)."""
    data: dict[str, Any] = json.loads(META.read_text(encoding="utf-8"))
    return data


def replay_settings(meta: dict[str, Any] | None = None) -> Any:
    """Settings that make the LLM parser send exactly the recorded requests."""
    from orchestrator.config import Settings

    meta = meta or load_meta()
    return Settings(llm_model=meta["model"], llm_base_url=REPLAY_BASE_URL, llm_api_key=None)


@contextmanager
def _cassette(name: str, record_mode: str) -> Iterator[Any]:
    path = str(CASSETTES / f"{name}.yaml")
    with llm_vcr(record_mode).use_cassette(path, allow_playback_repeats=True) as cassette:
        yield cassette


def _parser(kind: str, settings: Any, replay: bool, timeout: float) -> Any:
    from orchestrator.parsing.cache import ParseCache
    from orchestrator.parsing.llm import LLMParser

    # Replaying, a request the cassette lacks must fail at once, not be retried.
    llm = LLMParser(settings, cache=ParseCache(0), retries=0 if replay else 3, timeout=timeout)
    if kind == "llm":
        return llm
    from orchestrator.parsing.hybrid import HybridParser

    return HybridParser(settings, llm=llm)


@contextmanager
def _replay_scrubber(replay: bool) -> Iterator[None]:
    """Replaying: scrub requests as the recording process did, not with secrets this one registered.

    Requests are scrubbed before they are matched; a secret some other code registered in this
    process (a test's token, say) would otherwise rewrite a prompt that happens to contain it.
    """
    if not replay:
        yield
        return
    from adapters.credentials import scrubber_knowing_only
    from orchestrator.parsing import llm_context

    llm_context._index_of.cache_clear()  # built afresh from the catalog as it is now
    llm_context._idf_of.cache_clear()
    with scrubber_knowing_only():
        yield


@contextmanager
def _recorded_catalog(pinned: bool) -> Iterator[None]:
    """Replaying or extending: build prompts from the catalog the cassettes were recorded with.

    ``meta.json``'s ``actions``; actions appended since are not shown to the model, so the
    requests are the recorded ones. They are measured with the LLM once someone re-records.
    """
    actions = load_meta().get("actions") if pinned and META.is_file() else None
    if not actions:
        yield
        return
    from orchestrator.parsing.llm_context import catalog_as_recorded

    with catalog_as_recorded(actions):
        yield


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": 0.0, "max": 0.0}
    return {"median": round(statistics.median(values), 3), "max": round(max(values), 3)}


def run(dataset: str, kind: str, settings: Any, record_mode: str, *, replay: bool = False,
        verbose: bool = False, timeout: float = 600.0) -> dict[str, Any]:
    """Parse every case of ``dataset`` inside its cassette; return the scored summary plus usage."""
    from evals.runner import compare, summarise

    parser = _parser(kind, settings, replay, timeout)
    results, calls, prompt_tokens, completion_tokens, llm_seconds = [], [], [], [], []
    cases = load_cases(DATASETS[dataset])
    with _recorded_catalog(replay or record_mode == "new_episodes"), _replay_scrubber(replay), \
            _cassette(dataset, record_mode):
        for case in cases:
            started = time.perf_counter()
            parsed = parser.parse(case.text, inventory=dict(case.inventory))
            elapsed = time.perf_counter() - started  # replayed: the model's time is not in it
            usage = parser.last_usage
            used = usage.calls if usage is not None else 0
            results.append(compare(case, parsed.expect_shape(), elapsed))
            calls.append(used)
            if used:
                prompt_tokens.extend(usage.prompt_tokens)
                completion_tokens.extend(usage.completion_tokens)
                llm_seconds.append(usage.seconds)
            if verbose:
                mark = "ok " if results[-1].exact else "BAD"
                print(f"{case.id}: {mark} {json.dumps(parsed.expect_shape())[:160]}", file=sys.stderr)
    summary = summarise(results)
    summary["llm"] = {
        "commands_with_llm_calls": sum(1 for c in calls if c),
        "calls_per_command": {"mean": round(sum(calls) / len(calls), 3), "max": max(calls)},
        "calls_total": sum(calls),
        "prompt_tokens_per_call": _stats([float(t) for t in prompt_tokens]),
        "completion_tokens_per_call": _stats([float(t) for t in completion_tokens]),
        "latency_s_per_llm_command": _stats(llm_seconds),
    }
    return summary


def _merge_json(path: Path, update: dict[str, Any]) -> None:
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data.update(update)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Record (default), ``--extend`` or ``--replay``; results go to ``evals/results/<date>-<parser>.json``."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--dataset", action="append", choices=list(DATASETS))
    args.add_argument("--parser", default="llm", choices=["llm", "hybrid"])
    mode = args.add_mutually_exclusive_group()
    mode.add_argument("--replay", action="store_true", help="use the cassettes only (no network)")
    mode.add_argument("--extend", action="store_true",
                      help="keep the cassettes, record only requests they lack (after a validation change)")
    args.add_argument("--timeout", type=float, default=600.0, help="seconds per model call when recording")
    args.add_argument("--no-write", action="store_true", help="print the summary, write no result file")
    opts = args.parse_args(argv)
    datasets = opts.dataset or list(DATASETS)
    from orchestrator.config import Settings

    if opts.replay:
        meta = load_meta()
        settings, record_mode = replay_settings(meta), "none"
    else:
        settings = Settings()
        record_mode = "new_episodes" if opts.extend else "all"
        if not settings.llm_model:
            print("set SOPHIA_LLM_MODEL and SOPHIA_LLM_BASE_URL", file=sys.stderr)
            return 2
        CASSETTES.mkdir(parents=True, exist_ok=True)
        meta = load_meta() if META.is_file() else {}
        if meta.get("model") != settings.llm_model or meta.get("prompt_version") != PROMPT_VERSION:
            meta = {"datasets": []}  # a new model or prompt: every old cassette is stale
        meta |= {"model": settings.llm_model, "prompt_version": PROMPT_VERSION,
                 "recorded": dt.date.today().isoformat()}
        if record_mode == "all":  # a full recording shows the model today's catalog
            from adapters.registry import all_specs

            meta["actions"] = sorted(spec.id for spec in all_specs())
    if meta.get("prompt_version") != PROMPT_VERSION:
        print(f"cassettes are for {meta.get('prompt_version')}, prompts are {PROMPT_VERSION}: re-record",
              file=sys.stderr)
        return 2
    for name in datasets:
        if record_mode == "all":
            (CASSETTES / f"{name}.yaml").unlink(missing_ok=True)
        summary = run(name, opts.parser, settings, record_mode, replay=opts.replay, verbose=True,
                      timeout=opts.timeout)
        result = {
            "dataset": f"evals/datasets/{name}.jsonl",
            "cassette": f"evals/cassettes/llm/{name}.yaml",
            "mode": "replayed from cassettes" if opts.replay else "live model",
            **summary,
        }
        print(json.dumps({k: v for k, v in result.items() if k not in ("failures", "per_platform")}))
        if not opts.replay:
            meta["datasets"] = sorted({*meta.get("datasets", []), name})
            META.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if not opts.no_write:
            RESULTS.mkdir(parents=True, exist_ok=True)
            today = dt.date.today().isoformat()
            header = {"date": today, "parser": opts.parser, "model": meta["model"], "prompt_version": PROMPT_VERSION}
            _merge_json(RESULTS / f"{today}-{opts.parser}.json", {**header, name: result})
    return 0


if __name__ == "__main__":
    sys.exit(main())

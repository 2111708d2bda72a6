# syntax=docker/dockerfile:1
#
# sophia-iac in one image: `serve` (REST API + Slack app + webhook receiver; the default command)
# and `webhooks work` (the webhook inbox worker, which also runs the drift scans and reconciles).
#
#   docker build -t sophia-iac:0.1.0 .
#   docker run --rm -p 8000:8000 -v sophia-home:/var/lib/sophia-iac sophia-iac:0.1.0
#
# Base images are pinned by tag, not digest: this file was written where no container registry
# can be reached, so no digest could be checked. Pin one after your first pull with
# `docker buildx imagetools inspect python:3.11-slim-trixie` (FROM python:3.11-slim-trixie@sha256:…).
# Both stages use the same Python minor version and Debian release, so the wheels built in the
# first run in the second. tests/deploy/ lints this file (hadolint) and checks it against
# compose.yaml and the CLI; it has not been built here.

# -- build: one wheel for sophia-iac and one for every dependency ---------------------------
# The full image has a compiler, for any dependency without a binary wheel.
FROM python:3.11-trixie AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY orchestrator/ orchestrator/
COPY adapters/ adapters/
COPY policies/ policies/
COPY state/ state/
COPY iac/ iac/
COPY prompts/ prompts/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# -- runtime: the wheels installed into a slim image, run as a fixed non-root user ---------
FROM python:3.11-slim-trixie AS runtime

# Keep in step with [project].version in pyproject.toml (tests/deploy/ checks).
ARG SOPHIA_VERSION=0.1.0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SOPHIA_HOME=/var/lib/sophia-iac

# uid/gid 10001: fixed, so a volume's ownership means the same thing in every build.
RUN groupadd --system --gid 10001 sophia \
    && useradd --system --uid 10001 --gid sophia --home-dir /var/lib/sophia-iac --no-create-home \
        --shell /usr/sbin/nologin sophia \
    && install --directory --owner=sophia --group=sophia --mode=0700 /var/lib/sophia-iac

# The wheels are bind-mounted from the builder, never copied: no layer keeps them.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels "sophia-iac==${SOPHIA_VERSION}"

USER 10001:10001
WORKDIR /var/lib/sophia-iac
# SQLite state, checkpoints, the generated ledger key (unless SOPHIA_LEDGER_KEY[_FILE] is given).
VOLUME ["/var/lib/sophia-iac"]
EXPOSE 8000

# Liveness: GET /healthz answers 200 once the server is up (orchestrator/interfaces/routes/health.py).
# The slim image has no curl; urlopen raises on a refused connection or any non-2xx status.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# PID 1 gets no default signal handlers: SIGTERM would be ignored by the worker (which stops on
# Ctrl-C) until the kill. uvicorn and the worker both stop cleanly on SIGINT.
STOPSIGNAL SIGINT

ENTRYPOINT ["sophia-iac"]
# Zero configuration: SQLite under SOPHIA_HOME, an inbox worker inside the server.
# compose.yaml runs `serve --no-worker` beside a separate `webhooks work` service instead.
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

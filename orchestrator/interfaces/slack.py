"""The Slack app: ``/sophia`` commands, ``@sophia`` mentions, plan buttons, drift alerts.

Everything here runs *after* the HTTP edge (``routes/slack.py``) or the Socket Mode runner
has checked the request's signature. Each handler answers at once (Slack wants an answer
within 3 s; we aim for well under 300 ms) and does the work in a background task that calls
the one :class:`~orchestrator.service.OrchestratorService` — the same parse, plan, policy and
approval as the CLI and the REST API — then answers through ``response_url`` or
``chat.postMessage`` in the thread.

* Slack users map to identities (``sophia-iac slack link``); an unmapped user can do nothing.
  Buttons check roles: Approve / Reject / Request changes need ``approver``; Apply / Cancel
  on a plan only its requester; Revert on drift ``operator``. Refusals are ephemeral.
* Retries (``X-Slack-Retry-Num``, same ``event_id``) and repeated button deliveries are
  deduplicated in the store, so one delivery makes at most one run.
* Output is escaped: text that came from data (commands, targets, params, errors, webhook
  payloads) can't form ``<!channel>``, ``<@U…>`` or links.

Configuration (all optional until Slack is used): ``SOPHIA_SLACK_SIGNING_SECRET`` (by
reference: also ``…_FILE`` or the secret manager), ``SOPHIA_SLACK_TOKEN`` (bot token, for
``chat.postMessage``), ``SOPHIA_SLACK_ALERTS_CHANNEL`` (where drift is posted),
``SOPHIA_SLACK_API_URL``, ``SOPHIA_SLACK_RESPONSE_URL_PREFIX``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from orchestrator.errors import ApprovalError, ConfigError, SophiaError

if TYPE_CHECKING:
    from adapters.credentials import Secret
    from orchestrator.interfaces.host import ServiceHost
    from orchestrator.interfaces.metrics import Metrics
    from state.identities import Identity
    from state.models import Drift
    from state.store import Store

__all__ = [
    "ACTION_IDS",
    "SlackApp",
    "SlackPoster",
    "SlackSettings",
    "code",
    "escape",
    "incoming_text",
    "render_run",
    "signing_secret",
]

log = logging.getLogger(__name__)

ACTION_IDS = {
    "approve": "sophia_approve", "reject": "sophia_reject", "request_changes": "sophia_request_changes",
    "confirm": "sophia_confirm", "cancel": "sophia_cancel", "drift_revert": "sophia_drift_revert",
}
_ACTION_OF = {v: k for k, v in ACTION_IDS.items()}

STATUS_TITLE = {
    "awaiting_confirmation": ":clipboard: Plan — apply it?", "awaiting_approval": ":raised_hand: Approval needed",
    "applied": ":white_check_mark: Applied", "dry_run": ":mag: Dry run (nothing changed)",
    "answered": ":speech_balloon: Answer", "denied": ":no_entry: Denied by policy", "rejected": ":x: Rejected",
    "cancelled": ":heavy_minus_sign: Cancelled", "changes_requested": ":pencil2: Changes requested",
    "expired": ":hourglass: Approval expired", "failed": ":warning: Failed", "clarify": ":grey_question: Not sure",
    "refuse": ":no_entry_sign: Refused",
}


class SlackSettings(BaseSettings):
    """Slack settings that are not secrets (secrets are resolved by reference)."""

    model_config = SettingsConfigDict(env_prefix="SOPHIA_SLACK_", env_file=".env", extra="ignore")

    api_url: str = "https://slack.com/api/"
    alerts_channel: str | None = None
    response_url_prefix: str = "https://hooks.slack.com/"


def signing_secret() -> Secret:
    """``SOPHIA_SLACK_SIGNING_SECRET`` (or ``…_FILE`` / the secret manager).

    The same setting the Slack adapter re-verifies inbox events with (Slack's webhook secret,
    :func:`adapters.credentials.webhook_secret`): one app, one signing secret.
    """
    from adapters.credentials import webhook_secret

    return webhook_secret("slack")


# -- escaping ----------------------------------------------------------------------------

_SPECIAL = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def escape(text: object, limit: int = 600) -> str:
    """Make data inert in Slack mrkdwn: no ``<…>`` controls, no broadcast words, no live links."""
    out = str(text)
    if len(out) > limit:
        out = out[: limit - 1] + "…"
    out = out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = _SPECIAL.sub("@\u2060\\1", out)
    return out.replace("://", ":\u2060//")


def code(text: object, limit: int = 300) -> str:
    """Data as an inline code span (escaped; backticks can't close it)."""
    return "`" + escape(text, limit).replace("`", "ˋ") + "`"


def code_block(value: object, limit: int = 1500) -> str:
    """Data as a code block."""
    text = value if isinstance(value, str) else json.dumps(value, indent=1, sort_keys=True, default=str)
    return "```" + escape(text, limit).replace("```", "ˋˋˋ") + "```"


_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def incoming_text(text: str) -> str:
    """A Slack message's text as the user typed it: mentions dropped, links to labels, entities decoded."""
    text = re.sub(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>\s*", "", text or "")

    def plain(m: re.Match[str]) -> str:
        inner, label = m.group(1), m.group(2)
        if inner.startswith(("@", "!", "#")):
            return label or ""
        return label or inner

    text = _LINK.sub(plain, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


# -- rendering ---------------------------------------------------------------------------


def _button(label: str, action: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": label},
                              "action_id": ACTION_IDS[action], "value": value}
    if style:
        button["style"] = style
    return button


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


def render_run(view: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """A run as (fallback text, Block Kit blocks), with buttons when it waits for someone."""
    status, run_id = view["status"], view["run_id"]
    title = STATUS_TITLE.get(status, escape(status))
    head = f"*{title}* · run {code(run_id)} · by {code(view.get('actor', ''))}\n> {code(view.get('text', ''), 500)}"
    blocks = [_section(head)]
    plan = view.get("plan") or {}
    lines = []
    for step in plan.get("steps", [])[:20]:
        call = step.get("call", {})
        line = f"• {code(call.get('action'))} on {code(call.get('target'))} ({escape(step.get('risk', ''))})"
        if call.get("params"):
            line += f" {code(json.dumps(call['params'], sort_keys=True), 200)}"
        if step.get("before") is not None or step.get("expected") is not None:
            line += f"\n   {code(_short(step.get('before')), 150)} → {code(_short(step.get('expected')), 150)}"
        lines.append(line)
    if lines:
        blocks.append(_section("*Plan*\n" + "\n".join(lines)))
    decision = view.get("decision") or {}
    if decision.get("reasons"):
        reasons = "\n".join(f"• {escape(r.get('message', ''), 300)} ({code(r.get('rule', ''))})"
                            for r in decision["reasons"][:10])
        blocks.append(_section(f"*Policy: {escape(decision.get('effect', ''))}*\n{reasons}"))
    error = view.get("error")
    if error:
        blocks.append(_section(f"*{code(error.get('code', 'error'))}* {escape(error.get('message', ''), 800)}"
                               + (f"\n_{escape(error.get('hint', ''), 300)}_" if error.get("hint") else "")))
    result = view.get("result") or {}
    if status == "answered" and result:
        shown = result.get("help") or result.get("status") or result.get("changes") or result
        blocks.append(_section(code_block(shown)))
    if status in ("clarify", "refuse"):
        parsed = view.get("parsed") or {}
        message = parsed.get("message") or ("didn't understand that" if status == "clarify" else "refused")
        candidates = ", ".join(code(c) for c in parsed.get("candidates", [])[:5])
        blocks.append(_section(escape(message, 500) + (f"\nClosest actions: {candidates}" if candidates else "")))
    answers = [a for a in view.get("approvals") or [] if a.get("comment") and a.get("decision") != "approve"]
    if status in ("changes_requested", "rejected") and answers:
        last = answers[-1]
        said = "Changes requested" if last.get("decision") == "request_changes" else "Rejected"
        blocks.append(_section(f"{said} by {code(last.get('actor'))}: {escape(last.get('comment'), 500)}"))
    if status == "awaiting_confirmation":
        blocks.append({"type": "actions", "elements": [_button("Apply", "confirm", run_id, "primary"),
                                                         _button("Cancel", "cancel", run_id)]})
    elif status == "awaiting_approval":
        blocks.append({"type": "actions", "elements": [
            _button("Approve", "approve", run_id, "primary"), _button("Reject", "reject", run_id, "danger"),
            _button("Request changes", "request_changes", run_id)]})
    fallback = f"{title}: run {run_id} ({status})"
    return fallback, blocks


def _short(state: Any) -> str:
    if state is None:
        return "absent"
    return json.dumps(state, sort_keys=True, default=str)


def render_drift(drift: Drift) -> tuple[str, list[dict[str, Any]]]:
    """A drift alert with a Revert button (when the catalog can revert it)."""
    head = (f"*:rotating_light: Drift on {escape(drift.platform)}*: {escape(drift.resource_type)} "
            f"{code(drift.name)} was {escape(drift.verb)} outside sophia"
            + (f" (reported actor {code(drift.reported_actor)})" if drift.reported_actor else "")
            + f" · {code(drift.id)}")
    body = f"Before: {code(_short(drift.before), 400)}\nNow: {code(_short(drift.observed), 400)}"
    blocks = [_section(head), _section(body)]
    if drift.revert:
        call = drift.revert
        blocks.append(_section(f"Revert would run {code(call.get('action'))} on {code(call.get('target'))} "
                               f"{code(json.dumps(call.get('params') or {}, sort_keys=True), 200)} "
                               "through plan, policy and approval."))
        blocks.append({"type": "actions", "elements": [_button("Revert", "drift_revert", drift.id, "danger")]})
    else:
        from orchestrator.drift import revert_note

        blocks.append(_section(f"_{escape(revert_note(drift))}_"))
    return f"Drift on {drift.platform}: {drift.resource_type} {drift.name} was {drift.verb} outside sophia", blocks


# -- outbound ----------------------------------------------------------------------------


class SlackPoster:
    """Web API calls (slack-sdk, run in a thread) and ``response_url`` replies (httpx)."""

    def __init__(self, settings: SlackSettings | None = None, *, client: Any = None) -> None:
        self.settings = settings or SlackSettings()
        self._client = client

    def client(self) -> Any:
        """The Web API client (bot token from ``SOPHIA_SLACK_TOKEN``)."""
        if self._client is None:
            from slack_sdk import WebClient

            from adapters.credentials import SecretRef, resolve_secret

            token = resolve_secret(SecretRef("slack")).reveal()
            self._client = WebClient(token=token, base_url=self.settings.api_url)
        return self._client

    async def api(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        """Call a Web API method with a form body (the only place the sync SDK is wrapped)."""
        response = await asyncio.to_thread(self.client().api_call, method, data=data)
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None,
                   thread_ts: str | None = None) -> str | None:
        """``chat.postMessage``; returns the message ts."""
        data: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": "false", "unfurl_media": "false"}
        if blocks:
            data["blocks"] = json.dumps(blocks)
        if thread_ts:
            data["thread_ts"] = thread_ts
        result = await self.api("chat.postMessage", data)
        ts = result.get("ts")
        return str(ts) if ts else None

    async def ephemeral(self, channel: str, user: str, text: str) -> None:
        """``chat.postEphemeral``: only ``user`` sees it."""
        await self.api("chat.postEphemeral", {"channel": channel, "user": user, "text": text})

    async def respond(self, response_url: str, payload: dict[str, Any]) -> None:
        """POST a reply to an interaction's or command's ``response_url``."""
        if not response_url.startswith(self.settings.response_url_prefix):
            raise ConfigError("refusing to answer a response_url outside Slack",
                              hint="SOPHIA_SLACK_RESPONSE_URL_PREFIX names the allowed prefix")
        import httpx

        async with httpx.AsyncClient(timeout=10) as http:
            for attempt in range(1, 4):
                try:
                    response = await http.post(response_url, json=payload)
                    break
                except (httpx.ConnectError, httpx.ConnectTimeout):  # nothing was sent: safe to try again
                    if attempt == 3:
                        raise
                    await asyncio.sleep(0.2 * attempt)
            response.raise_for_status()


@dataclass
class Reply:
    """Where a command's answers go: a ``response_url`` or a channel thread."""

    poster: SlackPoster
    response_url: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    user: str | None = None

    async def send(self, text: str, blocks: list[dict[str, Any]] | None = None, *, replace: bool = False) -> None:
        """A message everyone in the conversation sees."""
        if self.response_url:
            payload: dict[str, Any] = {"text": text, "response_type": "in_channel", "replace_original": replace}
            if blocks:
                payload["blocks"] = blocks
            await self.poster.respond(self.response_url, payload)
        elif self.channel:
            await self.poster.post(self.channel, text, blocks, thread_ts=self.thread_ts)

    async def refuse(self, text: str) -> None:
        """A message only the user sees."""
        if self.response_url:
            await self.poster.respond(self.response_url, {"text": text, "response_type": "ephemeral",
                                                          "replace_original": False})
        elif self.channel and self.user:
            await self.poster.ephemeral(self.channel, self.user, text)


# -- the app -----------------------------------------------------------------------------

NOT_LINKED = ("You are not linked to a sophia identity, so I can't act for you. "
              "Ask an admin to run `sophia-iac slack link --user {user} --identity NAME --role ROLE`.")


class SlackApp:
    """Handles verified Slack requests; also the drift notifier for the inbox worker."""

    def __init__(self, host: ServiceHost, store: Store, *, settings: SlackSettings | None = None,
                 poster: SlackPoster | None = None, metrics: Metrics | None = None) -> None:
        from state.inbox import Inbox

        self.host = host
        self.store = store
        self.settings = settings or (poster.settings if poster is not None else SlackSettings())
        self.poster = poster or SlackPoster(self.settings)
        self.metrics = metrics
        self.inbox = Inbox(store)
        self.tasks: set[asyncio.Task[None]] = set()

    # -- plumbing ------------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background (its failures are logged, never lost silently)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack background task failed", exc_info=task.exception())

    async def drain(self, timeout: float = 60.0) -> None:
        """Wait for background work (tests, shutdown)."""
        while self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout)

    def _count(self, kind: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.slack.labels(kind, outcome).inc()

    async def _identity(self, team_id: str, user_id: str) -> Identity | None:
        from state.identities import SlackUsers

        return await asyncio.to_thread(SlackUsers(self.store).lookup, team_id or "", user_id or "")

    def _person(self, actor: str) -> str:
        """The identity name behind an actor (``slack:U1`` and ``api:alice`` may be the same person)."""
        from state.identities import registered

        found = registered(self.store, actor)
        return found.name if found is not None else actor

    async def _remember(self, key: str, kind: str, **fields: str | None) -> bool:
        return await asyncio.to_thread(self.inbox.remember_slack, key, kind, **fields)

    # -- slash command -------------------------------------------------------------------
    async def on_command(self, form: dict[str, str]) -> dict[str, Any]:
        """``/sophia <text>``: answer at once, run the command in the background."""
        user, team = form.get("user_id", ""), form.get("team_id", "")
        text = incoming_text(form.get("text", ""))
        who = await self._identity(team, user)
        if who is None:
            self._count("command", "not_linked")
            return {"response_type": "ephemeral", "text": NOT_LINKED.format(user=escape(user, 40))}
        if not who.allows("operator"):
            self._count("command", "forbidden")
            return {"response_type": "ephemeral",
                    "text": f"Your role ({escape(who.role)}) can't run commands; it needs operator or higher."}
        if not text:
            return {"response_type": "ephemeral", "text": "Say what to do, e.g. `/sophia status` or "
                    "`/sophia create a vector index called docs with 384 dimensions`."}
        key = "command:" + (form.get("trigger_id") or f"{team}:{user}:{hash(text)}")
        if not await self._remember(key, "command", team_id=team, user_id=user, channel_id=form.get("channel_id")):
            self._count("command", "duplicate")
            return {"response_type": "ephemeral", "text": "Already on it."}
        reply = Reply(self.poster, response_url=form.get("response_url") or None, channel=form.get("channel_id"),
                      user=user)
        self.spawn(self._run_command(key, who, text, reply))
        self._count("command", "accepted")
        # The command is not echoed: it is unparsed, and may hold a secret value the run will refuse
        # and withhold (orchestrator.secret_params); the result shows the text as stored.
        return {"response_type": "in_channel", "text": f"Working on it for {code(who.name)}…"}

    async def _run_command(self, key: str, who: Identity, text: str, reply: Reply) -> None:
        from orchestrator.state import Request

        request = Request(text=text, actor=who.actor, surface="slack", confirmed=False)
        try:
            view = await self.host.call(lambda s: s.submit(request))
        except SophiaError as exc:
            await asyncio.to_thread(self.inbox.settle_slack, key, status="failed")
            await reply.send(f"*{code(exc.code)}* {escape(exc.message, 800)}\n_{escape(exc.hint, 300)}_")
            return
        await asyncio.to_thread(self.inbox.settle_slack, key, status=view["status"], run_id=view["run_id"])
        if self.metrics is not None:
            self.metrics.runs.labels("slack", view["status"]).inc()
        text_, blocks = render_run(view)
        await reply.send(text_, blocks)

    # -- Events API ----------------------------------------------------------------------
    async def on_event(self, payload: dict[str, Any]) -> None:
        """``app_mention`` → a command, answered in the thread; everything else is ignored."""
        event = payload.get("event") or {}
        if payload.get("type") != "event_callback" or event.get("type") != "app_mention":
            self._count("event", "ignored")
            return
        if event.get("bot_id") or event.get("subtype"):
            self._count("event", "ignored")
            return
        event_id = str(payload.get("event_id") or "")
        team, user, channel = str(payload.get("team_id") or ""), str(event.get("user") or ""), event.get("channel")
        if not event_id or not await self._remember("event:" + event_id, "event", team_id=team, user_id=user,
                                                    channel_id=channel):
            self._count("event", "duplicate")
            return
        reply = Reply(self.poster, channel=channel, thread_ts=event.get("thread_ts") or event.get("ts"), user=user)
        who = await self._identity(team, user)
        if who is None or not who.allows("operator"):
            self._count("event", "forbidden")
            message = NOT_LINKED.format(user=escape(user, 40)) if who is None else \
                f"Your role ({escape(who.role)}) can't run commands; it needs operator or higher."
            self.spawn(reply.refuse(message))
            return
        text = incoming_text(str(event.get("text") or ""))
        self._count("event", "accepted")
        self.spawn(self._run_command("event:" + event_id, who, text, reply))

    # -- interactivity -------------------------------------------------------------------
    async def on_interaction(self, payload: dict[str, Any]) -> None:
        """A button on a plan or drift message: check who pressed it, then act in the background."""
        if payload.get("type") != "block_actions" or not payload.get("actions"):
            self._count("interaction", "ignored")
            return
        action = payload["actions"][0]
        kind = _ACTION_OF.get(str(action.get("action_id")))
        value = str(action.get("value") or "")[:60]
        user = payload.get("user") or {}
        team = str((payload.get("team") or {}).get("id") or user.get("team_id") or "")
        reply = Reply(self.poster, response_url=payload.get("response_url") or None,
                      channel=(payload.get("channel") or {}).get("id"), user=str(user.get("id") or ""),
                      thread_ts=(payload.get("message") or {}).get("ts"))
        if kind is None or not value:
            self._count("interaction", "ignored")
            return
        key = "action:" + str(payload.get("trigger_id") or action.get("action_ts") or "")
        if not await self._remember(key, "interaction", team_id=team, user_id=reply.user):
            self._count("interaction", "duplicate")
            return
        who = await self._identity(team, reply.user or "")
        if who is None:
            self._count("interaction", "not_linked")
            self.spawn(reply.refuse(NOT_LINKED.format(user=escape(reply.user, 40))))
            return
        self._count("interaction", kind)
        self.spawn(self._act(kind, value, who, reply, key))

    async def _act(self, kind: str, value: str, who: Identity, reply: Reply, key: str) -> None:
        handlers: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {}
        if kind in ("approve", "reject", "request_changes"):
            if not who.allows("approver"):
                await reply.refuse(f"You may not approve or reject: your role is {escape(who.role)} "
                                   "and this needs approver.")
                return
            # Slack buttons carry no text: the comment says where the answer came from.
            comment = f"{kind.replace('_', ' ')} from Slack by {who.name}; details in the thread"
            handlers[kind] = lambda: self.host.call(
                lambda s: getattr(s, kind)(value, actor=who.actor, comment=comment))
        elif kind in ("confirm", "cancel"):
            run = await asyncio.to_thread(self.store.get_run, value)
            if await asyncio.to_thread(self._person, run.actor) != who.name:
                await reply.refuse(f"Only {code(run.actor)}, who asked for this, can apply or cancel it.")
                return
            handlers[kind] = lambda: self.host.call(lambda s: s.confirm(value, kind == "confirm"))
        elif kind == "drift_revert":
            if not who.allows("operator"):
                await reply.refuse(f"You may not revert drift: your role is {escape(who.role)}.")
                return
            handlers[kind] = lambda: self.host.call(lambda s: s.revert_drift(value, actor=who.actor, surface="slack"))
        try:
            view = await handlers[kind]()
        except (ApprovalError, SophiaError) as exc:
            await reply.refuse(f"{code(exc.code)} {escape(exc.message, 600)}")
            return
        await asyncio.to_thread(self.inbox.settle_slack, key, status=view["status"], run_id=view["run_id"])
        text, blocks = render_run(view)
        await reply.send(text, blocks, replace=kind != "drift_revert")

    # -- drift ---------------------------------------------------------------------------
    async def notify_drift(self, drift: Drift) -> bool:
        """Post drift to ``SOPHIA_SLACK_ALERTS_CHANNEL`` (False when no channel is set)."""
        if not self.settings.alerts_channel:
            return False
        text, blocks = render_drift(drift)
        await self.poster.post(self.settings.alerts_channel, text, blocks)
        return True

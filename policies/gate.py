"""The policy gate: what the orchestrator asks — decisions, approvals, freezes, explanations.

It joins the pure engine to the world: identities (who is asking), the store (active freezes,
each identity's recent changes, approval records) and environment mappings. Every failure to
answer is a deny for anything that mutates ("policy engine unavailable: …"); read-only plans
still run. A pack that fails to load leaves the gate without an engine: it says why on every
mutating decision, and ``sophia-iac policy check`` shows the file, line and rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from orchestrator.state import Decision, Effect, Plan, Request
from policies.approvals import ApprovalAnswer, ApprovalRequest, Judgement, authorize, judge, new_request
from policies.context import ActorInfo, ChangeInfo, Freeze, PolicyContext, RunInfo
from policies.engine import PolicyEngine, unavailable
from policies.identity import Identity, IdentityDirectory, load_identities

if TYPE_CHECKING:
    from orchestrator.config import Settings
    from orchestrator.state import ParsedCommand
    from state.store import Store

__all__ = ["PolicyGate"]


def _read_only_allow(cause: object) -> Decision:
    return Decision(effect=Effect.ALLOW, reasons=[{
        "rule": "read-only", "effect": "allow",
        "message": f"reads run even though the policy engine is unavailable ({cause})",
    }])


class PolicyGate:
    """Policy for one service. Build with :meth:`load`.

    Attributes:
        engine: the compiled rules, or None when the packs failed to load (see ``load_error``).
        identities: actor → identity.
        store: where freezes, change counts and approval records live.
    """

    def __init__(self, engine: PolicyEngine | None, identities: IdentityDirectory, store: Store | None,
                 load_error: str | None = None, default_environment: str = "prod") -> None:
        self.engine = engine
        self.identities = identities
        self.store = store
        self.load_error = load_error
        self.default_environment = default_environment

    @classmethod
    def load(cls, settings: Settings, store: Store | None) -> PolicyGate:
        """Load packs (default + ``SOPHIA_POLICY_PATH``) and identities (``SOPHIA_IDENTITIES``).

        A broken pack or identities file doesn't stop the service (reads still run): the gate
        denies every mutation, saying why, and nobody is trusted to approve.
        """
        from orchestrator.errors import ConfigError
        from policies.loader import PolicyPackError, load_engine

        try:
            identities = load_identities(default_actor=settings.default_actor())
        except ConfigError as exc:
            return cls(None, IdentityDirectory(), store, exc.message, settings.default_environment)
        try:
            engine: PolicyEngine | None = load_engine(settings.policy_path,
                                                      default_environment=settings.default_environment)
            error = None
        except PolicyPackError as exc:
            engine, error = None, exc.message.replace("\n", " ")
        return cls(engine, identities, store, error, settings.default_environment)

    # -- inputs from the store -----------------------------------------------------------
    def recent_changes(self, identity_id: str, window_seconds: int) -> int:
        """How many changes the identity (any of its actors) opened in the last window."""
        from sqlalchemy import func
        from sqlmodel import col, select

        from state.models import ChangeRecord

        if self.store is None:
            raise RuntimeError("no state store")
        since = datetime.now(UTC) - timedelta(seconds=window_seconds)
        actors = self.identities.actors_of(identity_id)
        with self.store.session() as s:
            query = select(func.count()).select_from(ChangeRecord).where(
                col(ChangeRecord.actor).in_(actors), ChangeRecord.created_at >= since,
                ChangeRecord.risk != "read", ChangeRecord.platform != "sophia",
            )
            return int(s.exec(query).one())

    def active_freezes(self) -> tuple[Freeze, ...]:
        """Freezes in force now, as the engine sees them."""
        if self.store is None:
            raise RuntimeError("no state store")
        return tuple(Freeze(env=f.environment, until=f.until, reason=f.reason, by=f.actor)
                     for f in self.store.active_freezes())

    def environment(self, platform: str, target: str | None) -> str:
        """The environment a resource belongs to."""
        if self.engine is None:
            return self.default_environment
        return self.engine.environments.resolve(platform, target)

    # -- decisions -------------------------------------------------------------------------
    def contexts(self, plan: Plan, actor: ActorInfo, *, surface: str, run_id: str,
                 freezes: tuple[Freeze, ...], now: datetime, env: str | None = None) -> list[PolicyContext]:
        """One policy context per step (``env`` overrides the environment mappings)."""
        run = RunInfo(id=run_id, steps=len(plan.steps), surface=surface)
        return [
            PolicyContext(
                change=ChangeInfo(action=s.call.action, target=s.call.target, params=s.call.params, risk=s.risk,
                                  reversible=s.reversible),
                before=s.before, expected=s.expected, actor=actor,
                env=env or self.environment(s.call.platform, s.call.target), now=now,
                run=run,
                freezes=freezes,
            )
            for s in plan.steps
        ]

    def decide(self, plan: Plan, request: Request, run_id: str, now: datetime | None = None,
               env: str | None = None) -> Decision:
        """The verdict for ``plan`` requested by ``request.actor``. Never raises; fails closed."""
        mutating = plan.mutating
        if self.engine is None:
            return unavailable(self.load_error) if mutating else _read_only_allow(self.load_error)
        try:
            now = now or datetime.now(UTC)
            actor = self.identities.actor_info(request.actor)
            freezes = self.active_freezes() if mutating else ()
            contexts = self.contexts(plan, actor, surface=request.surface, run_id=run_id, freezes=freezes, now=now,
                                     env=env)
        except Exception as exc:  # noqa: BLE001 — the store or identities can't answer: fail closed
            cause = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            return unavailable(cause) if mutating else _read_only_allow(cause)
        return self.engine.with_counter(self.recent_changes).evaluate_plan(contexts)

    def explain(self, parsed: ParsedCommand, actor: str, *, env: str | None = None, surface: str = "cli",
                now: datetime | None = None) -> dict[str, Any]:
        """What policy would decide for a parsed command, without planning or running anything.

        Steps are built from the catalog (risk, reversibility, validated params); the
        before-state is not read. ``env`` overrides the environment mappings.
        """
        from adapters.registry import spec_for
        from orchestrator.state import Step

        now = now or datetime.now(UTC)
        identity = self.identities.resolve(actor)
        out: dict[str, Any] = {"actor": actor, "identity": identity.id, "roles": [r.value for r in identity.roles],
                               "groups": list(identity.groups), "intent": parsed.intent.value, "steps": []}
        if parsed.intent.value != "action" or not parsed.actions:
            out["decision"] = None
            out["note"] = (f"`{parsed.intent.value}` is not a catalog change; policy is checked when a change is "
                           f"planned" + (f" ({parsed.message})" if parsed.message else ""))
            return out
        steps = []
        for i, call in enumerate(parsed.actions):
            spec = spec_for(call.action)
            steps.append(Step(seq=i + 1, call=spec.call(call.target, call.params), risk=spec.risk.value,
                              reversible=spec.reversible))
        plan = Plan(steps=steps)
        decision = self.decide(plan, Request(text="", actor=actor, surface=surface), "explain", now, env=env)
        out["steps"] = [{"seq": s.seq, "action": s.call.action, "target": s.call.target, "params": s.call.params,
                         "risk": s.risk, "env": env or self.environment(s.call.platform, s.call.target)}
                        for s in steps]
        if self.engine is not None:
            first = self.contexts(plan, identity.actor_info(actor), surface=surface, run_id="explain", freezes=(),
                                  now=now, env=env)[0]
            out["tier"] = self.engine.tier(first).value
        out["decision"] = decision.model_dump(mode="json")
        return out

    # -- approvals -------------------------------------------------------------------------
    def approval_request(self, *, run_id: str, plan: Plan, request: Request, decision: Decision,
                         now: datetime | None = None) -> ApprovalRequest:
        """The approval request for a plan policy wants approved."""
        return new_request(run_id=run_id, digest=plan.digest, summary=plan.summary,
                           requester=self.identities.resolve(request.actor), requester_actor=request.actor,
                           decision=decision, now=now,
                           requester_principal=self.identities.resolve(request.principal or request.actor))

    def decider(self, actor: str) -> Identity:
        """The identity deciding on an approval."""
        return self.identities.resolve(actor)

    def may_decide(self, request: ApprovalRequest, actor: str, decision: str, comment: str | None, *,
                   principal: str | None = None) -> str | None:
        """Why ``actor`` (named by ``principal``, when given) may not answer ``request`` this way (None: they may)."""
        from policies.approvals import Answer

        return authorize(request, self.decider(actor), Answer(decision), comment,
                         principal=self.decider(principal or actor))

    def judge(self, request: ApprovalRequest, answer: ApprovalAnswer, *, plan_digest: str,
              now: datetime | None = None) -> Judgement:
        """Judge an answer (see :func:`policies.approvals.judge`)."""
        return judge(request, answer, self.decider(answer.actor), plan_digest=plan_digest, now=now,
                     principal=self.decider(answer.principal or answer.actor))

    @staticmethod
    def source(answer: ApprovalAnswer) -> str:
        """The actor string an answer came from, and who named it when that was someone else."""
        if answer.principal and answer.principal != answer.actor:
            return f"{answer.actor} via {answer.principal}"
        return answer.actor

    def record(self, request: ApprovalRequest, answer: ApprovalAnswer, judgement: Judgement) -> None:
        """Keep an answer and what it amounted to (the audit trail of approvals)."""
        from state.models import ApprovalRecord

        if self.store is None:
            return
        with self.store.session() as s:
            s.add(ApprovalRecord(
                run_id=request.run_id, digest=answer.digest, decision=answer.decision.value,
                actor=self.decider(answer.actor).id, source=self.source(answer), comment=answer.comment,
                outcome=judgement.outcome, problem=judgement.problem or None, created_at=answer.answered_at,
            ))

    def answers(self, run_id: str) -> list[dict[str, Any]]:
        """Every recorded answer for a run, oldest first."""
        from sqlmodel import col, select

        from state.models import ApprovalRecord

        if self.store is None:
            return []
        with self.store.session() as s:
            rows = s.exec(select(ApprovalRecord).where(ApprovalRecord.run_id == run_id)
                          .order_by(col(ApprovalRecord.id))).all()
        return [r.model_dump(mode="json", exclude={"id"}) for r in rows]

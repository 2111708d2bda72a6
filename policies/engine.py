"""The policy engine: an ordered chain of rules, deny wins, every decision explains itself.

Every rule sees every change (no short-circuit), so the verdict does not depend on rule
order: a deny anywhere is a deny; otherwise any approval asked for is required (the union of
approver groups, the largest ``min_approvals``, the shortest ``ttl``); otherwise allow. In the
``auto`` autonomy tier approvals that aren't mandatory are waived. A rule that errors counts
as a deny naming the error; an engine that errors denies with "policy engine unavailable".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from orchestrator.state import Decision, Effect
from policies.context import PolicyContext
from policies.environments import EnvironmentMap
from policies.rules import AutonomyRule, EvalInputs, Finding, PackDefaults, Rule, RuleSpec, Tier
from policies.rules.autonomy import strictest
from policies.rules.base import RecentChanges
from policies.rules.roles import RolesRule

__all__ = ["DEFAULT_ALLOW", "PolicyEngine", "combine", "merge_decisions", "unavailable"]

#: The reason an allow carries when no rule had anything to say.
DEFAULT_ALLOW = "default-allow"
UNAVAILABLE = "policy-engine"


def unavailable(cause: object) -> Decision:
    """The fail-closed verdict: deny, saying why the engine couldn't answer."""
    return Decision(
        effect=Effect.DENY,
        reasons=[{"rule": UNAVAILABLE, "message": f"policy engine unavailable: {cause}", "effect": "deny"}],
    )


def combine(findings: Iterable[Finding], tier: Tier = Tier.BALANCED) -> Decision:
    """Fold findings into one decision (order-independent: deny > require_approval > allow)."""
    kept: list[Finding] = []
    for f in findings:
        if tier is Tier.AUTO and f.effect is Effect.REQUIRE_APPROVAL and not f.mandatory:
            f = replace(f, effect=Effect.ALLOW, message=f"{f.message} (approval waived: auto tier)",
                        approvers=(), min_approvals=0, ttl_seconds=0)
        kept.append(f)
    reasons = [{"rule": f.rule, "message": f.message, "effect": f.effect.value} for f in kept]
    if any(f.effect is Effect.DENY for f in kept):
        return Decision(effect=Effect.DENY, reasons=reasons)
    asks = [f for f in kept if f.effect is Effect.REQUIRE_APPROVAL]
    if asks:
        ttls = [f.ttl_seconds for f in asks if f.ttl_seconds > 0]
        return Decision(
            effect=Effect.REQUIRE_APPROVAL,
            reasons=reasons,
            approvers=sorted({g for f in asks for g in f.approvers}),
            min_approvals=max(f.min_approvals for f in asks),
            ttl_seconds=min(ttls) if ttls else 0,
            four_eyes=any(f.four_eyes for f in asks),
        )
    if not reasons:
        reasons = [{"rule": DEFAULT_ALLOW, "message": f"no rule objected ({tier.value} tier)", "effect": "allow"}]
    return Decision(effect=Effect.ALLOW, reasons=reasons)


def merge_decisions(decisions: Sequence[Decision], labels: Sequence[str] | None = None) -> Decision:
    """One decision for a multi-step plan: deny if any step is denied, approval if any asks.

    ``labels`` (e.g. step numbers) are added to each reason as ``step``.
    """
    if not decisions:
        return Decision(effect=Effect.ALLOW, reasons=[{"rule": DEFAULT_ALLOW, "message": "nothing to change",
                                                        "effect": "allow"}])
    reasons: list[dict[str, str]] = []
    for i, d in enumerate(decisions):
        label = labels[i] if labels else str(i + 1)
        reasons += [{**r, "step": label} if len(decisions) > 1 else dict(r) for r in d.reasons]
    effects = {d.effect for d in decisions}
    if Effect.DENY in effects:
        return Decision(effect=Effect.DENY, reasons=reasons)
    asks = [d for d in decisions if d.effect is Effect.REQUIRE_APPROVAL]
    if asks:
        ttls = [d.ttl_seconds for d in asks if d.ttl_seconds > 0]
        return Decision(
            effect=Effect.REQUIRE_APPROVAL,
            reasons=reasons,
            approvers=sorted({g for d in asks for g in d.approvers}),
            min_approvals=max(d.min_approvals for d in asks),
            ttl_seconds=min(ttls) if ttls else 0,
            four_eyes=any(d.four_eyes for d in asks),
        )
    return Decision(effect=Effect.ALLOW, reasons=reasons)


class PolicyEngine:
    """Evaluates changes against compiled rules. Pure: inputs in, a decision out.

    Args:
        rules: compiled rules in chain order. The built-in ``roles`` rule (viewers can't
            mutate) is put first when no rule provides it.
        environments: resolves a resource to its environment.
        recent_changes: counts an identity's recent changes, for ``rate_limit`` rules.
        packs: names of the packs the rules came from (for ``policy explain``).
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        environments: EnvironmentMap | None = None,
        recent_changes: RecentChanges | None = None,
        packs: Sequence[str] = (),
    ) -> None:
        chain = list(rules)
        if not any(isinstance(r, RolesRule) for r in chain):
            spec = RuleSpec(id="roles", builtin="roles", description="")
            chain.insert(0, RolesRule(spec, PackDefaults(), origin="(built in)"))
        ids = [r.id for r in chain]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate rule id {', '.join(dupes)}")
        self.rules: tuple[Rule, ...] = tuple(chain)
        self.environments = environments or EnvironmentMap()
        self.recent_changes = recent_changes
        self.packs = tuple(packs)
        self._autonomy = tuple(r for r in chain if isinstance(r, AutonomyRule))

    def with_counter(self, recent_changes: RecentChanges | None) -> PolicyEngine:
        """The same rules with another change counter (the store's, in the service)."""
        clone = PolicyEngine.__new__(PolicyEngine)
        clone.__dict__.update(self.__dict__)
        clone.recent_changes = recent_changes
        return clone

    def tier(self, ctx: PolicyContext) -> Tier:
        """The autonomy tier that applies to ``ctx`` (``balanced`` without an autonomy rule)."""
        return strictest(*(r.tier(ctx) for r in self._autonomy))

    def findings(self, ctx: PolicyContext) -> list[Finding]:
        """Every rule's finding for ``ctx``, in chain order; a rule that errors yields a deny."""
        inputs = EvalInputs(ctx, self.recent_changes)
        out: list[Finding] = []
        for rule in self.rules:
            try:
                found = rule.evaluate(inputs)
            except Exception as exc:  # noqa: BLE001 — a failing rule denies; it never allows
                found = Finding(rule.id, Effect.DENY, f"rule error ({rule.origin}): {type(exc).__name__}: {exc}")
            if found is not None:
                out.append(found)
        return out

    def evaluate(self, ctx: PolicyContext) -> Decision:
        """The decision for one change. Never raises: an internal failure is a deny."""
        try:
            return combine(self.findings(ctx), self.tier(ctx))
        except Exception as exc:  # noqa: BLE001 — fail closed
            return unavailable(f"{type(exc).__name__}: {exc}")

    def evaluate_plan(self, contexts: Sequence[PolicyContext]) -> Decision:
        """The decision for a plan: one context per step, merged (see :func:`merge_decisions`)."""
        try:
            return merge_decisions([self.evaluate(c) for c in contexts])
        except Exception as exc:  # noqa: BLE001 — fail closed
            return unavailable(f"{type(exc).__name__}: {exc}")

"""The policy engine: evaluate the rules over the packet and write the explained recommendation."""

from __future__ import annotations

from dataclasses import dataclass

from investigator.models import (
    Action,
    EvidencePacket,
    Reason,
    Recommendation,
    RuleOutcome,
    Severity,
)
from investigator.policy.assessment import Assessment, assess
from investigator.policy.config import Policy, load_policy
from investigator.policy.replies import draft_reply, headline_and_ask, next_steps
from investigator.policy.rules import RULES, Verdict
from investigator.policy.sla import compute_sla
from investigator.signals import TenantUnresolved

_IMPACT = {
    Action.RESOLVE: ("low", "high"),
    Action.INVESTIGATE: ("low", "low"),
    Action.ESCALATE: ("high", "high"),
    Action.INCIDENT: ("high", "low"),
}


@dataclass
class Engine:
    """A policy plus the product's service -> team map; ``decide`` is pure."""

    policy: Policy
    services: dict[str, str]

    @classmethod
    def from_config(
        cls,
        services: dict[str, str] | None = None,
        compliance_critical_events: list[str] | None = None,
        policy_file: str | None = None,
    ) -> Engine:
        policy = load_policy(policy_file)
        events = set(policy.impact.compliance_critical_events) | set(compliance_critical_events or [])
        policy.impact.compliance_critical_events = sorted(events)
        return cls(policy=policy, services=dict(services or {}))

    def evaluate(self, a: Assessment) -> tuple[Verdict, list[RuleOutcome]]:
        """Every rule's outcome, and the verdict of the first active rule that fired."""
        outcomes: list[RuleOutcome] = []
        decided: Verdict | None = None
        for name, rule in RULES:
            mode = self.policy.mode(name)
            if mode == "off":
                continue
            verdict = rule(a)
            outcomes.append(
                RuleOutcome(
                    rule=name,
                    mode=mode,
                    fired=verdict is not None,
                    action=verdict.action if verdict else None,
                    explanation=verdict.explanation if verdict else "",
                    findings=verdict.ids if verdict else [],
                )
            )
            if verdict is not None and mode == "active" and decided is None:
                decided = verdict
                decided.notes.append(name)
        if decided is None:  # every rule was switched off or shadowed: never leave a ticket undecided
            decided = Verdict(Action.INVESTIGATE, "sev4", "No active rule decided; investigate by hand.", [])
        return decided, outcomes

    def decide(self, packet: EvidencePacket) -> EvidencePacket:
        """The packet with its recommendation."""
        a = assess(packet, self.policy, self.services)
        verdict, outcomes = self.evaluate(a)
        severity = Severity(verdict.severity)
        impact, certainty = _IMPACT[verdict.action]
        reasons = _reasons(verdict, a)
        headline, ask = headline_and_ask(verdict, a)
        team = verdict.team if verdict.action in (Action.ESCALATE, Action.INCIDENT) else None
        recommendation = Recommendation(
            action=verdict.action,
            severity=severity,
            team=team,
            route=self.policy.escalation.sev1_route if severity is Severity.SEV1 else None,
            impact=impact,
            certainty=certainty,
            headline=headline,
            ask=ask,
            reasons=[r.text for r in reasons],
            reason_details=reasons,
            sla=compute_sla(severity, packet.ticket.created_at, self.policy),
            next_steps=next_steps(verdict, a),
            draft_reply=draft_reply(verdict, a) if verdict.action is Action.RESOLVE else None,
            rules=outcomes,
            unavailable_sources=list(a.unavailable),
        )
        return packet.model_copy(update={"recommendation": recommendation})


def _reasons(verdict: Verdict, a: Assessment) -> list[Reason]:
    rule = verdict.notes[0] if verdict.notes else None
    reasons = [Reason(text=verdict.explanation, rule=rule, findings=verdict.ids)]
    for source in a.unavailable:
        report = a.packet.report(source)
        why = report.reason if report and report.reason else "no answer"
        reasons.append(Reason(text=f"{source} was unavailable and could not be checked: {why}", rule="coverage"))
    if verdict.symptom and verdict.symptom.other_tenants == [] and verdict.symptom.blast_finding is not None:
        reasons.append(
            Reason(
                text="Scope: only this tenant shows it; other tenants on the same route are normal.",
                rule="scope",
                findings=[verdict.symptom.blast_finding.id],
            )
        )
    unresolved = [f for f in a.packet.findings if f.kind == TenantUnresolved.KIND]
    if unresolved:
        reasons.append(
            Reason(
                text=f"Tenant unidentified: {unresolved[0].summary} Only platform-wide checks could run.",
                rule="coverage",
                findings=[unresolved[0].id],
            )
        )
    if a.plan_tier:
        reasons.append(
            Reason(text=f"Plan tier: {a.plan_tier}.", rule="impact", findings=[f.id for f in a.tier_findings])
        )
    answered = [c.key for c in a.packet.checklist if c.answered]
    unanswered = [f"{c.key} ({c.reason})" for c in a.packet.checklist if not c.answered]
    reasons.append(
        Reason(
            text=f"Checklist answered: {', '.join(answered) or 'none'}"
            + (f"; not answered: {'; '.join(unanswered)}" if unanswered else ""),
            rule="checklist",
        )
    )
    return reasons


def decider(
    services: dict[str, str] | None = None,
    compliance_critical_events: list[str] | None = None,
    policy_file: str | None = None,
) -> Engine:
    """The engine for a product configuration (used by the pipeline, the CLI and the tasks)."""
    return Engine.from_config(services, compliance_critical_events, policy_file)

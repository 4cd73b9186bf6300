"""What the evidence says, derived once from the packet: symptoms, scope, explanations, impact.

Pure functions over findings' typed facts; the rules read an :class:`Assessment`, never raw dicts.
"""

from __future__ import annotations

from dataclasses import dataclass

from investigator.models import EvidencePacket, Finding, SourceName, SourceStatus
from investigator.policy.config import Policy
from investigator.policy.explanations import (
    SUPPORT_RESOLVABLE,
    Explanation,
    Inputs,
    customer_side_explanations,
    deploy_explanations,
    episode_over,
    known_issue_explanations,
)
from investigator.policy.symptoms import Symptom, attach_blast_radius, platform_symptoms, symptom_of
from investigator.signals import BillingState, ChargeIssue, Conversation, Entitlements, TicketSignal

__all__ = ["SUPPORT_RESOLVABLE", "Assessment", "Explanation", "Symptom", "assess"]


@dataclass
class Assessment:
    packet: EvidencePacket
    policy: Policy
    symptoms: list[Symptom]
    explanations: dict[int, list[Explanation]]  # index of symptom -> explanations
    unavailable: list[SourceName]
    security: list[Finding]
    plan_tier: str | None
    tier_findings: list[Finding]
    billing_question: list[Finding]
    billing: list[Finding]
    services: dict[str, str]  # service -> team

    def explanations_of(self, symptom: Symptom) -> list[Explanation]:
        return self.explanations.get(id(symptom), [])

    @property
    def high_tier(self) -> bool:
        return bool(self.plan_tier) and self.plan_tier in self.policy.impact.high_tiers

    def team_of(self, service: str | None) -> str | None:
        return self.services.get(service) if service else None

    def multi_tenant(self, symptom: Symptom) -> bool:
        return len(symptom.other_tenants) >= self.policy.thresholds.multi_tenant_min_other_tenants

    def source_ok(self, source: SourceName) -> bool:
        report = self.packet.report(source)
        return report is not None and report.usable


def assess(packet: EvidencePacket, policy: Policy, services: dict[str, str] | None = None) -> Assessment:
    """Derive the assessment the rules decide on."""
    findings = packet.findings
    tenant_symptoms = [s for f in findings if f.source == "clickhouse" and (s := symptom_of(f))]
    attach_blast_radius(tenant_symptoms, findings)
    symptoms = tenant_symptoms or (platform_symptoms(findings) if not packet.ticket.tenant_id else [])
    teams = dict(policy.escalation.services)
    teams.update(services or {})
    billing = [f for f in findings if f.kind == BillingState.KIND]
    inputs = Inputs(policy, [f for f in findings if f.kind == Entitlements.KIND], billing, teams)
    explanations: dict[int, list[Explanation]] = {}
    for s in symptoms:
        explanations[id(s)] = (
            known_issue_explanations(s, findings, policy, teams, packet.window.start)
            + deploy_explanations(s, findings, policy, teams)
            + customer_side_explanations(s, inputs)
            + episode_over(s)
        )
    tier, tier_findings = _plan_tier(findings, policy)
    return Assessment(
        packet=packet,
        policy=policy,
        symptoms=symptoms,
        explanations=explanations,
        unavailable=[r.source for r in packet.reports if r.status in (SourceStatus.UNAVAILABLE, SourceStatus.ERROR)],
        security=[
            f
            for f in findings
            if f.kind == TicketSignal.KIND and TicketSignal.of(f).signal in ("security_report", "data_integrity_report")
        ],
        plan_tier=tier,
        tier_findings=tier_findings,
        billing_question=[
            f for f in findings if f.kind == TicketSignal.KIND and TicketSignal.of(f).signal == "billing_question"
        ],
        billing=billing + [f for f in findings if f.kind == ChargeIssue.KIND],
        services=teams,
    )


def _plan_tier(findings: list[Finding], policy: Policy) -> tuple[str | None, list[Finding]]:
    for f in findings:
        if f.kind == BillingState.KIND and (tier := BillingState.of(f).plan_tier):
            return tier, [f]
    for f in findings:
        if f.kind == Conversation.KIND:
            tags = Conversation.of(f).organization_tags
            for tier in policy.impact.high_tiers:
                if tier in tags:
                    return tier, [f]
    return None, []

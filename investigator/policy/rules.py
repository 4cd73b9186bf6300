"""Decision rules: pure functions over an :class:`Assessment`, each explaining itself.

Rules are evaluated in order; the first *active* rule that fires decides. Shadow rules
are evaluated and reported but never decide. The order encodes DOMAIN.md's hard
triggers first (no under-escalation), then support-owned outcomes, then the fallbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from investigator.models import Action, Finding
from investigator.policy.assessment import SUPPORT_RESOLVABLE, Assessment, Explanation, Symptom
from investigator.signals import BillingState, ChargeIssue, TicketSignal, WebhookDeliveries


@dataclass
class Verdict:
    """What a rule concluded."""

    action: Action
    severity: str
    explanation: str
    findings: list[Finding]
    team: str | None = None
    playbook: str | None = None
    symptom: Symptom | None = None
    chosen: Explanation | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(f.id for f in self.findings))


Rule = Callable[[Assessment], Verdict | None]


def _sym_findings(s: Symptom) -> list[Finding]:
    return [s.finding] + ([s.blast_finding] if s.blast_finding else [])


def security_or_data_integrity(a: Assessment) -> Verdict | None:
    """A credible security or data-integrity report is an incident, whatever telemetry says."""
    if not a.security:
        return None
    phrases = "; ".join(f.summary for f in a.security[:2])
    return Verdict(
        Action.INCIDENT,
        "sev1",
        f"Security/data-integrity report: {phrases}. This is a hard trigger: "
        "open an incident and page on-call, even with normal telemetry.",
        a.security,
        team=a.policy.escalation.security_team,
    )


# What covers a multi-tenant anomaly, in order of precedence: kind -> (action, severity when the
# explanation brings none, what to say after the scope and the explanation).
_MULTI_TENANT_COVERS: dict[str, tuple[Action, str, str]] = {
    "active_incident": (Action.ESCALATE, "sev2", "{scope}; {text}: join that incident."),
    "known_issue_fix": (Action.RESOLVE, "sev3", "{scope}; explained by {text}. Link it with its ETA and workaround."),
    "deploy": (
        Action.ESCALATE,
        "sev2",
        "{scope}; it began right after the {text}: escalate to {team} for a rollback decision.",
    ),
    "known_issue_open": (
        Action.ESCALATE,
        "sev2",
        "{scope}; matches {text}: escalate to raise its priority with the new impact.",
    ),
    "episode_over": (Action.RESOLVE, "sev3", "{scope}, but it has stopped: resolve with the timeline."),
}


def multi_tenant_anomaly(a: Assessment) -> Verdict | None:
    """The same anomaly across several tenants: what covers it decides the action."""
    wide = [s for s in a.symptoms if a.multi_tenant(s)]
    if not wide:
        return None
    s = max(wide, key=lambda x: (x.ongoing, len(x.other_tenants)))
    also = "also " if s.tenant_included else ""
    scope = f"{s.label} affects {s.tenants_affected} tenants ({also}{', '.join(s.other_tenants[:6])})"
    found = {e.kind: e for e in a.explanations_of(s)}
    team = a.team_of(s.service)
    for kind, (action, severity, says) in _MULTI_TENANT_COVERS.items():
        e = found.get(kind)
        if e is None:
            continue
        owner = e.team or team
        resolves = action is Action.RESOLVE
        return Verdict(
            action,
            e.severity or severity,
            says.format(scope=scope, text=e.text, team=owner),
            _sym_findings(s) + e.findings,
            team=None if resolves else owner,
            playbook=kind if resolves else None,
            chosen=e,
            symptom=s,
        )
    unknown = _unchecked(a, ("linear", "github"))
    return Verdict(
        Action.INCIDENT,
        "sev1",
        f"{scope}; no active incident, known issue or deploy of {s.service} "
        f"explains it{unknown}. Open an incident and page on-call.",
        _sym_findings(s),
        team=team,
        symptom=s,
    )


def _unchecked(a: Assessment, sources: tuple[str, ...]) -> str:
    missing = [src for src in sources if src in a.unavailable]
    return f" (could not check {', '.join(missing)}: unavailable)" if missing else ""


def deploy_regression(a: Assessment) -> Verdict | None:
    """Onset follows a deploy of the affected service: a rollback decision is needed."""
    for s in a.symptoms:
        for e in a.explanations_of(s):
            if e.kind == "deploy" and s.ongoing:
                team = e.team or a.team_of(s.service)
                return Verdict(
                    Action.ESCALATE,
                    "sev2",
                    f"{s.label} began after the {e.text}: a deploy regression; {team} decides on a rollback.",
                    _sym_findings(s) + e.findings,
                    team=team,
                    chosen=e,
                    symptom=s,
                )
    return None


def compliance_critical_flow(a: Assessment) -> Verdict | None:
    """Failing compliance-critical webhook events, not explained by the customer's own endpoint."""
    critical = set(a.policy.impact.compliance_critical_events)
    for s in a.symptoms:
        if s.kind not in ("webhook", "missing_traffic") or not critical.intersection(s.event_types):
            continue
        if any(e.kind == "customer_endpoint" for e in a.explanations_of(s)):
            continue
        if s.kind == "webhook" and not WebhookDeliveries.of(s.finding).ongoing and _retried(s):
            continue
        events = ", ".join(sorted(critical.intersection(s.event_types)))
        team = a.team_of(s.service)
        return Verdict(
            Action.ESCALATE,
            "sev2",
            f"{s.label}: {events} events are compliance-critical (owed by "
            "contract); failure is escalated even for one tenant.",
            _sym_findings(s),
            team=team,
            symptom=s,
        )
    return None


def _retried(s: Symptom) -> bool:
    return WebhookDeliveries.of(s.finding).retries_succeeded


def unexplained_server_errors(a: Assessment) -> Verdict | None:
    """Ongoing server errors for this tenant that nothing on its side explains: a product defect."""
    t = a.policy.thresholds
    for s in a.symptoms:
        if s.kind != "error_rate" or not s.ongoing:
            continue
        if any(e.kind in SUPPORT_RESOLVABLE | {"known_issue_open", "active_incident"} for e in a.explanations_of(s)):
            continue
        rate = float(s.finding.facts.get("error_rate", 0.0))
        if rate < t.server_error_escalate_rate:
            continue
        severity = "sev2" if rate >= t.server_error_high_impact_rate or a.high_tier else "sev3"
        team = a.team_of(s.service)
        return Verdict(
            Action.ESCALATE,
            severity,
            f"{s.label}: {rate:.0%} of requests fail with no customer-side "
            f"explanation, no known issue and no correlated deploy: a product defect for {team or 'the owning team'}.",
            _sym_findings(s) + a.tier_findings,
            team=team,
            symptom=s,
        )
    return None


def high_tier_unexplained_symptom(a: Assessment) -> Verdict | None:
    """An unexplained ongoing server-side symptom for a high-impact plan tier goes to engineering."""
    if not a.high_tier:
        return None
    for s in a.symptoms:
        if s.server_side and s.ongoing and not a.explanations_of(s):
            team = a.team_of(s.service)
            return Verdict(
                Action.ESCALATE,
                "sev2",
                f"{s.label} for a {a.plan_tier} customer, unexplained by the "
                "evidence: impact is raised by the plan tier.",
                _sym_findings(s) + a.tier_findings,
                team=team,
                symptom=s,
            )
    return None


def _distinct(explanations: list[Explanation]) -> list[Explanation]:
    """One explanation per kind; an episode that is over supersedes what caused it."""
    seen: dict[str, Explanation] = {}
    for e in explanations:
        seen.setdefault(e.kind, e)
    if "episode_over" in seen:
        seen.pop("deploy", None)
    return list(seen.values())


# Tenant-only explanations that engineering owns: kind -> (severity when the explanation has none, the ask).
_ENGINEERING_OWNED: dict[str, tuple[str, str]] = {
    "active_incident": ("sev2", "add this customer to that incident"),
    "limiter_below_entitlement": ("sev3", "a product defect for the owning team"),
    "known_issue_open": ("sev3", "add this customer's impact to the issue so its team can re-prioritise"),
}


def known_issue_or_incident(a: Assessment) -> Verdict | None:
    """A tenant-only symptom matching an active incident, an open known issue without a fix, or our own
    rate limiter throttling the tenant below its entitlement: engineering owns each of these."""
    for s in a.symptoms:
        for e in _distinct(a.explanations_of(s)):
            if e.kind not in _ENGINEERING_OWNED:
                continue
            severity, ask = _ENGINEERING_OWNED[e.kind]
            return Verdict(
                Action.ESCALATE,
                e.severity or severity,
                f"{s.label}: {e.text}; {ask}.",
                _sym_findings(s) + e.findings,
                team=e.team,
                chosen=e,
                symptom=s,
            )
    return None


def explained_by_evidence(a: Assessment) -> Verdict | None:
    """Every symptom has exactly one support-resolvable explanation: resolve with the documented steps."""
    if not a.symptoms:
        return None
    chosen: list[tuple[Symptom, Explanation]] = []
    for s in a.symptoms:
        found = _distinct(a.explanations_of(s))
        if len(found) != 1 or found[0].kind not in SUPPORT_RESOLVABLE:
            return None
        chosen.append((s, found[0]))
    s, e = chosen[0]
    severity = min(_playbook_severity(a, x.kind) for _, x in chosen)  # "sev3" < "sev4": the most severe
    findings = [f for sym, x in chosen for f in _sym_findings(sym) + x.findings]
    return Verdict(
        Action.RESOLVE,
        severity,
        f"{s.label}: explained by {e.text.rstrip('.')}.",
        findings,
        playbook=e.kind,
        chosen=e,
        symptom=s,
    )


def _playbook_severity(a: Assessment, kind: str) -> str:
    playbook = a.policy.playbooks.get(kind)
    return (playbook.severity if playbook else None) or "sev3"


def competing_explanations(a: Assessment) -> Verdict | None:
    """Two different explanations for one symptom lower certainty: investigate before acting."""
    for s in a.symptoms:
        found = _distinct(a.explanations_of(s))
        if len(found) > 1:
            kinds = " vs ".join(e.text for e in found[:2])
            return Verdict(
                Action.INVESTIGATE,
                "sev3",
                f"{s.label} has competing explanations ({kinds}); certainty is low until one is ruled out.",
                _sym_findings(s) + [f for e in found for f in e.findings],
                symptom=s,
                playbook="investigate",
            )
    return None


def unexplained_symptom(a: Assessment) -> Verdict | None:
    """A tenant-only symptom that nothing explains: support investigates (asks, runs the playbook)."""
    for s in a.symptoms:
        if not _distinct(a.explanations_of(s)):
            missing = _unchecked(a, ("stripe", "linear", "github"))
            return Verdict(
                Action.INVESTIGATE,
                "sev3",
                f"{s.label} for this tenant only, and nothing in the evidence explains it{missing}.",
                _sym_findings(s),
                symptom=s,
                playbook="investigate",
            )
    return None


def billing_question_answered(a: Assessment) -> Verdict | None:
    """A clear billing question with no symptom, answered from the Stripe objects of the account.

    "Clear" means at least two distinct billing terms (a passing mention of "plan" is not a question
    about billing). Stripe must have answered and found the account; otherwise support investigates."""
    if a.symptoms or not a.source_ok("stripe"):
        return None
    terms = {p.lower() for f in a.billing_question for p in TicketSignal.of(f).phrases}
    if len(terms) < 2:
        return None
    found: list[Finding] = []
    severity = "sev4"
    for f in a.billing:
        if f.kind == ChargeIssue.KIND:
            found.insert(0, f)
            severity = "sev3"  # money taken wrongly: refund promptly
        elif f.kind == BillingState.KIND:
            found.append(f)
    if not found:
        return None
    return Verdict(
        Action.RESOLVE,
        severity,
        "A billing question answered by the Stripe objects: "
        + "; ".join(f.summary.rstrip(".") for f in found[:3])
        + ".",
        a.billing_question + found,
        playbook="billing_answered",
    )


def no_signal(a: Assessment) -> Verdict:
    """Nothing anomalous anywhere: support asks the customer for what is missing."""
    missing = [s for s in a.unavailable]
    why = "No anomaly in telemetry, no matching known issue, account and deploys unremarkable"
    if missing:
        why = f"Could not verify with {', '.join(missing)} (unavailable); nothing else explains the ticket"
    if "clickhouse" in a.unavailable:
        why += "; the symptom itself could not be checked in telemetry"
    return Verdict(
        Action.INVESTIGATE,
        "sev3" if "clickhouse" in a.unavailable else "sev4",  # the symptom itself is unverified
        why + ": ask the customer for specifics.",
        a.billing_question,
        playbook="investigate",
    )


RULES: tuple[tuple[str, Rule], ...] = (
    ("security_or_data_integrity", security_or_data_integrity),
    ("multi_tenant_anomaly", multi_tenant_anomaly),
    ("deploy_regression", deploy_regression),
    ("compliance_critical_flow", compliance_critical_flow),
    ("unexplained_server_errors", unexplained_server_errors),
    ("high_tier_unexplained_symptom", high_tier_unexplained_symptom),
    ("known_issue_or_incident", known_issue_or_incident),
    ("explained_by_evidence", explained_by_evidence),
    ("competing_explanations", competing_explanations),
    ("unexplained_symptom", unexplained_symptom),
    ("billing_question_answered", billing_question_answered),
    ("no_signal", no_signal),
)

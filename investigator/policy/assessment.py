"""What the evidence says, derived once from the packet: symptoms, scope, explanations, impact.

Pure functions over findings' typed facts; the rules read an :class:`Assessment`, never raw dicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from investigator.models import EvidencePacket, Finding, SourceName, SourceStatus
from investigator.policy.config import Policy
from investigator.signals import (
    BillingState,
    BlastRadius,
    ChargeIssue,
    ClientErrors,
    Conversation,
    Deployment,
    Entitlements,
    KnownIssue,
    LatencyAnomaly,
    MissingTraffic,
    RouteAnomaly,
    TicketSignal,
    WebhookDeliveries,
)

SERVER_SIDE = ("error_rate", "latency", "missing_traffic")


@dataclass
class Symptom:
    """One anomaly of the ticket's tenant (or, with no tenant, of the platform) in telemetry."""

    kind: str  # error_rate | latency | client_errors | webhook | missing_traffic
    finding: Finding
    service: str
    route: str
    onset: datetime | None
    ongoing: bool
    sustained: bool
    status_codes: set[int] = field(default_factory=set)
    category: str | None = None
    other_tenants: list[str] = field(default_factory=list)
    blast_finding: Finding | None = None
    event_types: list[str] = field(default_factory=list)
    tenant_included: bool = True  # False for platform-wide symptoms when the ticket's tenant is unknown

    @property
    def tenants_affected(self) -> int:
        return len(self.other_tenants) + (1 if self.tenant_included else 0)

    @property
    def label(self) -> str:
        what = {
            "error_rate": "server errors",
            "latency": "latency",
            "client_errors": f"{(self.category or 'client').replace('_', ' ')} errors",
            "webhook": "webhook delivery failures",
            "missing_traffic": "missing traffic",
        }[self.kind]
        return f"{what} on {self.route} ({self.service})"

    @property
    def server_side(self) -> bool:
        return self.kind in SERVER_SIDE


@dataclass
class Explanation:
    """One account of a symptom, with the findings it rests on."""

    kind: str  # customer_endpoint | plan_limit | billing_state | tenant_credentials | tenant_requests |
    #            known_issue_fix | known_issue_open | active_incident | deploy | episode_over
    text: str
    findings: list[Finding]
    team: str | None = None
    severity: str | None = None
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [f.id for f in self.findings]


SUPPORT_RESOLVABLE = {
    "customer_endpoint",
    "plan_limit",
    "billing_state",
    "tenant_credentials",
    "tenant_requests",
    "known_issue_fix",
    "episode_over",
}


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


# --------------------------------------------------------------------------- symptoms
def _codes(codes: dict[str, int]) -> set[int]:
    return {int(c) for c in codes if str(c).isdigit()}


def _symptom(f: Finding) -> Symptom | None:
    if f.kind == RouteAnomaly.KIND:
        r = RouteAnomaly.of(f)
        return Symptom("error_rate", f, r.service, r.route, r.onset, r.ongoing, r.sustained, _codes(r.status_codes))
    if f.kind == LatencyAnomaly.KIND:
        lat = LatencyAnomaly.of(f)
        if lat.factor < 1.0 and not lat.sustained:  # faster than before is not a symptom
            return None
        return Symptom("latency", f, lat.service, lat.route, lat.onset, lat.ongoing, lat.sustained)
    if f.kind == ClientErrors.KIND:
        c = ClientErrors.of(f)
        route = c.routes[0] if c.routes else "*"
        return Symptom(
            "client_errors", f, c.service, route, c.onset, c.ongoing, False, _codes(c.status_codes), c.category
        )
    if f.kind == WebhookDeliveries.KIND:
        w = WebhookDeliveries.of(f)
        if not w.failures:
            return None
        others = [f"another webhook destination ({i + 1})" for i in range(w.other_destinations_failing)]
        return Symptom(
            "webhook",
            f,
            w.service,
            w.destination,
            w.first_failure_at,
            w.ongoing,
            False,
            _codes(w.status_codes),
            event_types=list(w.event_types),
            other_tenants=others,
        )
    if f.kind == MissingTraffic.KIND:
        m = MissingTraffic.of(f)
        events = [m.event_type] if m.event_type else []
        return Symptom("missing_traffic", f, m.service, m.route, m.since, True, False, event_types=events)
    return None


_BLAST_KIND = {"error_rate": "error_rate", "latency": "latency", "client_errors": "client_errors"}


def _attach_blast_radius(symptoms: list[Symptom], findings: list[Finding]) -> None:
    blasts = [(f, BlastRadius.of(f)) for f in findings if f.kind == BlastRadius.KIND]
    for s in symptoms:
        for f, b in blasts:
            same_route = b.route == s.route and (not b.service or b.service == s.service)
            if same_route and b.anomaly == _BLAST_KIND.get(s.kind, s.kind):
                s.other_tenants = sorted(set(b.tenants))
                s.blast_finding = f


def _platform_symptoms(findings: list[Finding]) -> list[Symptom]:
    """With no tenant, platform-wide blast radius findings stand in as the symptoms."""
    out: list[Symptom] = []
    for f in findings:
        if f.kind != BlastRadius.KIND:
            continue
        b = BlastRadius.of(f)
        if b.includes_ticket_tenant or len(b.tenants) < 2:
            continue
        out.append(
            Symptom(
                b.anomaly,
                f,
                b.service,
                b.route,
                None,
                True,
                False,
                other_tenants=list(b.tenants),
                blast_finding=f,
                tenant_included=False,
            )
        )
    return out


# --------------------------------------------------------------------------- explanations
def _route_tokens(route: str) -> set[str]:
    """Meaningful words of a route: ``POST /v1/exports`` -> {"exports"}."""
    return {t for t in re.split(r"[^a-z0-9]+", route.lower()) if len(t) > 3}


def _issue_matches(issue: KnownIssue, s: Symptom, policy: Policy) -> list[str]:
    """Why an issue matches a symptom (empty: it does not)."""
    why: list[str] = []
    if s.route in issue.mentioned_routes:
        why.append(f"names {s.route}")
    elif any(r.split(" ")[-1] == s.route.split(" ")[-1] for r in issue.mentioned_routes):
        why.append(f"names the path of {s.route}")
    codes = s.status_codes & set(issue.mentioned_status_codes)
    if codes:
        why.append(f"names status {', '.join(map(str, sorted(codes)))}")
    if not why and issue.match_score >= policy.thresholds.known_issue_min_score:
        path_words = _route_tokens(s.route)
        text = f"{issue.title} {issue.description_excerpt}".lower()
        if any(w in text for w in path_words):
            why.append(f"matches the ticket (score {issue.match_score:.2f}) and the route's words")
    return why


_SYMPTOM_WORDS = {
    "error_rate": ("error", "errors", "5xx", "500", "502", "503", "504", "failing", "outage", "down"),
    "latency": ("latency", "slow", "slowness", "timeout", "timeouts", "degraded", "performance"),
    "client_errors": ("401", "403", "402", "429", "auth", "rate limit", "rejected"),
    "webhook": ("webhook", "webhooks", "delivery", "deliveries"),
    "missing_traffic": ("missing", "dropped", "no traffic", "ingestion"),
}


def _incident_covers(issue: KnownIssue, s: Symptom, team: str | None, window_start: datetime) -> list[str]:
    """An open incident opened in the window about this service (its team, its name) and this kind of symptom."""
    if not issue.is_incident or issue.created_at is None or issue.created_at < window_start:
        return []
    text = f"{issue.title} {issue.description_excerpt}".lower()
    same_service = (team is not None and issue.team == team) or s.service.lower() in text.split()
    same_symptom = any(w in text for w in _SYMPTOM_WORDS.get(s.kind, ())) or any(
        w in text for w in _route_tokens(s.route)
    )
    if same_service and same_symptom:
        return [f"incident opened {issue.created_at:%H:%M} UTC by {issue.team} about this kind of symptom"]
    return []


def _open(issue: KnownIssue) -> bool:
    return issue.state_type not in ("completed", "canceled")


def _known_issue_explanations(
    s: Symptom, findings: list[Finding], a_policy: Policy, teams: dict[str, str], window_start: datetime
) -> list[Explanation]:
    out: list[Explanation] = []
    for f in findings:
        if f.kind != KnownIssue.KIND:
            continue
        issue = KnownIssue.of(f)
        why = _issue_matches(issue, s, a_policy) or _incident_covers(issue, s, teams.get(s.service), window_start)
        if not why or not _open(issue):
            continue
        ref = f"{issue.identifier} \u201c{issue.title}\u201d ({issue.state}, {issue.team})"
        if issue.is_incident:
            sev = a_policy.thresholds.incident_priority_severity.get(str(issue.priority), "sev2")
            out.append(
                Explanation(
                    "active_incident",
                    f"active incident {ref} covers it: {'; '.join(why)}",
                    [f],
                    team=issue.team,
                    severity=sev,
                )
            )
        elif issue.fix_status in ("merged", "shipped"):
            eta = f", ETA {issue.eta}" if issue.eta else ""
            out.append(
                Explanation(
                    "known_issue_fix",
                    f"known issue {ref} with its fix {issue.fix_status}{eta}: {'; '.join(why)}",
                    [f],
                    team=issue.team,
                    facts={"workaround": issue.workaround, "eta": issue.eta, "url": issue.url},
                )
            )
        else:
            out.append(
                Explanation(
                    "known_issue_open", f"known issue {ref}, no fix yet: {'; '.join(why)}", [f], team=issue.team
                )
            )
    return out


def _deploy_explanations(
    s: Symptom, findings: list[Finding], policy: Policy, teams: dict[str, str]
) -> list[Explanation]:
    if s.onset is None or not s.server_side:
        return []
    t = policy.thresholds
    out: list[Explanation] = []
    for f in findings:
        if f.kind != Deployment.KIND:
            continue
        d = Deployment.of(f)
        if d.service != s.service or d.state not in ("success", "in_progress", "queued", "pending"):
            continue
        landed = d.finished_at or d.created_at
        lead = s.onset - landed
        if (
            timedelta(minutes=-t.deploy_after_onset_grace_minutes)
            <= lead
            <= timedelta(minutes=t.deploy_before_onset_max_minutes)
        ):
            minutes = int(lead.total_seconds() // 60)
            prs = ", ".join(f"#{p.get('number')} {p.get('title')}" for p in d.pull_requests[:3])
            text = f"deploy of {d.service} ({d.repo}@{d.sha[:7]}) finished {minutes} min before the onset"
            team = (
                next(
                    (policy.escalation.codeowners[o] for o in d.suggested_owners if o in policy.escalation.codeowners),
                    None,
                )
                or d.team
                or teams.get(d.service)
            )
            out.append(
                Explanation(
                    "deploy",
                    text + (f"; it shipped {prs}" if prs else ""),
                    [f],
                    team=team,
                    facts={"owners": d.suggested_owners},
                )
            )
    return out


def _customer_side_explanations(s: Symptom, a: _Inputs) -> list[Explanation]:
    out: list[Explanation] = []
    if s.kind == "webhook":
        w = WebhookDeliveries.of(s.finding)
        if w.customer_endpoint_failed and w.other_destinations_failing == 0:
            state = "recovered" if not w.ongoing else "still failing"
            retried = "; our retries delivered the backlog" if w.retries_succeeded else ""
            out.append(
                Explanation(
                    "customer_endpoint",
                    f"the customer's endpoint {w.destination} answered "
                    f"{_fmt_codes(w.status_codes)} and has {state}{retried}",
                    [s.finding],
                )
            )
    if s.kind != "client_errors":
        return out
    c = ClientErrors.of(s.finding)
    if c.category == "rate_limited":
        for f in a.entitlements:
            limit = Entitlements.of(f).rate_limit_rpm
            accepted = c.peak_accepted_rpm or c.accepted_rpm
            if not limit or not accepted:
                continue
            tolerance = limit * a.policy.thresholds.rate_limit_tolerance
            if abs(accepted - limit) <= tolerance:
                text = (
                    f"accepted traffic pinned at the plan's {limit:g} requests/min (accepted ~{accepted:.0f}/min), "
                    "the excess gets 429"
                )
                out.append(
                    Explanation("plan_limit", text, [s.finding, f], facts={"limit": limit, "accepted": accepted})
                )
            elif accepted < limit - tolerance:
                text = (
                    f"the tenant is throttled at ~{accepted:.0f} requests/min, well below its plan's {limit:g}: "
                    "our rate limiter, not the plan"
                )
                out.append(Explanation("limiter_below_entitlement", text, [s.finding, f], team=a.team_of(s.service)))
    if c.category in ("payment_required", "auth"):
        for f in a.billing:
            b = BillingState.of(f)
            if b.blocks_service or b.delinquent:
                out.append(
                    Explanation(
                        "billing_state",
                        f"the subscription is {b.status}"
                        f"{' (customer delinquent)' if b.delinquent else ''}: {b.open_invoices} open "
                        f"invoice(s) after {b.max_attempt_count} attempt(s)"
                        f"{', ' + b.last_payment_error if b.last_payment_error else ''}",
                        [s.finding, f],
                        facts={"status": b.status},
                    )
                )
    if c.category == "auth" and not out and not s.other_tenants:
        out.append(
            Explanation(
                "tenant_credentials",
                "only this tenant's requests are refused with 401/403, which points at its credentials or permissions",
                [s.finding],
            )
        )
    if c.category == "client" and not s.other_tenants:
        out.append(
            Explanation("tenant_requests", "only this tenant's own requests are rejected as invalid (4xx)", [s.finding])
        )
    return out


def _fmt_codes(codes: dict[str, int]) -> str:
    return ", ".join(f"{n}\u00d7{c}" for c, n in sorted(codes.items())) or "errors"


@dataclass
class _Inputs:
    policy: Policy
    entitlements: list[Finding]
    billing: list[Finding]
    teams: dict[str, str]

    def team_of(self, service: str) -> str | None:
        return self.teams.get(service)


def _episode_over(s: Symptom) -> list[Explanation]:
    if s.ongoing or not s.server_side:
        return []
    return [Explanation("episode_over", f"the {s.label} stopped; nothing is failing now", [s.finding])]


def assess(packet: EvidencePacket, policy: Policy, services: dict[str, str] | None = None) -> Assessment:
    """Derive the assessment the rules decide on."""
    findings = packet.findings
    tenant_symptoms = [s for f in findings if f.source == "clickhouse" and (s := _symptom(f))]
    _attach_blast_radius(tenant_symptoms, findings)
    symptoms = tenant_symptoms or (_platform_symptoms(findings) if not packet.ticket.tenant_id else [])
    teams = dict(policy.escalation.services)
    teams.update(services or {})
    billing = [f for f in findings if f.kind == BillingState.KIND]
    inputs = _Inputs(policy, [f for f in findings if f.kind == Entitlements.KIND], billing, teams)
    explanations: dict[int, list[Explanation]] = {}
    for s in symptoms:
        explanations[id(s)] = (
            _known_issue_explanations(s, findings, policy, teams, packet.window.start)
            + _deploy_explanations(s, findings, policy, teams)
            + _customer_side_explanations(s, inputs)
            + _episode_over(s)
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

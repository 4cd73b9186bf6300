"""Explanations: what could account for a symptom (known issues, deploys, the customer's side) (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from investigator.models import Finding
from investigator.policy.config import Policy
from investigator.policy.symptoms import Symptom
from investigator.signals import (
    BillingState,
    ClientErrors,
    Deployment,
    Entitlements,
    KnownIssue,
    WebhookDeliveries,
)


@dataclass
class Explanation:
    """One account of a symptom, with the findings it rests on."""

    kind: str  # customer_endpoint | plan_limit | billing_state | tenant_credentials | tenant_requests |
    #            known_issue_fix | known_issue_open | active_incident | deploy | episode_over |
    #            limiter_below_entitlement
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


def known_issue_explanations(
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


def deploy_explanations(
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


def customer_side_explanations(s: Symptom, a: Inputs) -> list[Explanation]:
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
class Inputs:
    policy: Policy
    entitlements: list[Finding]
    billing: list[Finding]
    teams: dict[str, str]

    def team_of(self, service: str) -> str | None:
        return self.teams.get(service)


def episode_over(s: Symptom) -> list[Explanation]:
    if s.ongoing or not s.server_side:
        return []
    return [Explanation("episode_over", f"the {s.label} stopped; nothing is failing now", [s.finding])]

"""Small builders of evidence for policy tests: findings as the connectors would emit them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from investigator.checklist import build_checklist
from investigator.models import (
    Citation,
    EvidencePacket,
    Finding,
    Requester,
    SourceName,
    SourceReport,
    SourceStatus,
    Ticket,
    TimeWindow,
)
from investigator.policy.engine import Engine
from investigator.signals import (
    BillingState,
    BlastRadius,
    ClientErrors,
    Deployment,
    Entitlements,
    KnownIssue,
    LatencyAnomaly,
    RouteAnomaly,
    TelemetrySummary,
    WebhookDeliveries,
    finding,
)
from investigator.ticket_signals import ticket_findings

NOW = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)
SERVICES = {"api": "Core API", "billing": "Billing", "webhooks": "Integrations", "web": "Frontend"}
CITE = [Citation(label="query", query="SELECT 1", parameters={"tenant": "acme"})]


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def ticket(
    subject: str = "Something is wrong", description: str = "", priority: str = "normal", tenant: str | None = "acme"
) -> Ticket:
    return Ticket(
        helpdesk="generic",
        id="T-1",
        subject=subject,
        description=description,
        priority=priority,
        tenant_id=tenant,
        created_at=ago(10),
        requester=Requester(email="dana@acme.test", name="Dana Ops"),
    )


def server_errors(
    route: str = "POST /v1/invoices",
    service: str = "billing",
    onset_min: float | None = 25,
    rate: float = 0.9,
    ongoing: bool = True,
) -> Finding:
    facts = RouteAnomaly(
        service=service,
        route=route,
        requests=100,
        errors=int(rate * 100),
        error_rate=rate,
        baseline_error_rate=0.0,
        status_codes={"500": int(rate * 100)},
        onset=ago(onset_min) if onset_min is not None else None,
        ongoing=ongoing,
        sustained=onset_min is None,
    )
    return finding("clickhouse", facts, f"{rate:.0%} 500s on {route}", citations=CITE)


def latency(
    route: str = "GET /v1/reports", service: str = "api", onset_min: float = 40, factor: float = 6.0
) -> Finding:
    facts = LatencyAnomaly(
        service=service,
        route=route,
        p50_ms=180 * factor,
        p95_ms=400 * factor,
        p99_ms=600 * factor,
        baseline_p50_ms=180,
        baseline_p95_ms=400,
        baseline_p99_ms=600,
        factor=factor,
        onset=ago(onset_min),
    )
    return finding("clickhouse", facts, f"p50 x{factor} on {route}", citations=CITE)


def client_errors(
    category: str,
    route: str = "POST /v1/events",
    codes: dict[str, int] | None = None,
    accepted: float | None = None,
    onset_min: float = 180,
) -> Finding:
    facts = ClientErrors(
        category=category,
        service="api",
        routes=[route],
        status_codes=codes or {"429": 50},
        errors=50,
        requests=150,
        error_rate=0.33,
        baseline_error_rate=0.0,
        onset=ago(onset_min),
        accepted_rpm=accepted,
        peak_accepted_rpm=accepted,
    )
    return finding("clickhouse", facts, f"{category} on {route}", citations=CITE)


def blast(route: str, anomaly: str, tenants: list[str], service: str = "api") -> Finding:
    facts = BlastRadius(anomaly=anomaly, service=service, route=route, tenants=tenants, tenants_checked=8)
    return finding("clickhouse", facts, f"{len(tenants)} other tenants on {route}", citations=CITE)


def webhooks(
    customer_endpoint: bool = True, ongoing: bool = False, retried: bool = True, events: list[str] | None = None
) -> Finding:
    facts = WebhookDeliveries(
        service="webhooks",
        destination="https://hooks.acme.test/in",
        event_types=events or ["order.created"],
        attempts=900,
        failures=200,
        status_codes={"503": 200},
        customer_endpoint_failed=customer_endpoint,
        first_failure_at=ago(410),
        last_failure_at=ago(261),
        recovered_at=None if ongoing else ago(260),
        ongoing=ongoing,
        retries_succeeded=retried,
    )
    return finding("clickhouse", facts, "webhook failures", citations=CITE)


def summary() -> Finding:
    return finding(
        "clickhouse",
        TelemetrySummary(tenant_found=True, routes=["GET /v1/x"], requests=100, anomalies=0),
        "normal",
        citations=CITE,
    )


def deploy(service: str = "billing", minutes_before_now: float = 31, finished_after_min: float = 5) -> Finding:
    created = ago(minutes_before_now)
    facts = Deployment(
        service=service,
        repo=f"acme-hq/{service}",
        team=SERVICES.get(service),
        deployment_id=1,
        sha="ca24711c1fa5",
        environment="production",
        created_at=created,
        finished_at=created + timedelta(minutes=finished_after_min),
        state="success",
        pull_requests=[{"number": 814, "title": "Rewrite line totals"}],
        suggested_owners=["@acme-hq/billing"],
    )
    return finding("github", facts, f"deploy of {service}", citations=[Citation(label="deployment", url="https://x")])


def known_issue(
    identifier: str = "CORE-1",
    state_type: str = "started",
    fix: str = "none",
    routes: list[str] | None = None,
    codes: list[int] | None = None,
    incident: bool = False,
    team: str = "Core API",
    priority: int = 2,
) -> Finding:
    facts = KnownIssue(
        identifier=identifier,
        title=f"{identifier} title",
        url=f"https://linear.app/{identifier}",
        state="In Progress",
        state_type=state_type,
        team=team,
        priority=priority,
        labels=["incident"] if incident else ["bug"],
        is_incident=incident,
        fix_status=fix,
        workaround="split the export",
        eta="today",
        match_score=0.6,
        matched_on=["route"],
        mentioned_routes=routes or [],
        mentioned_status_codes=codes or [],
    )
    return finding("linear", facts, f"{identifier}", citations=[Citation(label=identifier, url="https://linear.app")])


def billing(status: str = "past_due", tier: str = "growth") -> Finding:
    facts = BillingState(
        customer_id="cus_1",
        subscription_id="sub_1",
        status=status,
        plan=f"{tier}_monthly",
        plan_tier=tier,
        delinquent=status == "past_due",
        open_invoices=1 if status == "past_due" else 0,
        max_attempt_count=3,
        blocks_service=status in ("past_due", "unpaid", "canceled"),
    )
    return finding("stripe", facts, f"subscription {status}", citations=[Citation(label="sub", url="https://d")])


def entitlement(rpm: float) -> Finding:
    facts = Entitlements(customer_id="cus_1", lookup_keys=[f"api-rate-limit-{rpm:g}rpm"], rate_limit_rpm=rpm)
    return finding("stripe", facts, f"limit {rpm}", citations=[Citation(label="ent", url="https://d")])


def packet(
    findings: list[Finding], t: Ticket | None = None, statuses: dict[SourceName, SourceStatus] | None = None
) -> EvidencePacket:
    t = t or ticket()
    statuses = statuses or {}
    by_source: dict[str, list[Finding]] = {}
    for f in findings:
        by_source.setdefault(f.source, []).append(f)
    reports = []
    for source in ("helpdesk", "clickhouse", "linear", "stripe", "github"):
        status = statuses.get(source)  # type: ignore[call-overload]
        if status in (SourceStatus.UNAVAILABLE, SourceStatus.ERROR):
            reports.append(SourceReport(source=source, status=status, reason=f"{source}: HTTP 503"))  # type: ignore[arg-type]
            by_source.pop(source, None)
            continue
        got = by_source.get(source, [])
        reports.append(
            SourceReport(
                source=source,
                status=SourceStatus.OK if got else SourceStatus.NO_DATA,  # type: ignore[arg-type]
                findings=got,
                checked=["looked"],
            )
        )
    all_findings = [f for r in reports for f in r.findings] + ticket_findings(t)
    p = EvidencePacket(
        investigation_id="inv_test",
        ticket=t,
        window=TimeWindow(start=ago(360), end=NOW),
        baseline=TimeWindow(start=ago(1800), end=ago(360)),
        now=NOW,
        reports=reports,
        findings=all_findings,
    )
    p.checklist = build_checklist(p)
    return p


def decide(
    findings: list[Finding], t: Ticket | None = None, events: list[str] | None = None, **kw: Any
) -> EvidencePacket:
    engine = Engine.from_config(SERVICES, events or [])
    return engine.decide(packet(findings, t, **kw))

"""Symptoms: the ticket tenant's anomalies in telemetry, with their blast radius (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from investigator.models import Finding
from investigator.signals import (
    BlastRadius,
    ClientErrors,
    LatencyAnomaly,
    MissingTraffic,
    RouteAnomaly,
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


def _codes(codes: dict[str, int]) -> set[int]:
    return {int(c) for c in codes if str(c).isdigit()}


def symptom_of(f: Finding) -> Symptom | None:
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


def attach_blast_radius(symptoms: list[Symptom], findings: list[Finding]) -> None:
    blasts = [(f, BlastRadius.of(f)) for f in findings if f.kind == BlastRadius.KIND]
    for s in symptoms:
        for f, b in blasts:
            same_route = b.route == s.route and (not b.service or b.service == s.service)
            if same_route and b.anomaly == _BLAST_KIND.get(s.kind, s.kind):
                s.other_tenants = sorted(set(b.tenants))
                s.blast_finding = f


def platform_symptoms(findings: list[Finding]) -> list[Symptom]:
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

"""Turn detected anomalies and blast-radius rows into typed findings (``investigator.signals``)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from connectors.clickhouse.analysis import CATEGORIES, Anomaly, Detector, Grid, is_server_error, is_success
from connectors.clickhouse.client import QueryResult
from investigator.models import Citation, Finding
from investigator.signals import BlastRadius, ClientErrors, LatencyAnomaly, RouteAnomaly, finding

POINTS_TO = {"rate_limited": "rate_limit", "payment_required": "billing", "auth": "credentials", "client": None}
MIN_OTHER_REQUESTS = 5


def at(ms: int | None) -> datetime | None:
    """Epoch milliseconds as an aware UTC datetime (None for 0/None)."""
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def hhmm(ms: int | None) -> str:
    moment = at(ms)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def cite(result: QueryResult) -> Citation:
    """A citation of one query: its exact text and bound parameters."""
    return Citation(label=f"ClickHouse query {result.name}", query=result.text, parameters=result.parameters)


@dataclass(frozen=True)
class PeriodStats:
    """One tenant's numbers on one (service, route), after onset and before it (a blast_radius row)."""

    tenant: str
    requests: int
    baseline_requests: int
    statuses: dict[int, int]
    baseline_statuses: dict[int, int]
    q_ms: tuple[float, float, float]
    baseline_q_ms: tuple[float, float, float]

    @classmethod
    def of(cls, row: dict[str, Any]) -> PeriodStats:
        def q(values: list[float]) -> tuple[float, float, float]:
            ms = [0.0 if v is None or math.isnan(v) else float(v) / 1e6 for v in values]
            return ms[0], ms[1], ms[2]

        return cls(
            tenant=row["tenant"],
            requests=int(row["requests"]),
            baseline_requests=int(row["baseline_requests"]),
            statuses={int(k): int(v) for k, v in (row["statuses"] or {}).items()},
            baseline_statuses={int(k): int(v) for k, v in (row["baseline_statuses"] or {}).items()},
            q_ms=q(row["q"]),
            baseline_q_ms=q(row["baseline_q"]),
        )

    def rates(self, anomaly: Anomaly) -> tuple[float, float]:
        predicate = is_server_error if anomaly.kind == "error_rate" else CATEGORIES[anomaly.category or "client"]
        now = sum(v for k, v in self.statuses.items() if predicate(k)) / max(self.requests, 1)
        before = sum(v for k, v in self.baseline_statuses.items() if predicate(k)) / max(self.baseline_requests, 1)
        return now, before


def affected(detector: Detector, anomaly: Anomaly, stats: PeriodStats) -> bool:
    """Does another tenant show the same anomaly in the same period?"""
    if stats.requests < MIN_OTHER_REQUESTS:
        return False
    s = detector.s
    if anomaly.kind == "latency":
        p50, before = stats.q_ms[0], stats.baseline_q_ms[0]
        if anomaly.sustained:
            return p50 >= s.sustained_latency_ms
        if stats.baseline_requests < MIN_OTHER_REQUESTS:
            before = anomaly.outside
        return detector.latency_departs(p50, before)
    rate, before_rate = stats.rates(anomaly)
    if anomaly.sustained:
        return rate >= s.sustained_error_rate
    return detector.rate_departs(rate, before_rate)


def blast_findings(
    detector: Detector,
    anomalies: list[Anomaly],
    stats: dict[tuple[str, str], list[PeriodStats]],
    ticket_tenant: str | None,
    citation: Citation,
) -> list[Finding]:
    """One BlastRadius per anomalous (anomaly, route), also when no other tenant is affected."""
    out: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for a in anomalies:
        key = (a.kind, a.series.key.service, a.series.key.route)
        if key in seen:
            continue
        seen.add(key)
        others = [p for p in stats.get(key[1:], []) if p.tenant != ticket_tenant and p.requests > 0]
        hit = sorted(p.tenant for p in others if affected(detector, a, p))
        route = a.series.key.route
        who = ", ".join(hit) if hit else ("no other tenant" if ticket_tenant else "no tenant")
        summary = f"Blast radius of {a.kind} on {route} ({a.series.key.service}): {who} of {len(others)} checked"
        facts = BlastRadius(
            anomaly=a.kind,
            service=a.series.key.service,
            route=route,
            tenants=hit,
            tenants_checked=len(others),
            includes_ticket_tenant=ticket_tenant is not None,
        )
        out.append(finding("clickhouse", facts, summary, citations=[citation], strength=0.7 if hit else 0.5))
    return out


def route_anomaly(detector: Detector, a: Anomaly, citation: Citation, platform: bool) -> Finding:
    """A RouteAnomaly (5xx) finding."""
    s, grid = a.series, detector.grid
    errors_by_bucket = s.count(is_server_error)[a.start : a.end]
    requests, errors = int(s.n[a.start : a.end].sum()), int(errors_by_bucket.sum())
    failing = np.flatnonzero(errors_by_bucket)
    last = int(s.last_failure[a.start + int(failing[-1])]) if len(failing) else None
    facts = RouteAnomaly(
        service=s.key.service,
        route=s.key.route,
        requests=requests,
        errors=errors,
        error_rate=round(errors / max(requests, 1), 4),
        baseline_error_rate=round(a.outside, 4),
        status_codes=s.codes(is_server_error, a.start, a.end),
        onset=at(a.onset_ms),
        last_error_at=at(last),
        ongoing=a.end >= grid.buckets,
        sustained=a.sustained,
        platform_wide=platform,
    )
    since = "through the whole lookback" if a.sustained else f"since {hhmm(a.onset_ms)}"
    summary = (
        f"{s.key.route} ({s.key.service}): {errors} of {requests} requests failed with 5xx "
        f"({facts.error_rate:.0%}, baseline {facts.baseline_error_rate:.0%}) {since}"
    )
    return finding("clickhouse", facts, summary, citations=[citation], strength=0.8, points_to=None)


def latency_anomaly(
    detector: Detector, a: Anomaly, own: PeriodStats | None, citation: Citation, platform: bool
) -> Finding:
    """A LatencyAnomaly finding; percentiles from the exact per-period quantiles when available."""
    s = a.series
    if own is not None and own.requests:
        q, bq = own.q_ms, own.baseline_q_ms
    else:
        q = (a.inside, float(np.nanmax(s.p95[a.start : a.end])), float(np.nanmax(s.p99[a.start : a.end])))
        bq = (a.outside, 0.0, 0.0)
    facts = LatencyAnomaly(
        service=s.key.service,
        route=s.key.route,
        p50_ms=round(q[0], 1),
        p95_ms=round(q[1], 1),
        p99_ms=round(q[2], 1),
        baseline_p50_ms=round(bq[0], 1),
        baseline_p95_ms=round(bq[1], 1),
        baseline_p99_ms=round(bq[2], 1),
        factor=round(q[0] / bq[0], 2) if bq[0] > 0 else 0.0,
        onset=at(a.onset_ms),
        ongoing=a.end >= detector.grid.buckets,
        sustained=a.sustained,
        platform_wide=platform,
    )
    since = "through the whole lookback" if a.sustained else f"since {hhmm(a.onset_ms)}"
    summary = (
        f"{s.key.route} ({s.key.service}): p50 {facts.p50_ms:.0f} ms vs {facts.baseline_p50_ms:.0f} ms before "
        f"(x{facts.factor}), p99 {facts.p99_ms:.0f} ms, {since}"
    )
    return finding("clickhouse", facts, summary, citations=[citation], strength=0.75)


def client_error_findings(
    detector: Detector, anomalies: list[Anomaly], citation: Citation, platform: bool
) -> list[Finding]:
    """ClientErrors findings, one per (category, service), routes merged."""
    groups: dict[tuple[str, str], list[Anomaly]] = defaultdict(list)
    for a in anomalies:
        groups[(a.category or "client", a.series.key.service)].append(a)
    minutes = detector.grid.bucket_ms / 60_000
    out: list[Finding] = []
    for (category, service), items in sorted(groups.items()):
        predicate = CATEGORIES[category]
        requests = errors = 0
        codes: dict[str, int] = defaultdict(int)
        outside_errors = outside_requests = 0.0
        accepted = peak = 0.0
        for a in items:
            s = a.series
            requests += int(s.n[a.start : a.end].sum())
            errors += int(s.count(predicate)[a.start : a.end].sum())
            for code, count in s.codes(predicate, a.start, a.end).items():
                codes[code] += count
            outside_errors += a.outside * (s.n.sum() - s.n[a.start : a.end].sum())
            outside_requests += s.n.sum() - s.n[a.start : a.end].sum()
            ok = s.count(is_success)[a.start : a.end]
            accepted += float(ok.sum()) / ((a.end - a.start) * minutes)
            peak = max(peak, float(ok.max()) / minutes if len(ok) else 0.0)
        onsets = [a.onset_ms for a in items if a.onset_ms]
        facts = ClientErrors(
            category=category,
            service=service,
            routes=sorted({a.series.key.route for a in items}),
            status_codes=dict(sorted(codes.items())),
            errors=errors,
            requests=requests,
            error_rate=round(errors / max(requests, 1), 4),
            baseline_error_rate=round(outside_errors / outside_requests, 4) if outside_requests else 0.0,
            onset=at(min(onsets)) if onsets else None,
            ongoing=any(a.end >= detector.grid.buckets for a in items),
            accepted_rpm=round(accepted, 2) if category == "rate_limited" else None,
            peak_accepted_rpm=round(peak, 2) if category == "rate_limited" else None,
            sustained=all(a.sustained for a in items),
            platform_wide=platform,
        )
        since = f"since {hhmm(min(onsets))}" if onsets else "through the whole lookback"
        summary = (
            f"{category.replace('_', ' ')}: {errors} of {requests} requests on {', '.join(facts.routes)} ({service}) "
            f"answered {', '.join(codes)} ({facts.error_rate:.0%}) {since}"
        )
        if facts.accepted_rpm is not None:
            summary += f"; {facts.accepted_rpm:.0f} requests/min accepted meanwhile"
        out.append(
            finding("clickhouse", facts, summary, citations=[citation], strength=0.8, points_to=POINTS_TO[category])
        )
    return out


def blast_parameters(anomalies: list[Anomaly], grid: Grid) -> dict[str, Any]:
    """Per (service, route): the earliest onset and the latest end of its anomalies, as query parameters."""
    periods: dict[tuple[str, str], tuple[int, int]] = {}
    for a in anomalies:
        key = (a.series.key.service, a.series.key.route)
        start, end = grid.at(a.start), grid.at(a.end)
        if key in periods:
            start, end = min(start, periods[key][0]), max(end, periods[key][1])
        periods[key] = (start, end)
    keys = sorted(periods)
    return {
        "keys": [f"{service}\t{route}" for service, route in keys],
        "services": sorted({service for service, _ in keys}),
        "routes": sorted({route for _, route in keys}),
        "onsets_ms": [periods[k][0] for k in keys],
        "ends_ms": [periods[k][1] for k in keys],
    }

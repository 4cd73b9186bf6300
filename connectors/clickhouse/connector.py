"""The ClickHouse telemetry connector: symptoms, onset, blast radius and webhook deliveries from traces.

One investigation runs a handful of read-only queries over the lookback [baseline.start, now):
(a) the tenant's aggregates per (service, route, span kind, destination, event type) and time
bucket; (b) for routes where the tenant shows an anomaly, every tenant on those routes after vs
before the onset (the blast radius); (c) without a tenant, the platform-wide version of (a); and,
for failing webhook destinations, the first success after the last failure and the other
destinations' health. Every finding cites the query text and its bound parameters.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.clickhouse.analysis import CATEGORIES, Anomaly, Detector, Grid, is_server_error
from connectors.clickhouse.client import ClickHouseClient, QueryResult
from connectors.clickhouse.config import ClickHouseSettings
from connectors.clickhouse.deliveries import missing_findings, webhook_findings
from connectors.clickhouse.findings import (
    PeriodStats,
    blast_findings,
    blast_parameters,
    cite,
    client_error_findings,
    latency_anomaly,
    route_anomaly,
)
from connectors.clickhouse.series import Series, SeriesKey, build_series
from investigator.connector import CheckResult, Collected, Connector, InvestigationContext
from investigator.errors import SourceError
from investigator.models import Finding
from investigator.signals import TelemetrySummary, finding


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class ClickHouseConnector(Connector):
    """Telemetry from OpenTelemetry traces in ClickHouse (or an embedded chDB)."""

    name: ClassVar[Any] = "clickhouse"
    settings_class = ClickHouseSettings
    needs_tenant: ClassVar[bool] = True

    def __init__(self, settings: ClickHouseSettings, client: ClickHouseClient | None = None) -> None:
        super().__init__(settings)
        self.cfg = settings
        self.client = client or ClickHouseClient(settings)

    def configured(self) -> bool:
        return bool(self.cfg.dsn)

    def check(self) -> CheckResult:
        """Is the traces table there?"""
        try:
            result = self.client.query("check", {"database": self.cfg.database, "table": self.cfg.table})
        except SourceError as exc:
            return CheckResult("clickhouse", configured=True, reachable=False, detail=str(exc))
        found = bool(result.rows and int(result.rows[0]["tables"]))
        detail = f"{self.cfg.database}.{self.cfg.table} " + ("found" if found else "missing")
        missing = [] if found else [f"table {self.cfg.database}.{self.cfg.table}"]
        return CheckResult("clickhouse", configured=True, reachable=True, missing=missing, detail=detail)

    def close(self) -> None:
        self.client.close()

    # ----------------------------------------------------------------- collect
    def collect(self, ctx: InvestigationContext) -> Collected:
        """Gather telemetry findings for the ticket's tenant (or platform-wide without one)."""
        start, end = ctx.baseline.start, ctx.now
        bucket_ms = self.cfg.bucket_minutes * 60_000
        grid = Grid(
            start_ms=_ms(start),
            bucket_ms=bucket_ms,
            buckets=max(1, math.ceil((_ms(end) - _ms(start)) / bucket_ms)),
            window_bucket=max(0, (_ms(ctx.window.start) - _ms(start)) // bucket_ms),
        )
        params: dict[str, Any] = {
            "start": _utc(start),
            "end": _utc(end),
            "start_ms": grid.start_ms,
            "bucket_ms": bucket_ms,
            **self.client.attribute_parameters(),
        }
        detector = Detector(self.cfg, grid)
        if ctx.tenant_id is None:
            return self._platform(detector, params)
        return self._tenant(detector, params, ctx.tenant_id)

    def _tenant(self, detector: Detector, params: dict[str, Any], tenant: str) -> Collected:
        rows = self.client.query("tenant_series", {**params, "tenant": tenant})
        series = build_series(rows.rows, detector.grid.buckets)
        checked = [f"traces of tenant {tenant} from {params['start']} to {params['end']} UTC"]
        if not series:
            summary = self._summary(tenant, series, 0, rows, found=False)
            return Collected(findings=[summary], checked=[*checked, "no spans for this tenant"], no_data=True)
        server = {k: s for k, s in series.items() if k.kind != "Client"}
        anomalies = self._detect(detector, server)
        findings = self._anomaly_findings(detector, anomalies, rows, params, tenant, platform=False)
        findings += webhook_findings(detector, series, self.client.query, params, tenant, rows)
        findings += missing_findings(detector, series, rows)
        findings.append(self._summary(tenant, series, self._count(findings), rows, found=True))
        checked += [f"{len(server)} server routes", f"{len(series) - len(server)} outbound destinations"]
        return Collected(findings=findings, checked=checked, no_data=self._count(findings) == 0)

    def _platform(self, detector: Detector, params: dict[str, Any]) -> Collected:
        rows = self.client.query("platform_series", params)
        series = build_series(rows.rows, detector.grid.buckets)
        anomalies = self._detect(detector, series)
        findings = self._anomaly_findings(detector, anomalies, rows, params, None, platform=True)
        findings.append(self._summary(None, series, self._count(findings), rows, found=False))
        checked = ["platform-wide traces (tenant unknown)", f"{len(series)} server routes"]
        return Collected(findings=findings, checked=checked, no_data=self._count(findings) == 0)

    # ----------------------------------------------------------------- steps
    @staticmethod
    def _detect(detector: Detector, series: dict[SeriesKey, Series]) -> list[Anomaly]:
        found: list[Anomaly] = []
        for _, s in sorted(series.items()):
            candidates = [detector.rate(s, "error_rate", is_server_error, None), detector.latency(s)]
            candidates += [detector.rate(s, "client_errors", pred, name) for name, pred in CATEGORIES.items()]
            found += [a for a in candidates if a is not None]
        return found

    def _anomaly_findings(
        self,
        detector: Detector,
        anomalies: list[Anomaly],
        rows: QueryResult,
        params: dict[str, Any],
        tenant: str | None,
        platform: bool,
    ) -> list[Finding]:
        if not anomalies:
            return []
        blast = self.client.query("blast_radius", {**params, **blast_parameters(anomalies, detector.grid)})
        stats: dict[tuple[str, str], list[PeriodStats]] = defaultdict(list)
        for row in blast.rows:
            stats[(row["service"], row["route"])].append(PeriodStats.of(row))
        own = {key: next((p for p in items if p.tenant == tenant), None) for key, items in stats.items()}
        citation, blast_citation = cite(rows), cite(blast)
        out: list[Finding] = []
        for a in anomalies:
            key = (a.series.key.service, a.series.key.route)
            if a.kind == "error_rate":
                out.append(route_anomaly(detector, a, citation, platform))
            elif a.kind == "latency":
                mine = own.get(key) if tenant else _pooled(stats.get(key, []))
                out.append(latency_anomaly(detector, a, mine, blast_citation, platform))
        out += client_error_findings(detector, [a for a in anomalies if a.kind == "client_errors"], citation, platform)
        out += blast_findings(detector, anomalies, stats, tenant, blast_citation)
        return out

    @staticmethod
    def _count(findings: list[Finding]) -> int:
        return sum(1 for f in findings if f.kind not in ("blast_radius", "telemetry_summary"))

    @staticmethod
    def _summary(
        tenant: str | None, series: dict[SeriesKey, Series], anomalies: int, rows: QueryResult, found: bool
    ) -> Finding:
        routes = sorted({k.route for k in series})
        requests = int(sum(int(s.n.sum()) for s in series.values()))
        facts = TelemetrySummary(
            tenant_found=found,
            routes=routes,
            requests=requests,
            anomalies=anomalies,
            services=sorted({k.service for k in series}),
        )
        who = f"tenant {tenant}" if tenant else "all tenants (tenant unknown)"
        if tenant and not found:
            text = f"No spans for tenant {tenant} in the lookback"
        else:
            text = f"Telemetry for {who}: {requests} spans on {len(routes)} routes, {anomalies} anomalies"
        return finding("clickhouse", facts, text, citations=[cite(rows)], strength=0.2)


def _pooled(items: list[PeriodStats]) -> PeriodStats | None:
    """Without a tenant, the busiest tenant's quantiles stand for the route."""
    return max(items, key=lambda p: p.requests, default=None)


def _utc(moment: datetime) -> str:
    """A bound DateTime64(3, 'UTC') parameter value."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

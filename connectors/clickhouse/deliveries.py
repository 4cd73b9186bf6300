"""Outbound webhook deliveries (client spans) and missing traffic, as findings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from connectors.clickhouse.analysis import Detector
from connectors.clickhouse.client import QueryResult
from connectors.clickhouse.findings import at, cite, hhmm
from connectors.clickhouse.series import Series, SeriesKey, merge
from investigator.models import Finding
from investigator.signals import MissingTraffic, WebhookDeliveries, finding

Query = Callable[[str, dict[str, Any]], QueryResult]
DESTINATION_FAILING_RATE = 0.2


def is_delivery_failure(code: int) -> bool:
    return code == 0 or code >= 400


def destinations(series: dict[SeriesKey, Series]) -> dict[tuple[str, str], Series]:
    """The tenant's client series merged per (service, destination url)."""
    groups: dict[tuple[str, str], list[Series]] = defaultdict(list)
    for key, s in series.items():
        if key.kind == "Client":
            groups[(key.service, key.url)].append(s)
    return {
        dest: merge(items, SeriesKey(dest[0], ",".join(sorted({s.key.route for s in items})), "Client", dest[1], ""))
        for dest, items in groups.items()
    }


def webhook_findings(
    detector: Detector,
    series: dict[SeriesKey, Series],
    query: Query,
    params: dict[str, Any],
    tenant: str,
    citation_rows: QueryResult,
) -> list[Finding]:
    """One WebhookDeliveries finding per destination with failures in the lookback."""
    out: list[Finding] = []
    grid = detector.grid
    minutes = grid.bucket_ms / 60_000
    merged_events = defaultdict(set)
    for key in series:
        if key.kind == "Client" and key.event:
            merged_events[(key.service, key.url)].add(key.event)
    for (service, url), s in sorted(destinations(series).items()):
        failures_by_bucket = s.count(is_delivery_failure)
        failures, attempts = int(failures_by_bucket.sum()), int(s.n.sum())
        if failures < 3 or failures < 0.01 * attempts:
            continue
        failing = np.flatnonzero(failures_by_bucket)
        first_ms = int(s.first_failure[failing[0]]) or grid.at(int(failing[0]))
        last_ms = int(s.last_failure[failing[-1]]) or grid.at(int(failing[-1]) + 1)
        recovery = query(
            "webhook_recovery",
            {**params, "after": _stamp(last_ms), "service": service, "tenant": tenant, "url": url},
        )
        recovered_ms = int(recovery.rows[0]["recovered_ms"]) if recovery.rows else 0
        ongoing = recovered_ms == 0 or last_ms >= grid.end_ms - 2 * grid.bucket_ms
        others = query(
            "webhook_destinations", {**params, "start": _stamp(first_ms), "end": _stamp(last_ms), "service": service}
        )
        failing_elsewhere = sum(
            1
            for row in others.rows
            if row["url"] != url
            and row["failures"] >= 3
            and row["failures"] >= DESTINATION_FAILING_RATE * row["attempts"]
        )
        ok = s.count(lambda c: 100 <= c < 400)
        first_bucket = int(failing[0])
        active_before = np.flatnonzero(s.n[:first_bucket])
        normal_rpm = float(ok[active_before].sum() / (len(active_before) * minutes)) if len(active_before) else 0.0
        drained = False
        if not ongoing:
            rb = (recovered_ms - grid.start_ms) // grid.bucket_ms
            after = ok[rb:]
            excess = float(after.sum()) - normal_rpm * len(after) * minutes
            burst = len(after) > 0 and normal_rpm > 0 and float(after.max()) / minutes > 1.5 * normal_rpm
            drained = burst or excess >= 0.5 * failures
        http_failures = sum(v for k, v in s.codes(lambda c: c >= 400).items())
        facts = WebhookDeliveries(
            service=service,
            destination=url,
            event_types=sorted(merged_events[(service, url)]),
            attempts=attempts,
            failures=failures,
            status_codes=s.codes(is_delivery_failure),
            customer_endpoint_failed=http_failures >= 0.5 * failures,
            first_failure_at=at(first_ms),
            last_failure_at=at(last_ms),
            recovered_at=None if ongoing else at(recovered_ms),
            ongoing=ongoing,
            retries_succeeded=drained,
            other_destinations_failing=failing_elsewhere,
        )
        state = "still failing" if ongoing else f"recovered {hhmm(recovered_ms)}"
        summary = (
            f"Webhook deliveries to {url}: {failures} of {attempts} failed "
            f"({', '.join(f'{k} x{v}' for k, v in facts.status_codes.items())}) from {hhmm(first_ms)} "
            f"to {hhmm(last_ms)}, {state}" + ("; the backlog was delivered after recovery" if drained else "")
        )
        points = "customer_endpoint" if facts.customer_endpoint_failed and not failing_elsewhere else None
        citations = [cite(citation_rows), cite(recovery), cite(others)]
        out.append(finding("clickhouse", facts, summary, citations=citations, strength=0.8, points_to=points))
    return out


def missing_findings(detector: Detector, series: dict[SeriesKey, Series], citation_rows: QueryResult) -> list[Finding]:
    """MissingTraffic per route / event type whose volume fell below a share of normal."""
    out: list[Finding] = []
    grouped: dict[tuple[str, str, str], list[Series]] = defaultdict(list)
    for key, s in series.items():
        grouped[(key.service, key.route, key.event)].append(s)
    for (service, route, event), items in sorted(grouped.items()):
        s = merge(items, SeriesKey(service, route, items[0].key.kind, "", event))
        found = detector.missing(s)
        if found is None:
            continue
        first, normal_rpm, recent_rpm = found
        facts = MissingTraffic(
            service=service,
            route=route,
            event_type=event or None,
            baseline_rpm=round(normal_rpm, 2),
            window_rpm=round(recent_rpm, 2),
            since=at(detector.grid.at(first)),
        )
        what = f"event {event} on {route}" if event else route
        summary = (
            f"Traffic missing on {what} ({service}): {recent_rpm:.1f} rpm since "
            f"{hhmm(detector.grid.at(first))} vs {normal_rpm:.1f} rpm normally"
        )
        out.append(finding("clickhouse", facts, summary, citations=[cite(citation_rows)], strength=0.6))
    return out


def _stamp(ms: int) -> str:
    moment = at(ms)
    assert moment is not None
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

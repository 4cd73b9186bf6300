"""ClickHouse benchmark: one investigation's queries vs a plain scan of the same time range.

Generates ``spans`` spans over 24 h for 200 tenants (5 routes each; one tenant gets a 5xx spike
and another a latency jump, so the blast-radius query runs), loads them into the embedded chDB
with the sandbox loader, then times the connector's query set for one investigation and a plain
``SELECT count()`` over the window. Run: ``python -m bench.clickhouse_bench --spans 10000000``.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import clickhouse_connect

from connectors.clickhouse.client import ClickHouseClient, QueryResult
from connectors.clickhouse.connector import ClickHouseConnector
from investigator.connector import InvestigationContext
from investigator.models import Ticket, TimeWindow
from investigator.sandbox.clickhouse_world import ClickHouseSandbox, ClickHouseStandIn
from investigator.sandbox.scenario import ClickHouseWorld, TrafficStream

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
TENANTS = 200
ROUTES = [("api", "GET /v1/contacts"), ("api", "POST /v1/events"), ("api", "GET /v1/reports"),
          ("billing", "POST /v1/invoices"), ("web", "GET /app/dashboard")]  # fmt: skip


def _stream(tenant: str, service: str, route: str, **values: Any) -> TrafficStream:
    return TrafficStream.model_validate({"tenant": tenant, "service": service, "route": route, "to": 0, **values})


def world(spans: int) -> ClickHouseWorld:
    """About ``spans`` spans over 24 h: every tenant on every route, plus a 5xx spike for tenant000."""
    rpm = max(spans / (24 * 60) / (TENANTS * len(ROUTES)), 0.01)
    spiked = ("tenant000", "POST /v1/invoices")
    streams = [
        _stream(
            f"tenant{t:03d}",
            service,
            route,
            rpm=rpm,
            latency_ms=80 + 20 * r,
            **{"from": "-24h", "to": "-30m" if (f"tenant{t:03d}", route) == spiked else 0},
        )
        for t in range(TENANTS)
        for r, (service, route) in enumerate(ROUTES)
    ]
    streams.append(_stream("tenant000", "billing", "POST /v1/invoices", rpm=rpm, error_rate=0.8, **{"from": "-30m"}))
    return ClickHouseWorld(traffic=streams)


class RecordingClient(ClickHouseClient):
    """Remembers every query result (for rows read and the query count)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.results: list[QueryResult] = []

    def query(self, name: str, parameters: dict[str, Any]) -> QueryResult:
        result = super().query(name, parameters)
        self.results.append(result)
        return result


def _best_of(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def rows_read(queries: list[tuple[str, dict[str, Any]]], settings: dict[str, Any]) -> list[int]:
    """Rows each query reads from storage, from the HTTP summary of the stand-in over the same engine."""
    standin = ClickHouseStandIn()
    standin.start()
    try:
        http = clickhouse_connect.get_client(dsn=standin.url)
        return [
            int(http.query(text, parameters=params, settings=settings).summary["read_rows"]) for text, params in queries
        ]
    finally:
        standin.stop()


def run(spans: int, repeat: int = 3) -> dict[str, Any]:
    """Load ``spans`` spans, time one investigation and one plain scan; returns the numbers."""
    started = time.perf_counter()
    sandbox = ClickHouseSandbox(world(spans), NOW, http=False, database="otel_bench")
    sandbox.start()
    load_s = time.perf_counter() - started
    try:
        settings = sandbox.connector_settings(max_result_rows=1_000_000, max_execution_time=60)
        client = RecordingClient(settings)
        connector = ClickHouseConnector(settings, client)
        ctx = InvestigationContext(
            investigation_id="bench",
            ticket=Ticket(helpdesk="generic", id="bench", created_at=NOW),
            tenant_id="tenant000",
            now=NOW,
            window=TimeWindow(start=NOW - timedelta(hours=6), end=NOW),
            baseline=TimeWindow(start=NOW - timedelta(hours=24), end=NOW - timedelta(hours=6)),
        )
        connector.collect(ctx)  # warm-up
        client.results.clear()
        collected = connector.collect(ctx)
        recorded = [(r.text, r.parameters) for r in client.results]
        names = [r.name for r in client.results]
        investigation_s = _best_of(lambda: connector.collect(ctx), repeat)
        raw = clickhouse_connect.get_client(dsn="chdb://")
        scan_sql = (
            "SELECT count() FROM otel_bench.otel_traces "
            "WHERE Timestamp >= {start:DateTime64(3, 'UTC')} AND Timestamp < {end:DateTime64(3, 'UTC')}"
        )
        window = {
            "start": (NOW - timedelta(hours=24)).strftime("%Y-%m-%d %H:%M:%S"),
            "end": NOW.strftime("%Y-%m-%d %H:%M:%S"),
        }
        scan = raw.query(scan_sql, parameters=window)
        scan_s = _best_of(lambda: raw.query(scan_sql, parameters=window), repeat)
        attr_sql = scan_sql + " AND SpanAttributes['tenant.id'] != ''"
        attr_s = _best_of(lambda: raw.query(attr_sql, parameters=window), repeat)
        read = rows_read([*recorded, (scan_sql, window), (attr_sql, window)], client.query_settings())
        connector.close()
        return {
            "spans": sandbox.rows,
            "load_s": round(load_s, 2),
            "investigation_s": round(investigation_s, 3),
            "full_scan_s": round(scan_s, 3),
            "ratio": round(investigation_s / scan_s, 2) if scan_s else None,
            "attribute_scan_s": round(attr_s, 3),
            "ratio_vs_attribute_scan": round(investigation_s / attr_s, 2) if attr_s else None,
            "queries_per_investigation": len(recorded),
            "rows_read_per_investigation": sum(read[:-2]),
            "rows_read_by_query": dict(zip(names, read[:-2], strict=True)),
            "rows_read_full_scan": read[-2],
            "full_scan_count": int(scan.result_rows[0][0]),
            "findings": sorted({f.kind for f in collected.findings}),
        }
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=10_000_000, help="spans to generate (default 10 million)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    args = parser.parse_args()
    result = run(args.spans, args.repeat)
    print(json.dumps(result, indent=2))
    print(
        f"investigation {result['investigation_s']}s vs full scan {result['full_scan_s']}s: ratio {result['ratio']} "
        f"(target <= 3); vs a scan reading the tenant attribute {result['attribute_scan_s']}s: ratio "
        f"{result['ratio_vs_attribute_scan']}; {result['rows_read_per_investigation']} rows read "
        f"in {result['queries_per_investigation']} queries"
    )


if __name__ == "__main__":
    main()

"""Shared helpers: build worlds from streams, run the real connector against a sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.clickhouse.connector import ClickHouseConnector
from investigator.connector import Collected, InvestigationContext
from investigator.models import Finding, Ticket, TimeWindow
from investigator.sandbox.clickhouse_world import ClickHouseSandbox
from investigator.sandbox.scenario import ClickHouseWorld, TrafficStream

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def stream(tenant: str, route: str, start: str, end: str | int = 0, **extra: Any) -> TrafficStream:
    """A traffic stream (FORMAT.md) with defaults: service api, 10 rpm."""
    values: dict[str, Any] = {"tenant": tenant, "service": "api", "route": route, "from": start, "to": end, "rpm": 10}
    values.update(extra)
    return TrafficStream.model_validate(values)


def context(now: datetime, tenant: str | None) -> InvestigationContext:
    """window = [now-6h, now), baseline = [now-30h, now-6h)."""
    return InvestigationContext(
        investigation_id="inv-1",
        ticket=Ticket(helpdesk="generic", id="T-1", created_at=now),
        tenant_id=tenant,
        now=now,
        window=TimeWindow(start=now - timedelta(hours=6), end=now),
        baseline=TimeWindow(start=now - timedelta(hours=30), end=now - timedelta(hours=6)),
    )


def of_kind(collected: Collected, kind: str) -> list[Finding]:
    return [f for f in collected.findings if f.kind == kind]


@pytest.fixture
def run_world() -> Iterator[Any]:
    """run_world(streams, tenant, now=NOW, http=False, **settings) -> Collected, via the real connector."""
    sandboxes: list[ClickHouseSandbox] = []

    def run(
        streams: list[TrafficStream], tenant: str | None, now: datetime = NOW, http: bool = False, **overrides: Any
    ) -> Collected:
        sandbox = ClickHouseSandbox(ClickHouseWorld(traffic=streams), now, http=http)
        sandboxes.append(sandbox)
        sandbox.start()
        connector = ClickHouseConnector(sandbox.connector_settings(**overrides))
        try:
            return connector.collect(context(now, tenant))
        finally:
            connector.close()

    yield run
    for sandbox in sandboxes:
        sandbox.stop()

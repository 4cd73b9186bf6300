"""Each signal on generated traffic: found where it is, not where it is not, never blamed on the wrong tenant."""

from __future__ import annotations

from typing import Any

from ch_helpers import NOW, of_kind, stream

from investigator.models import SourceStatus
from investigator.signals import (
    BlastRadius,
    ClientErrors,
    LatencyAnomaly,
    MissingTraffic,
    RouteAnomaly,
    TelemetrySummary,
    WebhookDeliveries,
)

HEALTHY = [stream("acme", "GET /v1/items", "-20h"), stream("other", "GET /v1/items", "-20h", rpm=8)]


def test_a_5xx_step_is_a_route_anomaly_with_its_onset_and_codes(run_world: Any) -> None:
    streams = [
        stream("acme", "POST /v1/orders", "-20h", "-90m"),
        stream("acme", "POST /v1/orders", "-90m", error_rate=0.5, error_status=502),
        *HEALTHY,
    ]
    collected = run_world(streams, "acme")
    [anomaly] = [RouteAnomaly.of(f) for f in of_kind(collected, "error_rate")]
    assert anomaly.route == "POST /v1/orders" and anomaly.status_codes == {"502": anomaly.errors}
    assert anomaly.error_rate == 0.5 and anomaly.baseline_error_rate == 0.0
    assert anomaly.onset is not None and abs((anomaly.onset - NOW).total_seconds() + 90 * 60) <= 60
    [blast] = [BlastRadius.of(f) for f in of_kind(collected, "blast_radius")]
    assert blast.tenants == [] and blast.route == "POST /v1/orders"


def test_errors_that_stopped_are_not_ongoing(run_world: Any) -> None:
    streams = [
        stream("acme", "POST /v1/orders", "-20h", "-3h"),
        stream("acme", "POST /v1/orders", "-3h", "-2h", error_rate=1.0),
        stream("acme", "POST /v1/orders", "-2h"),
    ]
    [anomaly] = [RouteAnomaly.of(f) for f in of_kind(run_world(streams, "acme"), "error_rate")]
    assert not anomaly.ongoing and anomaly.last_error_at is not None
    assert abs((anomaly.last_error_at - NOW).total_seconds() + 2 * 3600) <= 60


def test_healthy_traffic_yields_only_the_summary_and_no_data(run_world: Any) -> None:
    collected = run_world(HEALTHY, "acme")
    assert collected.status is SourceStatus.NO_DATA and collected.checked
    assert [f.kind for f in collected.findings] == ["telemetry_summary"]
    assert TelemetrySummary.of(collected.findings[0]).routes == ["GET /v1/items"]


def test_a_spike_in_another_tenant_is_not_blamed_on_this_one(run_world: Any) -> None:
    streams = [*HEALTHY, stream("other", "GET /v1/items", "-1h", error_rate=1.0, rpm=20)]
    collected = run_world(streams, "acme")
    assert [f.kind for f in collected.findings] == ["telemetry_summary"]
    other = run_world(streams, "other")
    assert of_kind(other, "error_rate")


def test_a_latency_jump_is_found_although_the_window_p50_barely_moves(run_world: Any) -> None:
    streams = [
        stream("acme", "GET /v1/reports", "-20h", "-40m", latency_ms=150),
        stream("acme", "GET /v1/reports", "-40m", latency_ms=900),
        stream("other", "GET /v1/reports", "-20h", latency_ms=150),
    ]
    collected = run_world(streams, "acme")
    [latency] = [LatencyAnomaly.of(f) for f in of_kind(collected, "latency")]
    assert latency.factor > 4 and latency.onset is not None and not latency.sustained
    [blast] = [BlastRadius.of(f) for f in of_kind(collected, "blast_radius")]
    assert blast.anomaly == "latency" and blast.tenants == [] and blast.tenants_checked == 1


def test_auth_failures_are_client_errors_of_category_auth(run_world: Any) -> None:
    streams = [stream("acme", "GET /v1/items", "-20h", "-2h"), stream("acme", "GET /v1/items", "-2h", status=401)]
    [errors] = [ClientErrors.of(f) for f in of_kind(run_world(streams, "acme"), "client_errors")]
    assert errors.category == "auth" and errors.status_codes == {"401": errors.errors}
    assert errors.accepted_rpm is None


def test_traffic_that_stopped_is_missing_but_a_status_change_is_not(run_world: Any) -> None:
    streams = [
        stream("acme", "POST /v1/events", "-20h", "-2h"),
        stream("acme", "GET /v1/items", "-20h", "-2h"),
        stream("acme", "GET /v1/items", "-2h", status=402),
    ]
    collected = run_world(streams, "acme")
    [missing] = [MissingTraffic.of(f) for f in of_kind(collected, "missing_traffic")]
    assert missing.route == "POST /v1/events" and missing.window_rpm == 0 and missing.baseline_rpm == 10
    assert missing.since is not None and abs((missing.since - NOW).total_seconds() + 2 * 3600) <= 300


def test_a_webhook_destination_still_failing_is_ongoing_without_recovery(run_world: Any) -> None:
    hook = {"kind": "client", "service": "webhooks", "url": "https://hooks.acme.test/in", "event": "invoice.paid"}
    streams = [
        stream("acme", "POST /in", "-20h", "-1h", **hook),
        stream("acme", "POST /in", "-1h", status=500, **hook),
    ]
    [delivery] = [WebhookDeliveries.of(f) for f in of_kind(run_world(streams, "acme"), "webhook_deliveries")]
    assert delivery.ongoing and delivery.recovered_at is None and not delivery.retries_succeeded
    assert delivery.customer_endpoint_failed and delivery.event_types == ["invoice.paid"]


def test_healthy_webhooks_produce_no_delivery_finding(run_world: Any) -> None:
    hook = {"kind": "client", "service": "webhooks", "url": "https://hooks.acme.test/in", "event": "invoice.paid"}
    collected = run_world([stream("acme", "POST /in", "-20h", **hook)], "acme")
    assert not of_kind(collected, "webhook_deliveries") and collected.status is SourceStatus.NO_DATA


def test_a_tenant_with_no_traffic_is_no_data_with_a_summary_saying_so(run_world: Any) -> None:
    collected = run_world(HEALTHY, "ghost")
    assert collected.status is SourceStatus.NO_DATA
    [summary] = collected.findings
    assert not TelemetrySummary.of(summary).tenant_found and "no spans for this tenant" in collected.checked


def test_attribute_names_come_from_the_settings(run_world: Any) -> None:
    streams = [stream("acme", "POST /v1/orders", "-20h", "-1h"), stream("acme", "POST /v1/orders", "-1h", error_rate=1)]
    # the loader and the connector both follow the settings; a different tenant key finds nothing
    collected = run_world(streams, "acme", tenant_attribute="org.id")
    assert collected.status is SourceStatus.NO_DATA
    assert not TelemetrySummary.of(collected.findings[0]).tenant_found

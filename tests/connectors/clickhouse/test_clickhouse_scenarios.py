"""The visible scenarios, loaded by the sandbox loader and read back by the real connector over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ch_helpers import context, of_kind

from connectors.clickhouse.connector import ClickHouseConnector
from investigator.connector import Collected
from investigator.models import SourceStatus
from investigator.sandbox.clickhouse_world import ClickHouseSandbox
from investigator.sandbox.scenario import Scenario, load_scenario
from investigator.signals import (
    BlastRadius,
    ClientErrors,
    LatencyAnomaly,
    RouteAnomaly,
    TelemetrySummary,
    WebhookDeliveries,
)


@pytest.fixture
def investigate(shared_scenarios: Path) -> Iterator[Any]:
    sandboxes: list[ClickHouseSandbox] = []

    def run(name: str, tenant: str | None) -> tuple[Scenario, Collected]:
        scenario = load_scenario(shared_scenarios / f"{name}.yaml")
        sandbox = ClickHouseSandbox(scenario.clickhouse, scenario.now)
        sandboxes.append(sandbox)
        sandbox.start()
        connector = ClickHouseConnector(sandbox.connector_settings())
        try:
            return scenario, connector.collect(context(scenario.now, tenant))
        finally:
            connector.close()

    yield run
    for sandbox in sandboxes:
        sandbox.stop()


def near(actual: Any, expected: Any, minutes: float = 5) -> bool:
    return actual is not None and abs((actual - expected).total_seconds()) <= minutes * 60


def test_billing_past_due_shows_payment_required_on_both_routes_for_this_tenant_only(investigate: Any) -> None:
    scenario, collected = investigate("billing-past-due", "fernhill")
    [errors] = [ClientErrors.of(f) for f in of_kind(collected, "client_errors")]
    assert errors.category == "payment_required"
    assert errors.routes == ["GET /v1/contacts", "POST /v1/events"]
    assert near(errors.onset, scenario.at("-500m"))
    blasts = [BlastRadius.of(f) for f in of_kind(collected, "blast_radius")]
    assert {b.route for b in blasts} == {"GET /v1/contacts", "POST /v1/events"}
    assert all(b.tenants == [] and b.tenants_checked >= 1 for b in blasts)
    assert not of_kind(collected, "error_rate") and not of_kind(collected, "missing_traffic")


def test_deploy_regression_is_a_5xx_onset_shared_with_lindqvist_only(investigate: Any) -> None:
    scenario, collected = investigate("deploy-regression", "copperleaf")
    [anomaly] = [RouteAnomaly.of(f) for f in of_kind(collected, "error_rate")]
    assert (anomaly.service, anomaly.route) == ("billing", "POST /v1/invoices")
    assert near(anomaly.onset, scenario.at("-25m")) and anomaly.ongoing and not anomaly.sustained
    assert anomaly.status_codes == {"500": anomaly.errors}
    [blast] = [BlastRadius.of(f) for f in of_kind(collected, "blast_radius")]
    assert "lindqvist" in blast.tenants
    assert not {"palisade", "orchard", "quayside"} & set(blast.tenants)


def test_known_issue_504s_are_sustained_with_no_onset_and_shared_with_granite(investigate: Any) -> None:
    _, collected = investigate("known-issue-fix-shipping", "oakridge")
    [anomaly] = [RouteAnomaly.of(f) for f in of_kind(collected, "error_rate")]
    assert anomaly.route == "POST /v1/exports" and anomaly.sustained and anomaly.onset is None
    assert anomaly.status_codes.keys() == {"504"} and anomaly.error_rate == pytest.approx(0.5, abs=0.05)
    [latency] = [LatencyAnomaly.of(f) for f in of_kind(collected, "latency")]
    assert latency.sustained and latency.p50_ms > 5000
    for blast in (BlastRadius.of(f) for f in of_kind(collected, "blast_radius")):
        assert "granite" in blast.tenants and "fenwick" not in blast.tenants and "lumen" not in blast.tenants


def test_multi_tenant_latency_has_a_40_minute_onset_and_four_other_tenants(investigate: Any) -> None:
    scenario, collected = investigate("multi-tenant-latency-no-incident", "meridian")
    [latency] = [LatencyAnomaly.of(f) for f in of_kind(collected, "latency")]
    assert latency.route == "GET /v1/reports" and latency.factor == pytest.approx(6, abs=1)
    assert near(latency.onset, scenario.at("-40m"))
    [blast] = [BlastRadius.of(f) for f in of_kind(collected, "blast_radius")]
    assert set(blast.tenants) == {"corvid", "sunmill", "pellucid", "brackenridge"}
    assert all(f.facts.get("route") != "POST /v1/events" for f in collected.findings)


def test_rate_limited_tenant_gets_429s_with_the_accepted_rate(investigate: Any) -> None:
    scenario, collected = investigate("tenant-rate-limited-429", "larkspur")
    [errors] = [ClientErrors.of(f) for f in of_kind(collected, "client_errors")]
    assert errors.category == "rate_limited" and errors.routes == ["POST /v1/events"]
    assert near(errors.onset, scenario.at("-3h"))
    assert errors.accepted_rpm == pytest.approx(60, abs=3)
    [blast] = [BlastRadius.of(f) for f in of_kind(collected, "blast_radius")]
    assert blast.tenants == []


def test_webhook_customer_endpoint_503s_recovered_and_the_backlog_drained(investigate: Any) -> None:
    scenario, collected = investigate("webhook-customer-endpoint-5xx", "brightpath")
    [delivery] = [WebhookDeliveries.of(f) for f in of_kind(collected, "webhook_deliveries")]
    assert delivery.customer_endpoint_failed and delivery.status_codes == {"503": delivery.failures}
    assert near(delivery.first_failure_at, scenario.at("-410m"), 1)
    assert near(delivery.recovered_at, scenario.at("-260m"), 1)
    assert delivery.retries_succeeded and not delivery.ongoing
    assert delivery.other_destinations_failing == 0
    assert not of_kind(collected, "missing_traffic")


@pytest.mark.parametrize(
    ("name", "tenant"),
    [
        ("vague-no-signal", "pinecrest"),
        ("billing-question-stripe-down", "quillfeather"),
        ("cross-tenant-data-exposure", "saltmarsh"),
    ],
)
def test_quiet_scenarios_report_no_data_with_only_the_summary(investigate: Any, name: str, tenant: str) -> None:
    _, collected = investigate(name, tenant)
    assert collected.status is SourceStatus.NO_DATA and collected.checked
    [summary] = collected.findings
    facts = TelemetrySummary.of(summary)
    assert facts.tenant_found and facts.anomalies == 0 and facts.requests > 0


def test_unknown_tenant_still_gets_a_platform_wide_blast_radius(investigate: Any) -> None:
    _, collected = investigate("deploy-regression", None)
    [blast] = [BlastRadius.of(f) for f in of_kind(collected, "blast_radius")]
    assert set(blast.tenants) == {"copperleaf", "lindqvist"} and not blast.includes_ticket_tenant
    [anomaly] = [RouteAnomaly.of(f) for f in of_kind(collected, "error_rate")]
    assert anomaly.platform_wide


def test_every_finding_cites_its_query_text_and_parameters(investigate: Any) -> None:
    _, collected = investigate("webhook-customer-endpoint-5xx", "brightpath")
    for f in collected.findings:
        assert f.citations, f.kind
        for citation in f.citations:
            assert citation.query and "{" in citation.query and citation.parameters
            assert "brightpath" not in citation.query  # values are bound, never in the text

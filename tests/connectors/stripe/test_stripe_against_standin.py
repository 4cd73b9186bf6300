"""The real connector against the Stripe stand-in over HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest

from connectors.stripe.connector import StripeConnector
from investigator.errors import RateLimitedError, SourceTimeoutError, TerminalError, TransientError
from investigator.sandbox.standin import FaultKind, Injection
from investigator.sandbox.stripe_standin import StripeStandIn
from investigator.signals import BillingState, Entitlements


def test_rate_limited_tenant_is_on_the_starter_plan_with_a_60_rpm_entitlement(scenario, context):
    world = scenario("tenant-rate-limited-429")
    with StripeStandIn(world.stripe) as server:
        connector = StripeConnector(server.connector_settings())
        collected = connector.collect(context("larkspur", now=world.now))
        connector.close()
        paths = [call.path for call in server.calls]

    billing = BillingState.of(next(f for f in collected.findings if f.kind == "billing_state"))
    assert (billing.customer_id, billing.status, billing.plan, billing.plan_tier) == (
        "cus_wJeHCWf0uRw2yO",
        "active",
        "starter_monthly",
        "starter",
    )
    assert billing.blocks_service is False and billing.open_invoices == 0
    entitlements = Entitlements.of(next(f for f in collected.findings if f.kind == "entitlements"))
    assert entitlements.rate_limit_rpm == 60
    assert entitlements.lookup_keys == ["api-rate-limit-60rpm", "seats-5", "data-retention-30d"]
    assert paths[0] == "/v1/customers/search"
    assert sorted(paths[1:]) == [
        "/v1/charges",
        "/v1/disputes",
        "/v1/entitlements/active_entitlements",
        "/v1/invoices",
        "/v1/subscriptions",
    ]


def test_past_due_world_over_http_reads_invoice_payments_and_failed_charges(scenario, context):
    world = scenario("billing-past-due")
    with StripeStandIn(world.stripe) as server:
        collected = StripeConnector(server.connector_settings()).collect(context("fernhill", now=world.now))

    billing = BillingState.of(next(f for f in collected.findings if f.kind == "billing_state"))
    assert (billing.status, billing.max_attempt_count, billing.failed_charges) == ("past_due", 3, 3)
    assert billing.next_payment_attempt is not None


def test_unknown_tenant_over_http_is_no_data(scenario, context):
    with StripeStandIn(scenario("billing-past-due").stripe) as server:
        collected = StripeConnector(server.connector_settings()).collect(context("nobody", "x@nowhere.test"))
        assert [c.path for c in server.calls] == ["/v1/customers/search", "/v1/customers"]
    assert collected.no_data and collected.findings[0].kind == "account_not_found"


@pytest.mark.parametrize(
    ("fault", "error", "calls"),
    [
        (FaultKind.SERVER_ERROR, TransientError, 3),  # the library retries a 500 twice
        (FaultKind.RATE_LIMIT, RateLimitedError, 1),  # Stripe-Should-Retry: false -> no retry
        (FaultKind.GARBAGE, TerminalError, 1),
    ],
)
def test_injected_faults_map_to_our_errors_with_bounded_retries(scenario, context, library_sleeps, fault, error, calls):
    with StripeStandIn(scenario("billing-past-due").stripe, Injection(fault=fault)) as server:
        with pytest.raises(error):
            StripeConnector(server.connector_settings(max_network_retries=2)).collect(context("fernhill"))
        assert len(server.calls) == calls
    assert len(library_sleeps) == calls - 1


def test_a_hanging_stripe_times_out_as_a_source_timeout(scenario, context, library_sleeps):
    injection = Injection(fault=FaultKind.TIMEOUT, hang_s=5)
    with StripeStandIn(scenario("billing-past-due").stripe, injection) as server:
        settings = server.connector_settings(timeout_s=0.2, max_network_retries=1)
        with pytest.raises(SourceTimeoutError):
            StripeConnector(settings).collect(context("fernhill"))
        assert len(server.calls) == 2
    assert len(library_sleeps) == 1


def test_a_429_with_should_retry_true_is_retried_then_the_answer_is_used(scenario, context, library_sleeps):
    world = scenario("billing-past-due")
    standin = StripeStandIn(
        world.stripe, Injection(fault=FaultKind.RATE_LIMIT), rate_limit_should_retry=True, fault_budget=1
    )
    with standin as server:
        collected = StripeConnector(server.connector_settings()).collect(context("fernhill", now=world.now))
        assert len(server.calls) == 7  # 429, search, then five reads
    assert len(library_sleeps) == 1
    assert BillingState.of(collected.findings[0]).status == "past_due"

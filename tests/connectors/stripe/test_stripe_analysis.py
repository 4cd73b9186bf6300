"""Pure analysis of Stripe objects: plans, rate limits, subscription choice, charge issues."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.stripe.analysis import (
    AccountData,
    Dashboard,
    billing_finding,
    charge_findings,
    duplicate_groups,
    main_subscription,
    plan_tier,
    rate_limit_rpm,
)
from connectors.stripe.client import escape_search_value, metadata_query
from investigator.signals import BillingState, ChargeIssue

DASH = Dashboard("https://dashboard.stripe.com")
CUSTOMER = {"id": "cus_A", "object": "customer", "livemode": True, "delinquent": False}


def charge(cid: str, created: int, **extra: Any) -> dict[str, Any]:
    base = {
        "id": cid,
        "object": "charge",
        "amount": 4900,
        "currency": "usd",
        "created": created,
        "status": "succeeded",
        "refunded": False,
        "amount_refunded": 0,
        "description": "Subscription update",
        "payment_intent": f"pi_{cid}",
        "livemode": True,
        "disputed": False,
    }
    return {**base, **extra}


@pytest.mark.parametrize(
    ("keys", "rpm"),
    [
        (["seats-5", "api-rate-limit-60rpm"], 60.0),
        (["api-rate-limit-600rpm"], 600.0),
        (["api_rate_limit_5rps"], 300.0),
        (["seats-25", "sso"], None),
    ],
)
def test_rate_limit_is_parsed_from_the_rate_limit_lookup_key(keys, rpm):
    assert rate_limit_rpm(keys) == rpm


@pytest.mark.parametrize(
    ("key", "tier"),
    [("growth_monthly", "growth"), ("starter_monthly", "starter"), ("Enterprise-Annual", "enterprise"), (None, None)],
)
def test_plan_tier_is_the_first_word_of_the_lookup_key(key, tier):
    assert plan_tier(key) == tier


def test_escaping_doubles_backslashes_before_escaping_quotes():
    assert escape_search_value("a'b\\c\"d") == "a\\'b\\\\c\\\"d"
    assert metadata_query("tenant_id", "x' OR status:'active") == "metadata['tenant_id']:'x\\' OR status:\\'active'"


def test_the_most_telling_subscription_speaks_for_the_account():
    subs = [
        {"id": "sub_old", "status": "canceled", "created": 300},
        {"id": "sub_ok", "status": "active", "created": 100},
        {"id": "sub_due", "status": "past_due", "created": 50},
    ]
    assert main_subscription(subs)["id"] == "sub_due"
    assert main_subscription(subs[:2])["id"] == "sub_ok"
    assert main_subscription([]) is None


@pytest.mark.parametrize(
    ("status", "blocks"),
    [
        ("past_due", True),
        ("unpaid", True),
        ("canceled", True),
        ("incomplete_expired", True),
        ("active", False),
        ("trialing", False),
    ],
)
def test_blocking_statuses_set_blocks_service(status, blocks):
    sub = {"id": "sub_1", "status": status, "created": 1, "items": {"data": []}, "trial_end": 1795000000}
    facts = BillingState.of(billing_finding(AccountData(customer=CUSTOMER, subscriptions=[sub]), DASH))
    assert facts.blocks_service is blocks
    assert facts.trial_end is not None


def test_uncollectible_invoices_count_towards_attempts_but_not_open_invoices():
    invoices = [
        {"id": "in_1", "status": "uncollectible", "attempt_count": 4, "amount_remaining": 100, "currency": "usd"},
        {"id": "in_2", "status": "paid", "attempt_count": 7, "amount_remaining": 0},
    ]
    facts = BillingState.of(billing_finding(AccountData(customer=CUSTOMER, invoices=invoices), DASH))
    assert (facts.open_invoices, facts.uncollectible_invoices, facts.max_attempt_count) == (0, 1, 4)
    assert facts.subscription_id is None


def test_same_description_charges_minutes_apart_are_duplicates_but_a_month_apart_are_not():
    charges = [charge("ch_1", 1000), charge("ch_2", 1300), charge("ch_3", 1000 + 30 * 86400)]
    groups = duplicate_groups(charges, {}, window_s=900)
    assert [[c["id"] for c in g] for g in groups] == [["ch_1", "ch_2"]]


def test_two_succeeded_payments_for_one_invoice_are_duplicates_whatever_the_interval():
    charges = [charge("ch_1", 1000), charge("ch_2", 1000 + 86400, description="other")]
    invoices = [
        {
            "id": "in_1",
            "payments": {
                "data": [{"payment": {"payment_intent": "pi_ch_1"}}, {"payment": {"payment_intent": "pi_ch_2"}}]
            },
        }
    ]
    data = AccountData(customer=CUSTOMER, charges=charges, invoices=invoices)
    [issue] = charge_findings(data, DASH, window_s=900)
    assert ChargeIssue.of(issue).charge_ids == ["ch_1", "ch_2"]


def test_failed_refunded_or_different_amount_charges_are_not_duplicates():
    charges = [
        charge("ch_1", 1000),
        charge("ch_2", 1010, status="failed"),
        charge("ch_3", 1020, refunded=True, amount_refunded=4900),
        charge("ch_4", 1030, amount=5000),
    ]
    assert duplicate_groups(charges, {}, window_s=900) == []


def test_refunds_and_disputes_of_the_customers_charges_are_reported():
    charges = [charge("ch_1", 1000, refunded=True, amount_refunded=4900), charge("ch_2", 2000, disputed=True)]
    disputes = [
        {
            "id": "dp_1",
            "charge": "ch_2",
            "amount": 4900,
            "currency": "usd",
            "status": "needs_response",
            "reason": "fraudulent",
            "created": 2100,
            "livemode": True,
        },
        {"id": "dp_other", "charge": "ch_someone_else", "amount": 100, "currency": "usd", "created": 2200},
    ]
    findings = charge_findings(AccountData(customer=CUSTOMER, charges=charges, disputes=disputes), DASH, 900)
    issues = {ChargeIssue.of(f).issue: (f, ChargeIssue.of(f)) for f in findings}
    assert set(issues) == {"refunded", "disputed"} and len(findings) == 2
    disputed, facts = issues["disputed"]
    assert (facts.dispute_id, facts.reason, facts.charge_ids) == ("dp_1", "fraudulent", ["ch_2"])
    assert {c.url for c in disputed.citations} == {
        "https://dashboard.stripe.com/disputes/dp_1",
        "https://dashboard.stripe.com/payments/ch_2",
    }


def test_test_mode_objects_link_to_the_test_dashboard():
    assert DASH.url("cus_A", livemode=False) == "https://dashboard.stripe.com/test/customers/cus_A"
    assert DASH.url("in_1") == "https://dashboard.stripe.com/invoices/in_1"

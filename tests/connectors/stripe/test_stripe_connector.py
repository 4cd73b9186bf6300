"""The Stripe connector over respx-mocked HTTP (stripe.HTTPXClient): findings, retries, errors."""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
import pytest
import respx

from connectors.stripe.connector import StripeConnector
from investigator.errors import RateLimitedError, SourceTimeoutError, TerminalError, TransientError
from investigator.signals import AccountNotFound, BillingState, ChargeIssue, Entitlements

API_KEY = "sk_test_51SecretKeyThatMustNeverBeLogged0123456789"
SEARCH = "/v1/customers/search"


def search_result(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "search_result", "data": data, "has_more": False, "next_page": None, "url": SEARCH}


def mount_world(router: respx.MockRouter, world: Any, customer: dict[str, Any], listing: Any) -> dict[str, respx.Route]:
    """One route per endpoint, answering with the scenario's objects of ``customer``."""
    cid = customer["id"]
    mine = lambda objs: [o for o in objs if o.get("customer") == cid]  # noqa: E731
    return {
        "search": router.get(SEARCH).respond(json=search_result([customer])),
        "subscriptions": router.get("/v1/subscriptions").respond(
            json=listing("/v1/subscriptions", mine(world.subscriptions))
        ),
        "invoices": router.get("/v1/invoices").respond(json=listing("/v1/invoices", mine(world.invoices))),
        "charges": router.get("/v1/charges").respond(json=listing("/v1/charges", mine(world.charges))),
        "disputes": router.get("/v1/disputes").respond(json=listing("/v1/disputes", [])),
        "entitlements": router.get("/v1/entitlements/active_entitlements").respond(
            json=listing("/v1/entitlements/active_entitlements", world.active_entitlements.get(cid, []))
        ),
    }


def only(findings: list[Any], kind: str) -> Any:
    matching = [f for f in findings if f.kind == kind]
    assert len(matching) == 1, [f.kind for f in findings]
    return matching[0]


# ------------------------------------------------------------------------- happy path
def test_past_due_account_yields_billing_state_entitlements_and_dashboard_citations(
    stripe_api, scenario, settings, context, listing
):
    world = scenario("billing-past-due").stripe
    routes = mount_world(stripe_api, world, world.customers[0], listing)

    collected = StripeConnector(settings()).collect(context("fernhill", "greta.lindholm@fernhill-dental.test"))

    assert collected.no_data is False
    for name, route in routes.items():
        assert route.call_count == 1, name
    assert routes["search"].calls[0].request.url.params["query"] == "metadata['tenant_id']:'fernhill'"
    assert routes["subscriptions"].calls[0].request.url.params["status"] == "all"
    assert routes["invoices"].calls[0].request.url.params["expand[0]"] == "data.payments"
    assert routes["charges"].calls[0].request.url.params["customer"] == "cus_5qHAZPZi6TEb4k"
    assert routes["search"].calls[0].request.headers["authorization"] == f"Bearer {API_KEY}"

    billing = only(collected.findings, "billing_state")
    facts = BillingState.of(billing)
    assert (facts.status, facts.plan, facts.plan_tier) == ("past_due", "growth_monthly", "growth")
    assert facts.blocks_service is True and facts.delinquent is True
    assert (facts.open_invoices, facts.max_attempt_count, facts.failed_charges) == (1, 3, 3)
    assert facts.last_payment_error == "card_declined: Your card was declined."
    assert facts.subscription_id == "sub_1Y5ZIOOa5nQ2eZvK48hFpDWN"
    assert facts.current_period_end is not None and facts.current_period_end.isoformat() == "2026-12-01T07:00:00+00:00"
    urls = {c.url for c in billing.citations}
    assert "https://dashboard.stripe.com/customers/cus_5qHAZPZi6TEb4k" in urls
    assert "https://dashboard.stripe.com/subscriptions/sub_1Y5ZIOOa5nQ2eZvK48hFpDWN" in urls
    assert "https://dashboard.stripe.com/invoices/in_1BxG43Oa5nQ2eZvKMGg5HT4j" in urls
    assert "https://dashboard.stripe.com/payments/ch_3hX9OzOa5nQ2eZvKcODCGuR3" in urls
    assert all(c.object_id for c in billing.citations)

    entitlements = Entitlements.of(only(collected.findings, "entitlements"))
    assert entitlements.lookup_keys == ["api-rate-limit-600rpm", "seats-25", "audit-log-30d"]
    assert entitlements.rate_limit_rpm == 600
    assert not [f for f in collected.findings if f.kind == "charge_issue"]


def test_everything_after_the_customer_lookup_is_fetched_in_one_concurrent_round(
    stripe_api, scenario, settings, context, listing
):
    world = scenario("billing-past-due").stripe
    routes = mount_world(stripe_api, world, world.customers[0], listing)
    # Each second-round call waits until all five are in flight: sequential calls would break the barrier.
    barrier = threading.Barrier(5, timeout=10)
    for name in ("subscriptions", "invoices", "charges", "disputes", "entitlements"):
        answer = routes[name].return_value

        def wait_then_answer(request: httpx.Request, answer: httpx.Response = answer) -> httpx.Response:
            barrier.wait()
            return answer

        routes[name].side_effect = wait_then_answer

    collected = StripeConnector(settings()).collect(context("fernhill"))

    assert BillingState.of(only(collected.findings, "billing_state")).status == "past_due"
    assert not barrier.broken


def test_lists_follow_starting_after_cursors_across_pages(stripe_api, scenario, settings, context, listing):
    world = scenario("billing-past-due").stripe
    routes = mount_world(stripe_api, world, world.customers[0], listing)
    charges = sorted(world.charges, key=lambda c: -c["created"])
    pages = {None: charges[:2], charges[1]["id"]: charges[2:]}

    def paged(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("starting_after")
        return httpx.Response(200, json=listing("/v1/charges", pages[cursor], has_more=cursor is None))

    routes["charges"].side_effect = paged

    collected = StripeConnector(settings(page_size=2)).collect(context("fernhill"))

    assert routes["charges"].call_count == 2
    second = routes["charges"].calls[1].request.url.params
    assert second["starting_after"] == charges[1]["id"] and second["customer"] == "cus_5qHAZPZi6TEb4k"
    assert BillingState.of(only(collected.findings, "billing_state")).failed_charges == 3


def test_duplicate_charges_for_the_same_invoice_are_reported_with_both_charge_ids(
    stripe_api, scenario, settings, context, listing
):
    world = scenario("billing-past-due").stripe
    routes = mount_world(stripe_api, world, world.customers[0], listing)
    paid = next(c for c in world.charges if c["status"] == "succeeded")
    twin = {**paid, "id": "ch_3Twin0000000000000000001", "created": paid["created"] + 40}
    routes["charges"].respond(json=listing("/v1/charges", [twin, *world.charges]))

    collected = StripeConnector(settings()).collect(context("fernhill"))

    issue = only(collected.findings, "charge_issue")
    facts = ChargeIssue.of(issue)
    assert facts.issue == "duplicate"
    assert facts.charge_ids == [paid["id"], twin["id"]]
    assert (facts.amount, facts.currency) == (29900, "usd")
    assert {c.url for c in issue.citations} == {
        f"https://dashboard.stripe.com/payments/{paid['id']}",
        f"https://dashboard.stripe.com/payments/{twin['id']}",
    }


# ------------------------------------------------------------------------- customer lookup
def test_unknown_tenant_and_email_give_no_data_with_an_account_not_found_finding(
    stripe_api, settings, context, listing
):
    search = stripe_api.get(SEARCH).respond(json=search_result([]))
    by_email = stripe_api.get("/v1/customers").respond(json=listing("/v1/customers", []))
    others = stripe_api.get(url__regex=r"/v1/(subscriptions|invoices|charges|disputes|entitlements)").respond(500)

    collected = StripeConnector(settings()).collect(context("ghost-tenant", "nobody@ghost.test"))

    assert collected.no_data is True
    assert (search.call_count, by_email.call_count, others.call_count) == (1, 1, 0)
    assert by_email.calls[0].request.url.params["email"] == "nobody@ghost.test"
    finding = only(collected.findings, "account_not_found")
    facts = AccountNotFound.of(finding)
    assert facts.tenant_id == "ghost-tenant"
    assert len(facts.searched) == 2
    assert finding.citations[0].query == "metadata['tenant_id']:'ghost-tenant'"
    assert "nobody@ghost.test" not in finding.summary
    assert collected.checked == facts.searched


def test_customer_is_found_by_the_exact_requester_email_when_no_metadata_matches(
    stripe_api, scenario, settings, context, listing
):
    world = scenario("billing-past-due").stripe
    customer = world.customers[0]
    routes = mount_world(stripe_api, world, customer, listing)
    routes["search"].respond(json=search_result([]))
    by_email = stripe_api.get("/v1/customers").respond(json=listing("/v1/customers", [customer]))

    collected = StripeConnector(settings()).collect(context("fernhill-renamed", "accounts@fernhill-dental.test"))

    assert by_email.calls[0].request.url.params["email"] == "accounts@fernhill-dental.test"
    assert BillingState.of(only(collected.findings, "billing_state")).customer_id == customer["id"]


def test_tenant_id_with_quote_and_backslash_is_escaped_in_the_search_query(stripe_api, settings, context, listing):
    search = stripe_api.get(SEARCH).respond(json=search_result([]))

    collected = StripeConnector(settings(tenant_metadata_key="org'id", email_fallback=False)).collect(
        context("acme' OR email:'x\\")
    )

    assert collected.no_data is True
    assert search.calls[0].request.url.params["query"] == "metadata['org\\'id']:'acme\\' OR email:\\'x\\\\'"


# ------------------------------------------------------------------------- rate limits and retries
def test_rate_limit_with_should_retry_true_is_retried_once_by_the_library_then_succeeds(
    stripe_api, scenario, settings, context, listing, library_sleeps
):
    world = scenario("billing-past-due").stripe
    routes = mount_world(stripe_api, world, world.customers[0], listing)
    limited = httpx.Response(
        429,
        json={"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}},
        headers={"Stripe-Should-Retry": "true", "Request-Id": "req_1"},
    )
    routes["search"].side_effect = [limited, httpx.Response(200, json=search_result([world.customers[0]]))]

    collected = StripeConnector(settings(max_network_retries=2)).collect(context("fernhill"))

    assert routes["search"].call_count == 2
    assert len(library_sleeps) == 1
    assert BillingState.of(only(collected.findings, "billing_state")).status == "past_due"


def test_rate_limit_with_should_retry_false_is_not_retried_and_raises_rate_limited(
    stripe_api, settings, context, library_sleeps
):
    search = stripe_api.get(SEARCH).respond(
        429,
        json={"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}},
        headers={"Stripe-Should-Retry": "false", "Request-Id": "req_2"},
    )

    with pytest.raises(RateLimitedError) as raised:
        StripeConnector(settings(max_network_retries=2)).collect(context("fernhill"))

    assert search.call_count == 1
    assert library_sleeps == []
    assert raised.value.status == 429
    assert "req_2" in str(raised.value)


def test_server_errors_are_retried_within_the_bound_then_reported_transient(
    stripe_api, settings, context, library_sleeps
):
    search = stripe_api.get(SEARCH).respond(
        500, json={"error": {"type": "api_error", "message": "An unknown error occurred"}}
    )

    with pytest.raises(TransientError) as raised:
        StripeConnector(settings(max_network_retries=2)).collect(context("fernhill"))

    assert not isinstance(raised.value, RateLimitedError)
    assert search.call_count == 3
    assert len(library_sleeps) == 2
    assert raised.value.status == 500


def test_timeouts_are_retried_within_the_bound_then_reported_as_a_source_timeout(
    stripe_api, settings, context, library_sleeps
):
    search = stripe_api.get(SEARCH).mock(side_effect=httpx.ReadTimeout("read timed out"))

    with pytest.raises(SourceTimeoutError):
        StripeConnector(settings(max_network_retries=1)).collect(context("fernhill"))

    assert search.call_count == 2
    assert len(library_sleeps) == 1


def test_a_body_that_is_not_json_is_a_terminal_error_and_not_retried(stripe_api, settings, context, library_sleeps):
    search = stripe_api.get(SEARCH).respond(200, content=b'{"object": "search_result", "data": [tru')

    with pytest.raises(TerminalError) as raised:
        StripeConnector(settings(max_network_retries=2)).collect(context("fernhill"))

    assert "malformed" in str(raised.value)
    assert search.call_count == 1
    assert library_sleeps == []


def test_a_rejected_key_is_terminal_and_its_logs_and_message_never_contain_the_key(
    stripe_api, settings, context, caplog, library_sleeps
):
    caplog.set_level(logging.DEBUG)
    search = stripe_api.get(SEARCH).respond(
        401,
        json={"error": {"type": "invalid_request_error", "message": f"Invalid API Key provided: {API_KEY}"}},
        headers={"Request-Id": "req_3"},
    )

    with pytest.raises(TerminalError) as raised:
        StripeConnector(settings()).collect(context("fernhill"))

    assert search.call_count == 1 and library_sleeps == []
    assert raised.value.status == 401
    assert caplog.records, "the failing call should have been logged"
    assert API_KEY not in caplog.text
    assert API_KEY[-12:] not in caplog.text
    assert API_KEY not in str(raised.value) and raised.value.__cause__ is None


def test_a_server_error_is_logged_without_the_key(stripe_api, settings, context, caplog, library_sleeps):
    caplog.set_level(logging.DEBUG)
    stripe_api.get(SEARCH).respond(503, json={"error": {"type": "api_error", "message": "unavailable"}})

    with pytest.raises(TransientError):
        StripeConnector(settings(max_network_retries=0)).collect(context("fernhill"))

    assert "stripe customers.search" in caplog.text
    assert API_KEY not in caplog.text


def test_an_entitlements_refusal_is_noted_without_failing_the_source(stripe_api, scenario, settings, context, listing):
    world = scenario("billing-past-due").stripe
    routes = mount_world(stripe_api, world, world.customers[0], listing)
    routes["entitlements"].respond(
        404, json={"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
    )

    collected = StripeConnector(settings()).collect(context("fernhill"))

    assert [f.kind for f in collected.findings] == ["billing_state"]
    assert any(note.startswith("entitlements: not readable") for note in collected.checked)


# ------------------------------------------------------------------------- check
def test_check_without_a_key_reports_not_configured_and_makes_no_call(stripe_api, settings):
    calls = stripe_api.route().respond(200)

    result = StripeConnector(settings(api_key=None)).check()

    assert (result.configured, result.ok, calls.call_count) == (False, False, 0)
    assert result.missing == ["INVESTIGATOR_STRIPE_API_KEY"]


def test_check_lists_one_customer_and_reports_reachable(stripe_api, settings, listing):
    route = stripe_api.get("/v1/customers").respond(json=listing("/v1/customers", []))

    result = StripeConnector(settings()).check()

    assert result.ok and result.reachable is True
    assert route.calls[0].request.url.params["limit"] == "1"


def test_without_tenant_or_email_nothing_is_called_and_the_reason_is_reported(stripe_api, settings, context):
    calls = stripe_api.route().respond(200)

    collected = StripeConnector(settings()).collect(context(None, None))

    assert calls.call_count == 0
    assert collected.no_data is True
    assert collected.checked == ["nothing to search by: no tenant id and no requester email"]
    assert AccountNotFound.of(collected.findings[0]).tenant_id is None

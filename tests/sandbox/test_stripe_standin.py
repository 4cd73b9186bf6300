"""The Stripe stand-in answers like Stripe: auth, list envelopes and cursors, search, errors, faults."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from investigator.sandbox.scenario import StripeWorld, load_scenario
from investigator.sandbox.standin import FaultKind, Injection
from investigator.sandbox.stripe_standin import STANDIN_KEY, StripeStandIn, parse_search_query

SCENARIOS = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"
FERNHILL = "cus_5qHAZPZi6TEb4k"


def customer(cid: str, tenant: str, created: int, email: str = "a@b.test") -> dict[str, Any]:
    return {"id": cid, "object": "customer", "created": created, "livemode": False, "email": email,
            "metadata": {"tenant_id": tenant}}  # fmt: skip


@pytest.fixture
def billing():
    with StripeStandIn(load_scenario(SCENARIOS / "billing-past-due.yaml").stripe) as server:
        yield server


def get(server: StripeStandIn, path: str, key: str | None = STANDIN_KEY, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{server.url}{path}", params=params, headers=headers, timeout=5)


def test_requests_without_an_api_key_get_a_401_stripe_error(billing):
    response = get(billing, "/v1/customers", key=None)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "API key" in response.json()["error"]["message"]


def test_a_wrong_key_is_refused_and_basic_auth_with_the_key_is_accepted(billing):
    assert get(billing, "/v1/customers", key="sk_test_wrong").status_code == 401
    basic = base64.b64encode(f"{STANDIN_KEY}:".encode()).decode()
    response = httpx.get(f"{billing.url}/v1/customers", headers={"Authorization": f"Basic {basic}"}, timeout=5)
    assert response.status_code == 200


def test_lists_are_newest_first_and_paginate_with_starting_after_and_ending_before(billing):
    first = get(billing, "/v1/charges", customer=FERNHILL, limit=3).json()
    assert (first["object"], first["url"], first["has_more"]) == ("list", "/v1/charges", True)
    created = [c["created"] for c in first["data"]]
    assert created == sorted(created, reverse=True)
    rest = get(billing, "/v1/charges", customer=FERNHILL, limit=3, starting_after=first["data"][-1]["id"]).json()
    assert len(rest["data"]) == 1 and rest["has_more"] is False
    back = get(billing, "/v1/charges", customer=FERNHILL, limit=3, ending_before=rest["data"][0]["id"]).json()
    assert [c["id"] for c in back["data"]] == [c["id"] for c in first["data"]]


def test_an_unknown_cursor_or_bad_limit_is_a_400(billing):
    assert get(billing, "/v1/charges", starting_after="ch_nope").json()["error"]["param"] == "starting_after"
    assert get(billing, "/v1/charges", limit=101).status_code == 400


def test_invoice_payments_are_returned_only_when_expanded(billing):
    plain = get(billing, "/v1/invoices", customer=FERNHILL).json()["data"]
    expanded = get(billing, "/v1/invoices", customer=FERNHILL, **{"expand[0]": "data.payments"}).json()["data"]
    assert all("payments" not in i for i in plain)
    assert all(i["payments"]["object"] == "list" for i in expanded)


def test_subscriptions_default_to_not_canceled_and_status_all_returns_every_one():
    world = StripeWorld(
        subscriptions=[
            {"id": "sub_a", "object": "subscription", "customer": "cus_1", "status": "canceled", "created": 1},
            {"id": "sub_b", "object": "subscription", "customer": "cus_1", "status": "active", "created": 2},
        ]
    )
    with StripeStandIn(world) as server:
        assert [s["id"] for s in get(server, "/v1/subscriptions", customer="cus_1").json()["data"]] == ["sub_b"]
        every = get(server, "/v1/subscriptions", customer="cus_1", status="all").json()["data"]
    assert [s["id"] for s in every] == ["sub_b", "sub_a"]


def test_search_unescapes_quotes_and_backslashes_and_refuses_unescaped_injection():
    tricky = "o'brien\\co"
    world = StripeWorld(customers=[customer("cus_1", tricky, 1), customer("cus_2", "other", 2)])
    with StripeStandIn(world) as server:
        escaped = get(server, "/v1/customers/search", query="metadata['tenant_id']:'o\\'brien\\\\co'").json()
        injected = get(server, "/v1/customers/search", query="metadata['tenant_id']:'x' OR created>0")
    assert escaped["object"] == "search_result" and [c["id"] for c in escaped["data"]] == ["cus_1"]
    assert injected.status_code == 400 and injected.json()["error"]["code"] == "search_query_invalid"


def test_search_pages_with_next_page_and_matches_email_case_insensitively():
    world = StripeWorld(customers=[customer(f"cus_{i}", "t", i, email="Ops@Acme.test") for i in range(3)])
    with StripeStandIn(world) as server:
        first = get(server, "/v1/customers/search", query="email:'ops@acme.test'", limit=2).json()
        second = get(server, "/v1/customers/search", query="email:'ops@acme.test'", limit=2, page=first["next_page"])
    assert first["has_more"] is True and len(first["data"]) == 2
    assert second.json()["has_more"] is False and second.json()["next_page"] is None
    assert len(second.json()["data"]) == 1


def test_search_query_parser_understands_and_of_metadata_and_email():
    assert parse_search_query("metadata['tenant_id']:'acme' AND email:\"a@b.test\"") == [
        ("metadata.tenant_id", "acme"),
        ("email", "a@b.test"),
    ]


def test_customer_retrieve_and_list_by_email(billing):
    assert get(billing, f"/v1/customers/{FERNHILL}").json()["id"] == FERNHILL
    missing = get(billing, "/v1/customers/cus_nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"
    listed = get(billing, "/v1/customers", email="accounts@fernhill-dental.test").json()["data"]
    assert [c["id"] for c in listed] == [FERNHILL]
    assert get(billing, "/v1/customers", email="ACCOUNTS@fernhill-dental.test").json()["data"] == []


def test_active_entitlements_require_a_customer(billing):
    assert get(billing, "/v1/entitlements/active_entitlements").json()["error"]["code"] == "parameter_missing"
    data = get(billing, "/v1/entitlements/active_entitlements", customer=FERNHILL).json()["data"]
    assert [e["lookup_key"] for e in data] == ["api-rate-limit-600rpm", "seats-25", "audit-log-30d"]


def test_disputes_filter_by_charge_and_created_range():
    world = StripeWorld(
        disputes=[
            {"id": "dp_1", "object": "dispute", "charge": "ch_1", "created": 100},
            {"id": "dp_2", "object": "dispute", "charge": "ch_2", "created": 200},
        ]
    )
    with StripeStandIn(world) as server:
        assert [d["id"] for d in get(server, "/v1/disputes", charge="ch_1").json()["data"]] == ["dp_1"]
        recent = get(server, "/v1/disputes", **{"created[gte]": 150}).json()["data"]
    assert [d["id"] for d in recent] == ["dp_2"]


@pytest.mark.parametrize("should_retry", [True, False])
def test_a_429_fault_carries_stripes_rate_limit_code_and_headers(should_retry):
    with StripeStandIn(None, Injection(fault=FaultKind.RATE_LIMIT), rate_limit_should_retry=should_retry) as server:
        response = get(server, "/v1/customers")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limit"
    assert response.headers["Stripe-Should-Retry"] == str(should_retry).lower()
    assert response.headers["Request-Id"].startswith("req_")


def test_a_5xx_fault_is_an_api_error_and_a_fault_budget_ends_the_fault():
    with StripeStandIn(None, Injection(fault=FaultKind.SERVER_ERROR), fault_budget=1) as server:
        failed = get(server, "/v1/customers")
        recovered = get(server, "/v1/customers")
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "api_error"
    assert recovered.status_code == 200 and recovered.json()["data"] == []


def test_connector_settings_point_at_the_standin_with_a_test_key(billing):
    settings = billing.connector_settings()
    assert settings.api_base == billing.url
    assert settings.api_key is not None and settings.api_key.get_secret_value().startswith("sk_test_")

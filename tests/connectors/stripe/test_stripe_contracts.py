"""Fixtures and stand-in answers against the Stripe contracts (``shared/contracts/stripe``).

``subset.json`` is the 2023-08-16 spec: its object schemas fit customers, charges, disputes and
active entitlements, not today's subscriptions and invoices. For those, the fields the connector
reads are checked against ``fixtures3.json`` (the current API's example objects).
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from investigator.sandbox.scenario import StripeWorld
from investigator.sandbox.standin import FaultKind, Injection
from investigator.sandbox.stripe_standin import STANDIN_KEY, StripeStandIn

SCENARIOS = sorted(glob.glob(str(Path(__file__).resolve().parents[3].parent / "shared" / "scenarios" / "*.yaml")))
ANY_OBJECT = {"type": "object", "required": ["id", "object"]}


def stripe_worlds() -> list[tuple[str, dict[str, Any]]]:
    worlds = []
    for path in SCENARIOS:
        raw = yaml.safe_load(Path(path).read_text())
        if raw.get("stripe"):
            worlds.append((Path(path).stem, raw["stripe"]))
    return worlds


def dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


# Fields the connector reads, by object: present in the current API's fixtures, with these JSON types.
READ_FIELDS = {
    "subscription": {
        "status": str,
        "customer": str,
        "cancel_at": (int, type(None)),
        "trial_end": (int, type(None)),
        "items.data.0.current_period_start": int,
        "items.data.0.current_period_end": int,
        "items.data.0.price.id": str,
    },
    "invoice": {
        "status": (str, type(None)),
        "attempt_count": int,
        "amount_remaining": int,
        "next_payment_attempt": (int, type(None)),
        "parent": (dict, type(None)),
    },
    "charge": {
        "status": str,
        "amount": int,
        "currency": str,
        "failure_code": (str, type(None)),
        "failure_message": (str, type(None)),
        "payment_intent": (str, type(None)),
        "refunded": bool,
        "amount_refunded": int,
        "disputed": bool,
        "description": (str, type(None)),
    },
}


def test_the_current_fixtures_have_the_fields_the_connector_reads_and_not_the_2023_ones(schemas):
    fixtures = schemas.fixtures
    for name, fields in READ_FIELDS.items():
        for path, kind in fields.items():
            assert isinstance(dig(fixtures[name], path), kind), f"{name}.{path}"
    assert "subscription_details" in fixtures["invoice"]["parent"]
    assert fixtures["invoice_payment"]["payment"]["type"] == "payment_intent"
    assert "lookup_key" in fixtures["subscription"]["items"]["data"][0]["price"]
    # Moved or removed since 2023-08-16: the connector must not depend on these.
    assert "current_period_end" not in fixtures["subscription"]
    assert "paid" not in fixtures["invoice"]
    assert "invoice" not in fixtures["charge"]


@pytest.mark.parametrize("name", ["charge", "dispute", "entitlements.active_entitlement", "subscription_item"])
def test_current_fixtures_validate_where_the_2023_schemas_still_fit(schemas, name):
    assert schemas.component_errors(name, schemas.fixtures[name]) == []


@pytest.mark.parametrize(("scenario", "world"), stripe_worlds(), ids=[n for n, _ in stripe_worlds()])
def test_scenario_stripe_objects_have_current_shapes(schemas, scenario, world):
    for customer in world["customers"]:
        assert schemas.component_errors("customer", customer) == [], customer["id"]
    for entitlements in world["active_entitlements"].values():
        for entitlement in entitlements:
            assert schemas.component_errors("entitlements.active_entitlement", entitlement) == []
    for key, name in (("subscriptions", "subscription"), ("invoices", "invoice"), ("charges", "charge")):
        for obj in world[key]:
            for path, kind in READ_FIELDS[name].items():
                assert isinstance(dig(obj, path), kind), f"{scenario} {obj['id']}.{path}"
    for invoice in world["invoices"]:
        assert invoice["parent"]["subscription_details"]["subscription"].startswith("sub_")
        for payment in invoice["payments"]["data"]:
            assert payment["object"] == "invoice_payment" and payment["payment"]["type"] == "payment_intent"


@pytest.fixture
def standin(scenario):
    with StripeStandIn(scenario("billing-past-due").stripe) as server:
        yield server


def get(server: StripeStandIn, path: str, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {STANDIN_KEY}"}
    return httpx.get(f"{server.url}{path}", params=params, headers=headers, timeout=5)


@pytest.mark.parametrize(
    ("path", "params", "item_schema"),
    [
        ("/v1/customers", {"email": "accounts@fernhill-dental.test"}, "customer"),
        ("/v1/entitlements/active_entitlements", {"customer": "cus_5qHAZPZi6TEb4k"}, "entitlements.active_entitlement"),
        ("/v1/subscriptions", {"customer": "cus_5qHAZPZi6TEb4k", "status": "all"}, None),
        ("/v1/invoices", {"customer": "cus_5qHAZPZi6TEb4k", "expand[0]": "data.payments"}, None),
        ("/v1/charges", {"customer": "cus_5qHAZPZi6TEb4k", "limit": 2}, None),
        ("/v1/disputes", {}, None),
    ],
)
def test_standin_list_answers_match_the_list_envelopes_of_the_spec(standin, schemas, path, params, item_schema):
    response = get(standin, path, **params)
    assert response.status_code == 200
    items = None if item_schema else ANY_OBJECT
    assert schemas.errors(schemas.response_schema(path, items=items), response.json()) == []
    if item_schema:
        assert response.json()["data"], "expected objects to validate"


def test_standin_search_answer_matches_the_search_result_schema(standin, schemas):
    response = get(standin, "/v1/customers/search", query="metadata['tenant_id']:'fernhill'")
    body = response.json()
    assert schemas.errors(schemas.response_schema("/v1/customers/search"), body) == []
    assert [c["id"] for c in body["data"]] == ["cus_5qHAZPZi6TEb4k"]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/customers/cus_missing", {}, 404),
        ("/v1/entitlements/active_entitlements", {}, 400),
        ("/v1/customers/search", {"query": "status>0 OR 1"}, 400),
        ("/v1/nothing", {}, 404),
    ],
)
def test_standin_errors_match_the_error_schema(standin, schemas, path, params, status):
    response = get(standin, path, **params)
    assert response.status_code == status
    assert response.headers["Request-Id"].startswith("req_")
    assert schemas.component_errors("error", response.json()) == []


@pytest.mark.parametrize(("fault", "status"), [(FaultKind.RATE_LIMIT, 429), (FaultKind.SERVER_ERROR, 500)])
def test_standin_faults_answer_with_stripe_error_objects(schemas, fault, status):
    with StripeStandIn(StripeWorld(), Injection(fault=fault)) as server:
        response = get(server, "/v1/customers")
    assert response.status_code == status
    assert schemas.component_errors("error", response.json()) == []

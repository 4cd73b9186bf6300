"""The read API: bearer auth (401 missing/wrong), the packet as JSON, the page, the ticket index,
health and Prometheus metrics."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from investigator import metrics
from investigator.service import page_signature
from investigator.store import Store
from tests.api.packets import packet, stored
from tests.integration.conftest import API_TOKEN, api_settings

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture()
def inv_id(store: Store) -> str:
    inv = f"inv_{uuid.uuid4().hex[:20]}"
    stored(store, packet(inv))
    return inv


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": API_TOKEN},
        {"Authorization": "Basic " + API_TOKEN},
    ],
    ids=["missing", "wrong", "no-scheme", "basic"],
)
def test_the_read_api_refuses_a_missing_or_wrong_token(
    client: TestClient, inv_id: str, headers: dict[str, str]
) -> None:
    for path in (f"/investigations/{inv_id}", f"/investigations/{inv_id}/page", "/tickets/zendesk/T-1/investigations"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "acme" not in response.text


def test_the_read_api_serves_the_packet_with_the_right_token(client: TestClient, inv_id: str) -> None:
    response = client.get(f"/investigations/{inv_id}", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == inv_id and body["status"] == "decided"
    assert body["packet"]["investigation_id"] == inv_id
    assert body["packet"]["recommendation"]["action"] in ("resolve", "investigate", "escalate", "incident")


def test_an_unknown_investigation_is_404(client: TestClient) -> None:
    assert client.get("/investigations/inv_nope", headers=AUTH).status_code == 404


def test_the_page_opens_with_the_token_or_the_links_signature_only(client: TestClient, inv_id: str) -> None:
    sig = page_signature(api_settings(), inv_id)
    other = page_signature(api_settings(), "inv_other")

    with_token = client.get(f"/investigations/{inv_id}/page", headers=AUTH)
    with_sig = client.get(f"/investigations/{inv_id}/page?sig={sig}")
    with_other_sig = client.get(f"/investigations/{inv_id}/page?sig={other}")

    assert with_token.status_code == 200 and with_token.headers["content-type"].startswith("text/html")
    assert with_sig.status_code == 200
    assert with_other_sig.status_code == 401
    assert "Webhooks &lt;b&gt;missing&lt;/b&gt;" in with_token.text


def test_a_read_api_without_a_configured_token_refuses_everyone(store: Store, inv_id: str) -> None:
    from investigator.api import create_app

    client = TestClient(create_app(api_settings(api_token=None), store=store, enqueue=lambda _id: None))
    response = client.get(f"/investigations/{inv_id}", headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert "INVESTIGATOR_API_TOKEN" in response.json()["detail"]


def test_a_tickets_investigations_are_listed_newest_first(client: TestClient, store: Store) -> None:
    ticket_id = f"T-{uuid.uuid4().hex[:6]}"
    from tests.api.packets import ticket

    first, second = (f"inv_{uuid.uuid4().hex[:20]}" for _ in range(2))
    stored(store, packet(first, ticket(ticket_id)))
    stored(store, packet(second, ticket(ticket_id)))

    body = client.get(f"/tickets/zendesk/{ticket_id}/investigations", headers=AUTH).json()

    assert [i["id"] for i in body["investigations"]] == [second, first]
    assert "packet" not in body["investigations"][0]
    assert body["investigations"][0]["action"]


def test_healthz_reports_redis_up(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "redis": "up"}


def test_metrics_expose_actions_source_latency_and_failures_and_queue_time(client: TestClient, store: Store) -> None:
    metrics.record_decision(store.redis, "escalate")
    metrics.record_source(store.redis, "stripe", "unavailable", 0.3)
    metrics.record_queue_time(store.redis, 0.02)

    text = client.get("/metrics").text

    assert 'investigator_investigations_total{action="escalate"}' in text
    assert 'investigator_source_runs_total{source="stripe",status="unavailable"}' in text
    assert 'investigator_source_latency_seconds_bucket{le="0.5",source="stripe"}' in text
    assert "investigator_queue_time_seconds_count" in text

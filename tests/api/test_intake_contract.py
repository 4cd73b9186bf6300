"""Intake: bad signature, stale timestamp, oversized body, malformed JSON each get their status
and create nothing; Redis or the broker down answers 503 and leaves nothing half-written."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from investigator.api import create_app
from investigator.intake.zendesk import sign
from investigator.store import Store
from tests.api.conftest import Broker
from tests.integration.conftest import SECRET, api_settings, free_port, signed_headers

RUN = uuid.uuid4().hex[:8]
T7001 = f"7001-{RUN}"
T7002 = f"7002-{RUN}"
T7003 = f"7003-{RUN}"
T7004 = f"7004-{RUN}"
T7005 = f"7005-{RUN}"
T7006 = f"7006-{RUN}"
T7007 = f"7007-{RUN}"
T7008 = f"7008-{RUN}"
T7009 = f"7009-{RUN}"


def zendesk_event(ticket_id: str, event_id: str | None = None, **detail: object) -> bytes:
    body = {
        "id": event_id or str(uuid.uuid4()),
        "type": "zen:event-type:ticket.created",
        "detail": {
            "id": ticket_id,
            "subject": "API rejecting our events",
            "description": "429s since 9am",
            "created_at": "2026-11-18T10:21:00Z",
            "organization_id": "8768538005044",
            "tags": ["api"],
            **detail,
        },
    }
    return json.dumps(body).encode()


def nothing_created(store: Store, broker: Broker, ticket_id: str) -> bool:
    return (
        store.for_ticket("zendesk", ticket_id) == []
        and broker.sent == []
        and not list(store.redis.scan_iter(f"investigator:ticket:zendesk:{ticket_id}"))
    )


def test_a_valid_delivery_is_persisted_queued_and_answered_202(
    client: TestClient, store: Store, broker: Broker
) -> None:
    body = zendesk_event(T7001)
    response = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))

    assert response.status_code == 202
    inv_id = response.json()["investigation_id"]
    assert broker.sent == [inv_id]
    record = store.get(inv_id)
    assert record is not None and record.status.value == "queued" and record.ticket_id == T7001


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        (
            {
                "X-Zendesk-Webhook-Signature": "d3Jvbmc=",
                "X-Zendesk-Webhook-Signature-Timestamp": "2026-11-18T10:21:00Z",
            },
            "does not match",
        ),
        ({}, "missing header"),
    ],
    ids=["wrong-signature", "missing-signature"],
)
def test_a_bad_or_missing_signature_is_refused_401_and_creates_nothing(
    client: TestClient, store: Store, broker: Broker, headers: dict[str, str], detail: str
) -> None:
    ticket_id = str(uuid.uuid4().int % 10**8)
    response = client.post("/webhooks/zendesk", content=zendesk_event(ticket_id), headers=headers)

    assert response.status_code == 401
    assert detail in response.json()["detail"]
    assert nothing_created(store, broker, ticket_id)


def test_a_body_signed_with_another_secret_is_refused_401(client: TestClient, store: Store, broker: Broker) -> None:
    body = zendesk_event(T7002)
    response = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body, secret="not-" + SECRET))
    assert response.status_code == 401
    assert nothing_created(store, broker, T7002)


def test_a_stale_timestamp_is_refused_401_even_with_a_valid_signature(
    client: TestClient, store: Store, broker: Broker
) -> None:
    body = zendesk_event(T7003)
    old = datetime.now(UTC) - timedelta(minutes=6)
    response = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body, at=old))

    assert response.status_code == 401
    assert "tolerance" in response.json()["detail"]
    assert nothing_created(store, broker, T7003)


def test_an_oversized_body_is_refused_413_and_creates_nothing(client: TestClient, store: Store, broker: Broker) -> None:
    body = zendesk_event(T7004, description="x" * (256 * 1024))
    response = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))

    assert response.status_code == 413
    assert nothing_created(store, broker, T7004)


def test_an_oversized_chunked_body_without_content_length_is_refused_413(
    client: TestClient, store: Store, broker: Broker
) -> None:
    chunks = (b"x" * 65536 for _ in range(6))  # a generator: sent chunked, no Content-Length
    response = client.post("/webhooks/zendesk", content=chunks, headers=signed_headers(b""))
    assert response.status_code == 413
    assert broker.sent == []


def test_malformed_json_is_refused_400_and_creates_nothing(client: TestClient, store: Store, broker: Broker) -> None:
    body = b'{"id": "x", "detail": {"id": "7005"'
    response = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert nothing_created(store, broker, T7005)


def test_a_json_body_of_an_unknown_shape_is_refused_422_with_a_clear_message(
    client: TestClient, store: Store, broker: Broker
) -> None:
    body = json.dumps({"ticket": {"id": 7006}}).encode()
    response = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))

    assert response.status_code == 422
    assert "event-subscription payload" in response.json()["detail"]
    assert nothing_created(store, broker, T7006)


def test_a_non_ticket_event_is_acknowledged_and_ignored(client: TestClient, broker: Broker) -> None:
    body = json.dumps({"id": "e1", "type": "zen:event-type:user.created", "detail": {}}).encode()
    response = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))
    assert response.status_code == 202 and response.json()["status"] == "ignored"
    assert broker.sent == []


def test_an_unknown_helpdesk_path_is_404(client: TestClient) -> None:
    assert client.post("/webhooks/freshdesk", content=b"{}").status_code == 404


def test_redis_down_answers_503_so_the_helpdesk_retries(broker: Broker) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = api_settings(redis_url=dead)
    client = TestClient(create_app(settings, store=Store.from_url(dead, socket_timeout_s=0.5), enqueue=broker))
    body = zendesk_event(T7007)

    response = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert broker.sent == []
    assert client.get("/healthz").status_code == 503


def test_a_broker_failure_undoes_the_intake_so_the_retry_is_accepted(
    client: TestClient, store: Store, broker: Broker
) -> None:
    body = zendesk_event(T7008, event_id=str(uuid.uuid4()))
    broker.fail = True
    refused = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))

    assert refused.status_code == 503
    assert store.for_ticket("zendesk", T7008) == []

    broker.fail = False
    retried = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))
    assert retried.status_code == 202 and retried.json()["status"] == "queued"
    assert broker.sent == [retried.json()["investigation_id"]]
    assert len(store.for_ticket("zendesk", T7008)) == 1


def test_a_missing_secret_refuses_every_delivery(store: Store, broker: Broker) -> None:
    client = TestClient(create_app(api_settings(zendesk_webhook_secret=None), store=store, enqueue=broker))
    body = zendesk_event(T7009)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {"X-Zendesk-Webhook-Signature": sign("", stamp, body), "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    assert client.post("/webhooks/zendesk", content=body, headers=headers).status_code == 401
    assert broker.sent == []


def test_the_generic_webhook_uses_its_own_secret(store: Store, broker: Broker) -> None:
    from investigator.intake.generic import sign as generic_sign

    client = TestClient(
        create_app(api_settings(generic_webhook_secret=SecretStr("g-secret")), store=store, enqueue=broker)
    )
    body = json.dumps(
        {
            "id": "T-9",
            "event": "ticket.created",
            "subject": "s",
            "tenant_id": "acme",
            "created_at": "2026-11-20T14:52:00Z",
        }
    ).encode()
    stamp = str(int(datetime.now(UTC).timestamp()))
    headers = {"X-Investigator-Timestamp": stamp, "X-Investigator-Signature": generic_sign("g-secret", stamp, body)}
    response = client.post("/webhooks/generic", content=body, headers=headers)
    assert response.status_code == 202
    assert store.get(response.json()["investigation_id"]).ticket.tenant_id == "acme"  # type: ignore[union-attr]

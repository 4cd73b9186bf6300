"""The default intake path: one atomic Redis step (dedupe, record, index, outbox, metric), relayed to Celery."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from investigator import metrics
from investigator.api import create_app
from investigator.models import Ticket
from investigator.store import Record, Status, Store
from tasks.relay import OutboxRelay
from tests.api.test_intake_contract import zendesk_event
from tests.integration.conftest import api_settings, free_port, signed_headers


def record(ticket_id: str, event_id: str) -> Record:
    now = datetime.now(UTC)
    ticket = Ticket(helpdesk="zendesk", id=ticket_id, subject="s", created_at=now)
    return Record(
        id=f"inv_{uuid.uuid4().hex[:12]}", status=Status.QUEUED, helpdesk="zendesk", ticket_id=ticket_id,
        event_id=event_id, event_type="ticket.created", ticket=ticket, created_at=now,
    )  # fmt: skip


def outbox_ids(store: Store) -> list[str]:
    return [str(i) for i in store.redis.zrange(store.outbox, 0, -1)]


def test_the_same_delivery_accepted_concurrently_writes_one_record_and_one_outbox_entry(store: Store) -> None:
    ticket, event = f"T-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    candidates = [record(ticket, event) for _ in range(8)]
    results: list[str | None] = []
    barrier = threading.Barrier(len(candidates))

    def accept(r: Record) -> None:
        barrier.wait()
        results.append(store.accept_delivery(r, 60, metrics_key=metrics.webhooks_key()))

    threads = [threading.Thread(target=accept, args=(r,)) for r in candidates]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = [r.id for r in store.for_ticket("zendesk", ticket)]
    assert len(stored) == 1 and stored[0] in {r.id for r in candidates}
    assert results.count(None) == 1 and set(results) - {None} == set(stored)
    assert stored[0] in outbox_ids(store)
    assert not {r.id for r in candidates} - set(stored) & set(outbox_ids(store))


def test_a_new_delivery_for_the_same_ticket_links_the_previous_investigation(store: Store) -> None:
    ticket = f"T-{uuid.uuid4().hex[:8]}"
    first, second = record(ticket, str(uuid.uuid4())), record(ticket, str(uuid.uuid4()))
    assert store.accept_delivery(first, 60, metrics_key=metrics.webhooks_key()) is None
    assert store.accept_delivery(second, 60, metrics_key=metrics.webhooks_key()) is None
    stored = store.get(second.id)
    assert stored is not None and stored.previous_id == first.id


def test_the_relay_hands_each_entry_over_once_and_empties_the_outbox(store: Store) -> None:
    store.redis.delete(store.outbox)
    ids = [r.id for r in (record("T-r", str(uuid.uuid4())) for _ in range(5))]
    for inv_id in ids:
        store.redis.zadd(store.outbox, {inv_id: 0})
    published: list[str] = []
    relays = [OutboxRelay(store, published.append, batch=2) for _ in range(2)]
    while store.outbox_size():
        for relay in relays:
            relay.relay_once()
    assert sorted(published) == sorted(ids)


def test_an_entry_whose_relay_died_before_handing_it_over_is_handed_over_after_the_lease(store: Store) -> None:
    store.redis.delete(store.outbox)
    store.redis.zadd(store.outbox, {"inv_orphan": 0})

    def crash(inv_id: str) -> None:
        raise ConnectionError("broker went away mid-publish")

    dying = OutboxRelay(store, crash, lease_s=0.2)
    with pytest.raises(ConnectionError):
        dying.relay_once()
    published: list[str] = []
    survivor = OutboxRelay(store, published.append, lease_s=0.2)
    assert survivor.relay_once() == 0  # still leased by the dead relay
    threading.Event().wait(0.3)
    assert survivor.relay_once() == 1 and published == ["inv_orphan"]
    assert store.outbox_size() == 0


def test_the_default_intake_answers_202_from_the_outbox_and_counts_it(store: Store) -> None:
    client = TestClient(create_app(api_settings(), store=store))
    ticket = f"T-{uuid.uuid4().hex[:8]}"
    body = zendesk_event(ticket)
    before = int(store.redis.hget(metrics.webhooks_key(), "zendesk|accepted") or 0)
    first = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))
    again = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))
    assert first.status_code == again.status_code == 202
    assert first.json()["status"] == "queued" and again.json()["status"] == "duplicate"
    assert again.json()["investigation_id"] == first.json()["investigation_id"]
    assert first.json()["investigation_id"] in outbox_ids(store)
    assert int(store.redis.hget(metrics.webhooks_key(), "zendesk|accepted") or 0) == before + 1


def test_the_default_intake_answers_503_and_writes_nothing_when_redis_is_down() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    client = TestClient(create_app(api_settings(redis_url=dead), store=Store.from_url(dead, socket_timeout_s=0.5)))
    body = zendesk_event(f"T-{uuid.uuid4().hex[:8]}")
    response = client.post("/webhooks/zendesk", content=body, headers=signed_headers(body))
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"

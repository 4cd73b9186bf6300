"""A signed Zendesk webhook becomes a finished investigation, delivered once, via a real worker."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from investigator.store import Store
from tests.integration.conftest import Tickets, Worker, signed_headers, wait_delivered
from tests.integration.fake_sources import calls, control


def post(api: TestClient, body: bytes) -> dict:  # type: ignore[type-arg]
    response = api.post("/webhooks/zendesk", content=body, headers=signed_headers(body))
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def test_signed_zendesk_webhook_becomes_a_delivered_investigation_with_one_note(
    api: TestClient, store: Store, tickets: Tickets, worker: Worker
) -> None:
    ticket_id = tickets.new()
    answer = post(api, tickets.event(ticket_id))

    record = wait_delivered(store, answer["investigation_id"])

    assert answer["status"] == "queued"
    assert answer["url"] == f"http://investigator.test/investigations/{answer['investigation_id']}"
    assert record.status.value == "delivered"
    assert record.finalized_by == "chord"
    packet = record.packet
    assert packet is not None and packet.recommendation is not None
    assert packet.ticket.tenant_id is not None, "the helpdesk source resolved the tenant before the fan-out"
    assert {r.source: r.status.value for r in packet.reports}["helpdesk"] == "ok"
    assert sorted(calls(control(), ticket_id)) == ["clickhouse", "github", "linear", "stripe"]
    notes = tickets.notes(ticket_id)
    assert len(notes) == 1
    assert notes[0]["public"] is False
    assert f"Investigation {answer['investigation_id']}" in notes[0]["body"]
    assert "/page?sig=" in notes[0]["html_body"]
    assert [d["kind"] for d in packet.deliveries] == ["note", "escalation"]


def test_the_same_delivery_sent_twice_concurrently_yields_one_investigation(
    api: TestClient, store: Store, tickets: Tickets, worker: Worker
) -> None:
    ticket_id = tickets.new()
    body = tickets.event(ticket_id)
    answers: list[dict] = []  # type: ignore[type-arg]
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        answers.append(post(api, body))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    ids = {a["investigation_id"] for a in answers}
    assert len(answers) == 4 and len(ids) == 1
    assert sorted(a["status"] for a in answers) == ["duplicate", "duplicate", "duplicate", "queued"]
    wait_delivered(store, ids.pop())
    assert len(store.for_ticket("zendesk", ticket_id)) == 1
    assert len(tickets.notes(ticket_id)) == 1
    assert sorted(calls(control(), ticket_id)) == ["clickhouse", "github", "linear", "stripe"]


def test_a_customer_reply_starts_a_new_investigation_whose_note_says_what_changed(
    api: TestClient, store: Store, tickets: Tickets, worker: Worker
) -> None:
    ticket_id = tickets.new()
    first = post(api, tickets.event(ticket_id))
    wait_delivered(store, first["investigation_id"])

    second = post(api, tickets.event(ticket_id, event="ticket.updated"))
    record = wait_delivered(store, second["investigation_id"])

    assert second["investigation_id"] != first["investigation_id"]
    assert record.previous_id == first["investigation_id"]
    notes = tickets.notes(ticket_id)
    assert len(notes) == 2
    assert "What changed since the last investigation" in notes[1]["body"]
    assert "What changed" not in notes[0]["body"]
    listed = api.get(
        f"/tickets/zendesk/{ticket_id}/investigations",
        headers={"Authorization": "Bearer read-api-test-token-0123456789"},
    ).json()
    assert [i["id"] for i in listed["investigations"]] == [second["investigation_id"], first["investigation_id"]]

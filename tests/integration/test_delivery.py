"""Delivery through the real worker: one note when the helpdesk timed out after writing, retries
that honour Retry-After, one Linear issue per escalation however often it is delivered, and no
personal data in anything sent to Linear."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from investigator.models import Citation, Finding, Requester
from investigator.sandbox.linear_standin import LinearStandIn
from investigator.sandbox.standin import FaultKind
from investigator.sandbox.zendesk_standin import ZendeskStandIn
from investigator.store import Status, Store
from tests.api.packets import escalated, packet, stored, ticket
from tests.integration.conftest import Tickets, Worker, wait_delivered, wait_for

PII = {
    "email": "dana.ops@acme-corp.test",
    "phone": "+1 415 555 0199",
    "card": "4242 4242 4242 4242",
    "api_key": "sk_live_51HxYzAbCdEfGh12345678",
}


def new_id() -> str:
    return f"inv_{uuid.uuid4().hex[:20]}"


def puts(zendesk: ZendeskStandIn, ticket_id: str) -> int:
    return sum(1 for c in zendesk.calls if c.method == "PUT" and f"/tickets/{ticket_id}.json" in c.path)


def redeliver(store: Store, producer: Any, inv_id: str) -> None:
    """What a redelivered or re-run delivery task sees: the packet decided, not yet marked delivered."""
    store.set_status(inv_id, Status.DECIDED)
    producer.send_task("investigator.deliver", args=[inv_id])


def test_a_delivery_retried_after_the_helpdesk_timed_out_but_wrote_leaves_one_note(
    store: Store, tickets: Tickets, zendesk: ZendeskStandIn, worker: Worker, producer: Any
) -> None:
    ticket_id = tickets.new()
    inv_id = new_id()
    stored(store, packet(inv_id, ticket(ticket_id)))
    zendesk.slow_writes_s = 2.5  # the write lands, the answer comes after the client's 1 s timeout
    try:
        producer.send_task("investigator.deliver", args=[inv_id])
        first = wait_delivered(store, inv_id)
    finally:
        zendesk.slow_writes_s = 0.0
    redeliver(store, producer, inv_id)
    wait_for(lambda: store.get(inv_id).status is Status.DELIVERED, 20, "the redelivery")  # type: ignore[union-attr]

    assert len(tickets.notes(ticket_id)) == 1
    assert puts(zendesk, ticket_id) == 1
    note = next(d for d in first.packet.deliveries if d["kind"] == "note")  # type: ignore[union-attr]
    assert note["status"] == "delivered" and note["comment_found"] is True and note["created"] is True


def test_a_rate_limited_delivery_is_retried_after_the_upstreams_retry_after(
    store: Store, tickets: Tickets, zendesk: ZendeskStandIn, worker: Worker, producer: Any
) -> None:
    ticket_id = tickets.new()
    inv_id = new_id()
    stored(store, packet(inv_id, ticket(ticket_id)))
    calls_before = len(zendesk.calls)
    zendesk.injection.fault = FaultKind.RATE_LIMIT
    try:
        producer.send_task("investigator.deliver", args=[inv_id])
        wait_for(
            lambda: "investigator.deliver[" in worker.log_path.read_text() and _retried(worker, inv_id),
            30,
            "the delivery task to schedule a retry",
        )
    finally:
        zendesk.injection.fault = None
    record = wait_delivered(store, inv_id)

    assert len(zendesk.calls) - calls_before >= 3  # the client's bounded read retries, then the task's
    assert record.status is Status.DELIVERED
    assert len(tickets.notes(ticket_id)) == 1


def _retried(worker: Worker, inv_id: str) -> bool:
    return any(
        "Retry in" in line and "investigator.deliver" in line for line in worker.log_path.read_text().splitlines()
    )


def test_a_redelivered_escalation_leaves_one_linear_issue_without_personal_data(
    store: Store, tickets: Tickets, linear: LinearStandIn, worker: Worker, producer: Any
) -> None:
    ticket_id = tickets.new()
    inv_id = new_id()
    leaky = Finding(
        source="clickhouse",
        kind="telemetry_summary",
        summary=f"errors for {PII['email']} calling from {PII['phone']}",
        detail=f"card {PII['card']} used with key {PII['api_key']}",
        citations=[Citation(label=f"request by {PII['email']}", object_id=PII["api_key"])],
    )
    t = ticket(
        ticket_id,
        subject=f"Charge failed for {PII['email']} card {PII['card']}",
        description=f"call me at {PII['phone']}, key {PII['api_key']}",
        requester=Requester(email=PII["email"], name="Dana Ops"),
    )
    stored(store, escalated(packet(inv_id, t, [leaky])))
    creates_before = linear.operations("issueCreate")
    bodies_before = len(linear.calls)

    barrier = threading.Barrier(3)

    def send() -> None:
        barrier.wait()
        producer.send_task("investigator.deliver", args=[inv_id])

    senders = [threading.Thread(target=send) for _ in range(3)]
    for s in senders:
        s.start()
    for s in senders:
        s.join()
    first = wait_delivered(store, inv_id)
    redeliver(store, producer, inv_id)
    wait_for(lambda: store.get(inv_id).status is Status.DELIVERED, 20, "the redelivery")  # type: ignore[union-attr]

    issues = [r for r in linear.recorded if r["kind"] == "linear.issueCreate" and r["input"]["id"]]
    mine = [r for r in issues if "Charge failed" in r["input"]["title"]]
    assert len(mine) == 1
    assert linear.operations("issueCreate") - creates_before == 1
    escalation = next(d for d in first.packet.deliveries if d["kind"] == "escalation")  # type: ignore[union-attr]
    assert escalation["status"] == "created"
    sent = b"".join(c.body for c in linear.calls[bodies_before:]).decode()
    decoded = json.dumps([json.loads(c.body) for c in linear.calls[bodies_before:] if c.body])
    for kind, value in PII.items():
        assert value not in sent and value not in decoded, f"{kind} reached Linear"
    assert "Dana" not in decoded
    assert "[email]" in mine[0]["input"]["description"] and "[card]" in mine[0]["input"]["title"]
    assert len(tickets.notes(ticket_id)) == 1

"""The watchdog finalises an investigation whose fan-out never completed, exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from investigator.store import Record, Status, Store
from tests.integration.conftest import Tickets, Worker, wait_delivered, wait_for


def test_the_watchdog_finalises_a_lost_fan_out_once_and_a_late_chord_body_does_nothing(
    store: Store, tickets: Tickets, worker: Worker, producer: Any
) -> None:
    from investigator.intake import ADAPTERS

    ticket_id = tickets.new()
    event = ADAPTERS["zendesk"].parse(tickets.event(ticket_id))
    inv_id = f"inv_{uuid.uuid4().hex[:20]}"
    store.create(
        Record(
            id=inv_id,
            status=Status.QUEUED,
            helpdesk="zendesk",
            ticket_id=ticket_id,
            event_id=event.event_id,
            event_type=event.event_type,
            ticket=event.ticket,
            created_at=datetime.now(UTC),
        )
    )
    store.mark_started(inv_id)  # started, but its chord was lost: no source ever reported

    producer.send_task("investigator.watchdog", args=[inv_id])
    producer.send_task("investigator.watchdog", args=[inv_id])  # a redelivered watchdog
    record = wait_delivered(store, inv_id)
    late = producer.send_task("investigator.assemble", args=[[], inv_id])

    assert late.get(timeout=20) == "finalised by watchdog"
    assert record.finalized_by == "watchdog"
    assert record.packet is not None
    assert {r.status.value for r in record.packet.reports} == {"unavailable"}
    assert all("no report before the deadline" in (r.reason or "") for r in record.packet.reports)
    assert len(tickets.notes(ticket_id)) == 1
    assert store.get(inv_id).finalized_by == "watchdog"  # type: ignore[union-attr]
    wait_for(lambda: store.get(inv_id).status is Status.DELIVERED, 5, "status to stay delivered")  # type: ignore[union-attr]

"""Each source failing in turn (exception, hang past its deadline, 429): the chord still completes
once, with that source unavailable or error, and the note is delivered once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from investigator.store import Store
from tests.integration.conftest import Tickets, Worker, signed_headers, wait_delivered
from tests.integration.fake_sources import calls, control, set_mode

EXPECTED = {"raise": "error", "hang": "unavailable", "429": "unavailable"}


@pytest.mark.parametrize("source", ["clickhouse", "linear", "stripe", "github"])
@pytest.mark.parametrize("mode", ["raise", "hang", "429"])
def test_a_failing_source_leaves_one_packet_with_that_source_marked_failed(
    api: TestClient, store: Store, tickets: Tickets, worker: Worker, source: str, mode: str
) -> None:
    ticket_id = tickets.new()
    set_mode(control(), ticket_id, source, mode)
    body = tickets.event(ticket_id)

    inv_id = api.post("/webhooks/zendesk", content=body, headers=signed_headers(body)).json()["investigation_id"]
    record = wait_delivered(store, inv_id)

    assert record.finalized_by == "chord"
    assert record.packet is not None
    statuses = {r.source: r.status.value for r in record.packet.reports}
    assert statuses[source] == EXPECTED[mode]
    assert all(status in ("ok", "no_data") for name, status in statuses.items() if name != source)
    assert sorted(calls(control(), ticket_id)) == ["clickhouse", "github", "linear", "stripe"]
    assert len(tickets.notes(ticket_id)) == 1
    assert store.claimed(inv_id, "finalize") == "chord"
    if mode == "hang":
        assert "deadline" in (record.packet.report(source).reason or "")  # type: ignore[union-attr]

"""The private-note writer: idempotent by a visible marker, writes never blindly retried."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from zendesk_fixtures import BASE, SHARED, make_settings, scenario

from connectors.helpdesk.writer import ZendeskNoteWriter, has_marker, marker
from investigator.errors import RateLimitedError, SourceTimeoutError
from investigator.retry import RetryPolicy
from investigator.sandbox.zendesk_standin import ZendeskStandIn

CONTRACT_REQUEST = Path(SHARED / "contracts" / "helpdesk" / "zendesk_private_comment_request.json")


def empty_thread() -> dict[str, object]:
    return {"comments": [], "users": [], "meta": {"has_more": False}, "links": {"next": None}}


def test_the_write_is_a_private_comment_shaped_like_the_contract_request() -> None:
    contract = json.loads(CONTRACT_REQUEST.read_text())
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        router.get("/api/v2/tickets/47820/comments.json").respond(200, json=empty_thread())
        put = router.put("/api/v2/tickets/47820.json").respond(200, json={"ticket": {"id": 47820}, "audit": {}})
        result = ZendeskNoteWriter(make_settings()).post_private_note(
            ticket_id="47820", html_body="<p>Evidence</p>", idempotency_key="inv-42"
        )
    assert result == {"comment_found": False, "created": True}
    sent = json.loads(put.calls.last.request.content)
    assert sent.keys() == contract.keys() and sent["ticket"].keys() == contract["ticket"].keys()
    assert sent["ticket"]["comment"]["public"] is False is contract["ticket"]["comment"]["public"]
    assert "Investigation inv-42" in sent["ticket"]["comment"]["html_body"]
    assert put.calls.last.request.method == "PUT"


def test_write_that_lands_but_times_out_is_confirmed_by_reading_and_a_retry_adds_nothing() -> None:
    sc = scenario("cross-tenant-data-exposure")
    with ZendeskStandIn(sc.ticket.zendesk) as standin:
        standin.slow_writes_s = 5.0  # the note is stored, the answer never arrives in time
        settings = standin.connector_settings().model_copy(update={"timeout_s": 0.5})
        writer = ZendeskNoteWriter(settings, retry=RetryPolicy(max_attempts=2, sleep=lambda _s: None))
        first = writer.post_private_note(ticket_id="47820", html_body="<p>Packet</p>", idempotency_key="inv-7")
        standin.slow_writes_s = 0.0
        second = writer.post_private_note(ticket_id="47820", html_body="<p>Packet</p>", idempotency_key="inv-7")
        writer.close()
        puts = [c for c in standin.calls if c.method == "PUT"]
        notes = [r for r in standin.recorded if r["kind"] == "zendesk.note"]
    assert first == {"comment_found": True, "created": True}
    assert second == {"comment_found": True, "created": False}
    assert len(puts) == 1
    assert len(notes) == 1 and notes[0]["public"] is False
    assert "Investigation inv-7" in notes[0]["html_body"]


def test_a_write_whose_outcome_stays_unknown_raises_and_is_not_retried() -> None:
    sleeps: list[float] = []
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        reads = router.get("/api/v2/tickets/47820/comments.json").respond(200, json=empty_thread())
        put = router.put("/api/v2/tickets/47820.json").mock(side_effect=httpx.ReadTimeout("lost"))
        writer = ZendeskNoteWriter(make_settings(), retry=RetryPolicy(max_attempts=3, sleep=sleeps.append))
        with pytest.raises(SourceTimeoutError):
            writer.post_private_note(ticket_id="47820", html_body="<p>x</p>", idempotency_key="inv-9")
    assert put.call_count == 1
    assert reads.call_count == 2  # before the write, and to check after the lost answer
    assert sleeps == []


def test_a_rate_limited_write_is_refused_without_retry_or_recheck() -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        reads = router.get("/api/v2/tickets/47820/comments.json").respond(200, json=empty_thread())
        put = router.put("/api/v2/tickets/47820.json").respond(429, headers={"Retry-After": "30"})
        with pytest.raises(RateLimitedError) as raised:
            ZendeskNoteWriter(make_settings()).post_private_note(
                ticket_id="47820", html_body="<p>x</p>", idempotency_key="inv-9"
            )
    assert raised.value.retry_after == 30.0
    assert (put.call_count, reads.call_count) == (1, 1)


def test_an_existing_note_is_found_on_a_later_page_and_nothing_is_written() -> None:
    page_one = {
        "comments": [{"id": 1, "body": "hello", "public": True}],
        "meta": {"has_more": True},
        "links": {"next": f"{BASE}/api/v2/tickets/5/comments.json?page%5Bafter%5D=c2"},
    }
    page_two = {
        "comments": [{"id": 2, "body": "Packet\nInvestigation inv-3", "public": False}],
        "meta": {"has_more": False},
        "links": {"next": None},
    }
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        reads = router.get("/api/v2/tickets/5/comments.json")
        reads.side_effect = [httpx.Response(200, json=page_one), httpx.Response(200, json=page_two)]
        put = router.put("/api/v2/tickets/5.json").respond(200, json={})
        result = ZendeskNoteWriter(make_settings()).post_private_note(
            ticket_id="5", html_body="<p>Packet</p>", idempotency_key="inv-3"
        )
    assert result == {"comment_found": True, "created": False}
    assert put.call_count == 0 and reads.call_count == 2


def test_marker_of_one_key_does_not_match_a_longer_key() -> None:
    assert marker("inv-1") == "Investigation inv-1"
    assert has_marker({"body": "x\nInvestigation inv-1"}, "inv-1")
    assert not has_marker({"body": "x\nInvestigation inv-12"}, "inv-1")
    assert has_marker({"html_body": "<p>Investigation a&amp;b</p>"}, "a&b")


def test_a_first_attempt_writes_without_reading_and_a_retry_reads_first() -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        comments = router.get("/api/v2/tickets/47820/comments.json").respond(200, json=empty_thread())
        router.put("/api/v2/tickets/47820.json").respond(200, json={"ticket": {"id": 47820}, "audit": {}})
        writer = ZendeskNoteWriter(make_settings())
        writer.post_private_note(ticket_id="47820", html_body="<p>x</p>", idempotency_key="inv-1", first_attempt=True)
        assert comments.call_count == 0
        writer.post_private_note(ticket_id="47820", html_body="<p>x</p>", idempotency_key="inv-1")
        assert comments.call_count == 1

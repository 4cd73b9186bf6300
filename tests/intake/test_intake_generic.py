"""The generic signed webhook: signature over timestamp + raw body, RFC 3339 or Unix time, strict body."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from investigator.intake import ADAPTERS, GenericAdapter, MalformedPayloadError, SignatureError, StaleTimestampError
from investigator.intake.generic import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

SECRET = "generic-secret"
NOW = datetime(2026, 11, 20, 14, 52, 30, tzinfo=UTC)
BODY = {
    "id": "T-1042",
    "event": "ticket.created",
    "subject": "Webhooks missing since this morning",
    "description": "free text from the customer",
    "requester": {"email": "ops@acme.test", "name": "Dana Ops"},
    "tenant_id": "acme",
    "priority": "Normal",
    "tags": ["webhooks"],
    "created_at": "2026-11-20T14:52:00Z",
    "url": "https://help.example.test/tickets/T-1042",
}
adapter = GenericAdapter()


def signed(body: bytes, timestamp: str) -> dict[str, str]:
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(SECRET, timestamp, body)}


@pytest.mark.parametrize(
    "timestamp", ["2026-11-20T14:52:10Z", "2026-11-20T15:52:10+01:00", str(int(NOW.timestamp()) - 20)]
)
def test_rfc3339_and_unix_timestamps_verify(timestamp: str) -> None:
    raw = json.dumps(BODY).encode()
    adapter.verify(signed(raw, timestamp), raw, SECRET, now=NOW)


def test_wrong_missing_and_stale_signatures_are_refused() -> None:
    raw = json.dumps(BODY).encode()
    headers = signed(raw, "2026-11-20T14:52:10Z")
    with pytest.raises(SignatureError, match="does not match"):
        adapter.verify(headers, raw + b" ", SECRET, now=NOW)
    with pytest.raises(SignatureError, match="missing header X-Investigator-Signature"):
        adapter.verify({TIMESTAMP_HEADER: headers[TIMESTAMP_HEADER]}, raw, SECRET, now=NOW)
    with pytest.raises(StaleTimestampError):
        adapter.verify(headers, raw, SECRET, now=NOW + timedelta(minutes=10))
    with pytest.raises(StaleTimestampError):
        adapter.verify(headers, raw, SECRET, now=NOW + timedelta(seconds=90), tolerance_s=60)


def test_the_format_md_example_parses_with_the_tenant_from_the_body() -> None:
    event = ADAPTERS["generic"].parse(json.dumps(BODY).encode())
    assert (event.helpdesk, event.event_type, event.event_id) == ("generic", "ticket.created", "T-1042:ticket.created")
    ticket = event.ticket
    assert ticket.tenant_id == "acme" and ticket.priority == "normal"
    assert ticket.requester.email == "ops@acme.test" and ticket.url == BODY["url"]
    assert ticket.created_at == datetime(2026, 11, 20, 14, 52, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**BODY, "tenant": "acme"}, "tenant: Extra inputs are not permitted"),
        ({k: v for k, v in BODY.items() if k != "created_at"}, "created_at: Field required"),
        ({**BODY, "id": ""}, "id: String should have at least 1 character"),
        ({**BODY, "tags": "webhooks"}, "tags"),
    ],
)
def test_the_body_is_validated_strictly_with_clear_messages(body: dict[str, object], message: str) -> None:
    with pytest.raises(MalformedPayloadError, match=message):
        adapter.parse(json.dumps(body).encode())


def test_non_json_is_malformed() -> None:
    with pytest.raises(MalformedPayloadError, match="not valid JSON"):
        adapter.parse(b"id=T-1&event=ticket.created")

"""Zendesk webhook intake: the contract's test vectors, signatures, staleness, payload shapes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from investigator.intake import ADAPTERS, MalformedPayloadError, SignatureError, StaleTimestampError
from investigator.intake.base import UnsupportedEventError
from investigator.intake.zendesk import SIGNATURE_HEADER, TIMESTAMP_HEADER, ZendeskAdapter, sign

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CONTRACTS = SHARED / "contracts" / "helpdesk"
VECTORS = json.loads((CONTRACTS / "zendesk_signature_test_vectors.json").read_text())
SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
adapter = ZendeskAdapter()


def headers_for(body: bytes, timestamp: str = "2026-11-26T17:22:01Z", secret: str = SECRET) -> dict[str, str]:
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


def test_the_current_formula_vector_verifies_over_the_raw_body() -> None:
    vector = VECTORS["current_formula"]
    raw = vector["raw_body"].encode()
    stamp = datetime(2021, 3, 25, 5, 9, 27, tzinfo=UTC)
    adapter.verify(vector["headers"], raw, vector["signing_secret"], now=stamp + timedelta(seconds=30))


def test_the_vector_fails_when_one_byte_of_the_body_changes_even_if_the_json_is_equal() -> None:
    vector = VECTORS["current_formula"]
    reserialised = json.dumps(json.loads(vector["raw_body"]), indent=1).encode()  # same JSON, other bytes
    now = datetime(2021, 3, 25, 5, 9, 30, tzinfo=UTC)
    with pytest.raises(SignatureError, match="does not match"):
        adapter.verify(vector["headers"], reserialised, vector["signing_secret"], now=now)


def test_the_legacy_doc_vector_is_body_plus_timestamp_and_is_refused() -> None:
    legacy = VECTORS["legacy_doc_vector"]
    raw, stamp = legacy["raw_body"].encode(), legacy["timestamp"]
    old_formula = base64.b64encode(
        hmac.new(legacy["signing_secret"].encode(), raw + stamp.encode(), hashlib.sha256).digest()
    ).decode()
    assert old_formula == legacy["signature"]  # what the older Zendesk page documented
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: legacy["signature"]}
    with pytest.raises(SignatureError):
        adapter.verify(headers, raw, legacy["signing_secret"], now=datetime(2021, 7, 25, 10, 0, 5, tzinfo=UTC))


def test_wrong_secret_and_missing_headers_are_signature_errors() -> None:
    body = b'{"type": "zen:event-type:ticket.created"}'
    now = datetime(2026, 11, 26, 17, 22, 30, tzinfo=UTC)
    with pytest.raises(SignatureError, match="does not match"):
        adapter.verify(headers_for(body, secret="other"), body, SECRET, now=now)
    with pytest.raises(SignatureError, match="missing header X-Zendesk-Webhook-Signature"):
        adapter.verify({TIMESTAMP_HEADER: "2026-11-26T17:22:01Z"}, body, SECRET, now=now)
    with pytest.raises(SignatureError, match="Timestamp"):
        adapter.verify({SIGNATURE_HEADER: "abc"}, body, SECRET, now=now)
    with pytest.raises(SignatureError, match="no webhook secret"):
        adapter.verify(headers_for(body), body, "", now=now)


def test_header_names_are_case_insensitive() -> None:
    body = b"{}"
    lowered = {k.lower(): v for k, v in headers_for(body).items()}
    adapter.verify(lowered, body, SECRET, now=datetime(2026, 11, 26, 17, 22, 1, tzinfo=UTC))


@pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(seconds=-301), timedelta(days=3)])
def test_a_validly_signed_but_stale_or_future_timestamp_is_refused(skew: timedelta) -> None:
    body = b"{}"
    sent = datetime(2026, 11, 26, 17, 22, 1, tzinfo=UTC)
    with pytest.raises(StaleTimestampError):
        adapter.verify(headers_for(body), body, SECRET, now=sent + skew)
    adapter.verify(headers_for(body), body, SECRET, now=sent + timedelta(seconds=299))


def test_an_unparseable_timestamp_is_a_signature_error() -> None:
    body = b"{}"
    with pytest.raises(SignatureError, match="RFC 3339"):
        adapter.verify(headers_for(body, timestamp="yesterday"), body, SECRET, now=datetime.now(UTC))


def test_the_contract_ticket_created_event_parses_into_a_ticket_without_tenant() -> None:
    raw = (CONTRACTS / "zendesk_event_ticket_created.json").read_bytes()
    event = ADAPTERS["zendesk"].parse(raw)
    assert event.helpdesk == "zendesk"
    assert event.event_id == "8f1c2a5e-3b7d-4c1e-9a2f-5d6e7f809a1b"
    assert event.event_type == "ticket.created"
    ticket = event.ticket
    assert (ticket.id, ticket.subject, ticket.priority) == ("35436", "Help, my printer is on fire!", "high")
    assert ticket.tags == ["enterprise", "billing"]
    assert ticket.organization_id == "10002" and ticket.tenant_id is None
    assert ticket.created_at == datetime(2099, 7, 4, 5, 33, 17, tzinfo=UTC)
    assert ticket.event_id == event.event_id and ticket.event == "ticket.created"


def test_a_scenario_webhook_parses_with_null_external_and_assignee_ids() -> None:
    scenario = yaml.safe_load((SHARED / "scenarios" / "tenant-rate-limited-429.yaml").read_text())
    event = adapter.parse(json.dumps(scenario["ticket"]["webhook"]).encode())
    assert event.ticket.id == "46911" and event.ticket.organization_id == "8768538005044"
    assert event.ticket.description.startswith("Starting this morning")


def test_a_user_event_is_unsupported_not_a_ticket() -> None:
    raw = (CONTRACTS / "zendesk_event_user_active_changed.json").read_bytes()
    with pytest.raises(UnsupportedEventError, match=r"user\.active_changed"):
        adapter.parse(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"type": "zen:event-type:ticket.created", "id": "x", "detail": {tru', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"ticket_id": "1", "subject": "trigger body"}', "not an event-subscription payload"),
        (b'{"type": "zen:event-type:ticket.created", "id": "x"}', "'detail'"),
        (b'{"type": "zen:event-type:ticket.created", "id": "x", "detail": {"subject": "s"}}', "detail.id"),
        (b'{"type": "zen:event-type:ticket.created", "id": "x", "detail": {"id": "1"}}', "created_at"),
    ],
)
def test_malformed_or_unknown_bodies_raise_a_clear_error(raw: bytes, message: str) -> None:
    with pytest.raises(MalformedPayloadError, match=message):
        adapter.parse(raw)

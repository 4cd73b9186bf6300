"""Intercom, Front and Help Scout adapters: their signature schemes and payload shapes; the registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from investigator.intake import (
    ADAPTERS,
    FrontAdapter,
    HelpScoutAdapter,
    IntercomAdapter,
    MalformedPayloadError,
    SignatureError,
    StaleTimestampError,
    UnsupportedEventError,
    WebhookAdapter,
    front,
    generic,
    helpscout,
    intercom,
)

CONTRACTS = Path(__file__).resolve().parents[2].parent / "shared" / "contracts" / "helpdesk"
SECRET = "s3cret"
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

INTERCOM_CONVERSATION = {
    "type": "notification_event",
    "id": "notif_1",
    "topic": "conversation.user.created",
    "app_id": "a86dr8yl",
    "data": {
        "type": "notification_event_data",
        "item": {
            "type": "conversation",
            "id": "147",
            "created_at": 1763650000,
            "source": {
                "subject": "",
                "body": "<p>Exports fail with 504</p><p>since 9am</p>",
                "author": {"type": "user", "email": "it@brightpath.test", "name": "Marcus"},
            },
            "tags": {"type": "tag.list", "tags": [{"type": "tag", "name": "exports"}]},
            "custom_attributes": {"tenant_id": "brightpath"},
        },
    },
}
FRONT_EVENT = {
    "id": "evt_55c8c149",
    "type": "inbound",
    "emitted_at": 1763650000.5,
    "conversation": {
        "id": "cnv_55c8c149",
        "subject": "Invoices look wrong",
        "status": "unassigned",
        "tags": [{"name": "billing"}],
        "recipient": {"handle": "ap@saltmarsh.test", "role": "from"},
        "created_at": 1763649000.1,
    },
    "target": {
        "_meta": {"type": "message"},
        "data": {
            "id": "msg_1",
            "text": "Please check invoice 42",
            "recipients": [{"handle": "ap@saltmarsh.test", "role": "from", "name": "AP Team"}],
        },
    },
}
HELPSCOUT_CONVERSATION = {
    "id": 2391938111,
    "number": 349,
    "subject": "Webhooks delayed",
    "preview": "Our webhooks arrive hours late",
    "status": "active",
    "createdAt": "2026-11-20T14:40:00Z",
    "userUpdatedAt": "2026-11-20T14:41:00Z",
    "primaryCustomer": {"email": "dev@larkspur.test", "first": "Priya", "last": "Raman"},
    "tags": [{"id": 1, "tag": "webhooks"}],
    "_embedded": {"threads": [{"type": "customer", "body": "<div>Our webhooks arrive hours late</div>"}]},
}


def test_the_registry_holds_one_adapter_per_signed_helpdesk_and_no_freshdesk() -> None:
    assert set(ADAPTERS) == {"generic", "zendesk", "intercom", "front", "helpscout"}
    assert all(isinstance(a, WebhookAdapter) and a.name == key for key, a in ADAPTERS.items())
    assert generic.__doc__ is not None and "Freshdesk" in generic.__doc__  # Freshdesk goes through generic


# --------------------------------------------------------------------------- Intercom
def test_intercom_hub_signature_verifies_and_mismatches_are_refused() -> None:
    raw = json.dumps(INTERCOM_CONVERSATION).encode()
    good = intercom.sign(SECRET, raw)
    assert good.startswith("sha1=") and len(good) == 45
    IntercomAdapter().verify({"X-Hub-Signature": good}, raw, SECRET, now=NOW)
    IntercomAdapter().verify({"x-hub-signature": good.upper().replace("SHA1=", "sha1=")}, raw, SECRET, now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        IntercomAdapter().verify({"X-Hub-Signature": good}, raw + b"\n", SECRET, now=NOW)
    with pytest.raises(SignatureError, match="sha1="):
        IntercomAdapter().verify({"X-Hub-Signature": good[5:]}, raw, SECRET, now=NOW)
    with pytest.raises(SignatureError, match="missing header"):
        IntercomAdapter().verify({}, raw, SECRET, now=NOW)


def test_intercom_conversation_becomes_a_ticket_and_other_topics_are_unsupported() -> None:
    event = IntercomAdapter().parse(json.dumps(INTERCOM_CONVERSATION).encode())
    assert (event.event_id, event.event_type, event.helpdesk) == ("notif_1", "conversation.user.created", "intercom")
    assert event.ticket.description == "Exports fail with 504\n\nsince 9am"
    assert event.ticket.tenant_id == "brightpath" and event.ticket.tags == ["exports"]
    assert event.ticket.requester.email == "it@brightpath.test"
    assert event.ticket.created_at == datetime.fromtimestamp(1763650000, tz=UTC)
    with pytest.raises(UnsupportedEventError, match=r"user\.created"):
        IntercomAdapter().parse((CONTRACTS / "intercom_signed_notification_example.json").read_bytes())
    with pytest.raises(MalformedPayloadError, match="notification_event"):
        IntercomAdapter().parse(b'{"id": "x"}')
    with pytest.raises(MalformedPayloadError, match="not valid JSON"):
        IntercomAdapter().parse(b"{")


# --------------------------------------------------------------------------- Front
def test_front_rule_webhook_signature_is_base64_hmac_sha1_over_the_body() -> None:
    raw = json.dumps(FRONT_EVENT).encode()
    FrontAdapter().verify({"X-Front-Signature": front.sign_rule(SECRET, raw)}, raw, SECRET, now=NOW)
    with pytest.raises(SignatureError):
        FrontAdapter().verify({"X-Front-Signature": front.sign_rule("other", raw)}, raw, SECRET, now=NOW)
    with pytest.raises(SignatureError, match="missing header"):
        FrontAdapter().verify({}, raw, SECRET, now=NOW)


def test_front_app_webhook_signs_timestamp_colon_body_and_must_be_fresh() -> None:
    raw = json.dumps({"type": "inbound_received", "payload": FRONT_EVENT}).encode()
    stamp = str(int((NOW - timedelta(seconds=10)).timestamp() * 1000))
    headers = {"X-Front-Request-Timestamp": stamp, "X-Front-Signature": front.sign_app(SECRET, stamp, raw)}
    FrontAdapter().verify(headers, raw, SECRET, now=NOW)
    with pytest.raises(StaleTimestampError):
        FrontAdapter().verify(headers, raw, SECRET, now=NOW + timedelta(minutes=6))
    rule_signature = {"X-Front-Request-Timestamp": stamp, "X-Front-Signature": front.sign_rule(SECRET, raw)}
    with pytest.raises(SignatureError):
        FrontAdapter().verify(rule_signature, raw, SECRET, now=NOW)
    event = FrontAdapter().parse(raw)
    assert event.ticket.id == "cnv_55c8c149" and event.event_id == "evt_55c8c149"


def test_front_event_becomes_a_ticket_and_the_sync_challenge_is_unsupported() -> None:
    event = FrontAdapter().parse(json.dumps(FRONT_EVENT).encode())
    assert (event.ticket.subject, event.ticket.description) == ("Invoices look wrong", "Please check invoice 42")
    assert event.ticket.requester.name == "AP Team" and event.ticket.tags == ["billing"]
    with pytest.raises(UnsupportedEventError, match="X-Front-Challenge"):
        FrontAdapter().parse(b'{"type": "sync", "authorization": {"id": "cmp_1"}}')
    with pytest.raises(UnsupportedEventError, match="no conversation"):
        FrontAdapter().parse(b'{"id": "evt_1", "type": "teammate_login"}')
    with pytest.raises(MalformedPayloadError, match="'id' and 'type'"):
        FrontAdapter().parse(b'{"conversation": {}}')


# --------------------------------------------------------------------------- Help Scout
def test_helpscout_signature_is_base64_hmac_sha1_over_the_body() -> None:
    raw = json.dumps(HELPSCOUT_CONVERSATION).encode()
    HelpScoutAdapter().verify({"X-HelpScout-Signature": helpscout.sign(SECRET, raw)}, raw, SECRET, now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        HelpScoutAdapter().verify({"X-HelpScout-Signature": helpscout.sign(SECRET, raw)}, raw[:-1], SECRET, now=NOW)
    with pytest.raises(SignatureError, match="missing header"):
        HelpScoutAdapter().verify({"X-HelpScout-Event": "convo.created"}, raw, SECRET, now=NOW)


def test_helpscout_conversation_reads_the_event_from_its_header() -> None:
    raw = json.dumps(HELPSCOUT_CONVERSATION).encode()
    event = HelpScoutAdapter().parse(raw, {"X-HelpScout-Event": "convo.customer.reply.created"})
    assert event.event_type == "convo.customer.reply.created"
    assert event.event_id == "2391938111:convo.customer.reply.created:2026-11-20T14:41:00Z"
    assert event.ticket.requester.name == "Priya Raman" and event.ticket.tags == ["webhooks"]
    assert event.ticket.description == "Our webhooks arrive hours late"
    with pytest.raises(UnsupportedEventError):
        HelpScoutAdapter().parse(raw, {"X-HelpScout-Event": "customer.created"})
    with pytest.raises(MalformedPayloadError, match="createdAt"):
        HelpScoutAdapter().parse(b'{"id": 1}', {"X-HelpScout-Event": "convo.created"})

"""Front webhooks (``contracts/helpdesk/WEBHOOKS.md`` section 3).

Two schemes, chosen by the headers present:

* application webhooks / channel API: ``X-Front-Request-Timestamp`` (milliseconds) and
  ``X-Front-Signature`` = ``base64(HMAC-SHA256(secret, timestamp + ":" + raw body))``; the
  timestamp must be fresh. (Partly verified: Front's page was cut; third-party guides agree.)
* rule webhooks: ``X-Front-Signature`` = ``base64(HMAC-SHA1(secret, raw body))``, no timestamp.

Dropping the timestamp header cannot downgrade an app delivery: the two schemes use
different digests over different messages. The body is a Front event (``id``, ``type``,
``conversation``, ``target``), wrapped in ``payload`` for application webhooks. Front's
validation request (``type: sync`` with ``X-Front-Challenge``) must be answered by the API
layer by echoing the challenge; :meth:`FrontAdapter.parse` reports it as unsupported.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from investigator.intake._text import epoch_or_iso, html_to_text, maybe_obj, obj
from investigator.intake.base import (
    IntakeEvent,
    MalformedPayloadError,
    UnsupportedEventError,
    WebhookAdapter,
    as_id,
    b64,
    check_fresh,
    header,
    hmac_digest,
    load_json_object,
    parse_timestamp,
    require_header,
    require_secret,
    signatures_match,
)
from investigator.models import Requester, Ticket

SIGNATURE_HEADER = "X-Front-Signature"
TIMESTAMP_HEADER = "X-Front-Request-Timestamp"


def sign_app(secret: str, timestamp_ms: str, raw_body: bytes) -> str:
    """Application-webhook signature: base64 HMAC-SHA256 over ``timestamp:body``."""
    return b64(hmac_digest(secret.encode("utf-8"), timestamp_ms.encode("utf-8") + b":" + raw_body, "sha256"))


def sign_rule(secret: str, raw_body: bytes) -> str:
    """Rule-webhook signature: base64 HMAC-SHA1 over the body."""
    return b64(hmac_digest(secret.encode("utf-8"), raw_body, "sha1"))


class FrontAdapter(WebhookAdapter):
    """Front rule and application webhooks about conversations."""

    name: ClassVar[str] = "front"

    def verify(
        self,
        headers: Mapping[str, str],
        raw_body: bytes,
        secret: str,
        now: datetime,
        tolerance_s: int = 300,
    ) -> None:
        """Check the signature of whichever scheme the headers announce; app deliveries must be fresh."""
        key = require_secret(secret, self.name)
        provided = require_header(headers, SIGNATURE_HEADER)
        timestamp = header(headers, TIMESTAMP_HEADER)
        if timestamp is None:
            signatures_match(b64(hmac_digest(key, raw_body, "sha1")), provided, self.name)
            return
        message = timestamp.encode("utf-8") + b":" + raw_body
        signatures_match(b64(hmac_digest(key, message, "sha256")), provided, self.name)
        check_fresh(parse_timestamp(timestamp, unix_unit_s=0.001), now, tolerance_s)

    def parse(self, raw_body: bytes, headers: Mapping[str, str] | None = None) -> IntakeEvent:
        """A Front event about a conversation -> ticket."""
        data = load_json_object(raw_body, self.name)
        if data.get("type") == "sync":
            raise UnsupportedEventError("front validation request (type 'sync'): echo X-Front-Challenge")
        event = data["payload"] if isinstance(data.get("payload"), dict) else data
        event_id = as_id(event.get("id"))
        event_type = event.get("type")
        if event_id is None or not isinstance(event_type, str):
            raise MalformedPayloadError("front body is not an event with 'id' and 'type'")
        if not isinstance(event.get("conversation"), dict):
            raise UnsupportedEventError(f"front event {event_type!r} carries no conversation")
        ticket = _ticket_from_event(event, event_type, event_id)
        return IntakeEvent(ticket=ticket, event_id=event_id, event_type=event_type, helpdesk=self.name)


def _ticket_from_event(event: dict[str, Any], event_type: str, event_id: str) -> Ticket:
    conversation = obj(event, "conversation", "front event")
    conversation_id = as_id(conversation.get("id"))
    if conversation_id is None:
        raise MalformedPayloadError("front event: conversation.id is missing")
    target = maybe_obj(event, "target")
    message = maybe_obj(target, "data")
    recipient = maybe_obj(conversation, "recipient")
    sender = next(
        (r for r in message.get("recipients", []) if isinstance(r, dict) and r.get("role") == "from"),
        recipient,
    )
    tags = [t["name"] for t in conversation.get("tags", []) if isinstance(t, dict) and isinstance(t.get("name"), str)]
    created = conversation.get("created_at", event.get("emitted_at"))
    return Ticket(
        helpdesk="front",
        id=conversation_id,
        subject=str(conversation.get("subject") or ""),
        description=str(message.get("text") or html_to_text(message.get("body"))),
        requester=Requester(email=sender.get("handle"), name=sender.get("name")),
        tags=tags,
        created_at=epoch_or_iso(created, "front conversation.created_at"),
        event=event_type,
        event_id=event_id,
    )

"""Help Scout webhooks (``contracts/helpdesk/WEBHOOKS.md`` section 4).

``X-HelpScout-Signature`` = ``base64(HMAC-SHA1(secret, raw body))``; no timestamp. The event
name is only in the ``X-HelpScout-Event`` header (``convo.created``, ...), so :meth:`parse`
reads it from ``headers``. The body is a Help Scout v2 Conversation. Help Scout sends no
delivery id: the dedupe key is conversation id + event + the conversation's update time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from investigator.intake._text import epoch_or_iso, html_to_text, maybe_obj
from investigator.intake.base import (
    IntakeEvent,
    MalformedPayloadError,
    UnsupportedEventError,
    WebhookAdapter,
    as_id,
    b64,
    header,
    hmac_digest,
    load_json_object,
    require_header,
    require_secret,
    signatures_match,
)
from investigator.models import Requester, Ticket

SIGNATURE_HEADER = "X-HelpScout-Signature"
EVENT_HEADER = "X-HelpScout-Event"


def sign(secret: str, raw_body: bytes) -> str:
    """The ``X-HelpScout-Signature`` value for a body."""
    return b64(hmac_digest(secret.encode("utf-8"), raw_body, "sha1"))


class HelpScoutAdapter(WebhookAdapter):
    """Help Scout conversation webhooks."""

    name: ClassVar[str] = "helpscout"

    def verify(
        self,
        headers: Mapping[str, str],
        raw_body: bytes,
        secret: str,
        now: datetime,
        tolerance_s: int = 300,
    ) -> None:
        """Check ``X-HelpScout-Signature`` (no timestamp in this scheme)."""
        key = require_secret(secret, self.name)
        provided = require_header(headers, SIGNATURE_HEADER)
        signatures_match(b64(hmac_digest(key, raw_body, "sha1")), provided, self.name)

    def parse(self, raw_body: bytes, headers: Mapping[str, str] | None = None) -> IntakeEvent:
        """A ``convo.*`` delivery -> ticket; other events are unsupported."""
        event = (header(headers, EVENT_HEADER) if headers else None) or "convo.created"
        if not event.startswith("convo."):
            raise UnsupportedEventError(f"help scout event {event!r} is not about a conversation")
        data = load_json_object(raw_body, self.name)
        conversation_id = as_id(data.get("id"))
        if conversation_id is None or "createdAt" not in data:
            raise MalformedPayloadError("help scout body is not a conversation with 'id' and 'createdAt'")
        updated = data.get("userUpdatedAt") or data.get("createdAt")
        event_id = f"{conversation_id}:{event}:{updated}"
        ticket = _ticket_from_conversation(data, event, event_id, conversation_id)
        return IntakeEvent(ticket=ticket, event_id=event_id, event_type=event, helpdesk=self.name)


def _ticket_from_conversation(data: dict[str, Any], event: str, event_id: str, conversation_id: str) -> Ticket:
    customer = maybe_obj(data, "primaryCustomer")
    name = " ".join(str(customer[k]) for k in ("first", "last") if customer.get(k)) or None
    tags = [t["tag"] for t in data.get("tags", []) if isinstance(t, dict) and isinstance(t.get("tag"), str)]
    threads = maybe_obj(data, "_embedded").get("threads") or []
    first_body = next((t.get("body") for t in reversed(threads) if isinstance(t, dict) and t.get("body")), None)
    return Ticket(
        helpdesk="helpscout",
        id=conversation_id,
        subject=str(data.get("subject") or ""),
        description=html_to_text(first_body) or str(data.get("preview") or ""),
        requester=Requester(email=customer.get("email"), name=name),
        tags=tags,
        created_at=epoch_or_iso(data.get("createdAt"), "help scout createdAt"),
        event=event,
        event_id=event_id,
    )

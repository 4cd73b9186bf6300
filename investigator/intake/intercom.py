"""Intercom signed notifications (``contracts/helpdesk/WEBHOOKS.md`` section 2).

``X-Hub-Signature: sha1=<hex>`` where hex = HMAC-SHA1(secret, raw body); the secret is the
subscription's hub secret (v1.0) or the app's client secret. There is no timestamp, so no
replay window: dedupe on the notification ``id``. Conversation topics become tickets; the
tenant is unknown (Intercom has no helpdesk source here) unless the conversation's
``custom_attributes.tenant_id`` carries it.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from investigator.intake._text import epoch_or_iso, html_to_text, maybe_obj, obj
from investigator.intake.base import (
    IntakeEvent,
    MalformedPayloadError,
    SignatureError,
    UnsupportedEventError,
    WebhookAdapter,
    as_id,
    hmac_digest,
    load_json_object,
    require_header,
    require_secret,
    signatures_match,
)
from investigator.models import Requester, Ticket

SIGNATURE_HEADER = "X-Hub-Signature"
TICKET_TOPICS = ("conversation.", "ticket.")


def sign(secret: str, raw_body: bytes) -> str:
    """The ``X-Hub-Signature`` value for a body."""
    return "sha1=" + hmac.new(secret.encode("utf-8"), raw_body, "sha1").hexdigest()


class IntercomAdapter(WebhookAdapter):
    """Intercom conversation notifications."""

    name: ClassVar[str] = "intercom"

    def verify(
        self,
        headers: Mapping[str, str],
        raw_body: bytes,
        secret: str,
        now: datetime,
        tolerance_s: int = 300,
    ) -> None:
        """Check ``X-Hub-Signature`` (no timestamp in this scheme: ``now``/``tolerance_s`` unused)."""
        key = require_secret(secret, self.name)
        provided = require_header(headers, SIGNATURE_HEADER)
        if not provided.lower().startswith("sha1="):
            raise SignatureError("intercom X-Hub-Signature must look like 'sha1=<hex>'")
        expected = "sha1=" + hmac_digest(key, raw_body, "sha1").hex()
        signatures_match(expected, "sha1=" + provided[5:].lower(), self.name)

    def parse(self, raw_body: bytes, headers: Mapping[str, str] | None = None) -> IntakeEvent:
        """A conversation notification -> ticket; other topics are unsupported."""
        data = load_json_object(raw_body, self.name)
        topic = data.get("topic")
        event_id = as_id(data.get("id"))
        if data.get("type") != "notification_event" or not isinstance(topic, str) or event_id is None:
            raise MalformedPayloadError("intercom body is not a notification_event with 'id' and 'topic'")
        if not topic.startswith(TICKET_TOPICS):
            raise UnsupportedEventError(f"intercom topic {topic!r} is not about a conversation or ticket")
        item = obj(obj(data, "data", "intercom notification"), "item", "intercom notification data")
        ticket = _ticket_from_item(item, topic, event_id)
        return IntakeEvent(ticket=ticket, event_id=event_id, event_type=topic, helpdesk=self.name)


def _ticket_from_item(item: dict[str, Any], topic: str, event_id: str) -> Ticket:
    item_id = as_id(item.get("id"))
    if item_id is None:
        raise MalformedPayloadError("intercom notification: data.item.id is missing")
    source = maybe_obj(item, "source")
    author = maybe_obj(source, "author")
    attributes = maybe_obj(item, "custom_attributes")
    tags_obj = maybe_obj(item, "tags")
    tags = [t["name"] for t in tags_obj.get("tags", []) if isinstance(t, dict) and isinstance(t.get("name"), str)]
    tenant = attributes.get("tenant_id")
    return Ticket(
        helpdesk="intercom",
        id=item_id,
        subject=html_to_text(source.get("subject") or item.get("title")),
        description=html_to_text(source.get("body")),
        requester=Requester(email=author.get("email"), name=author.get("name")),
        tenant_id=str(tenant) if tenant else None,
        priority=str(item["priority"]).lower() if isinstance(item.get("priority"), str) else None,
        tags=tags,
        created_at=epoch_or_iso(item.get("created_at"), "intercom data.item.created_at"),
        event=topic,
        event_id=event_id,
    )

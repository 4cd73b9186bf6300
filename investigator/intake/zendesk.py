"""Zendesk event-subscription webhooks (``zen:event-type:ticket.*``).

Signing (``contracts/helpdesk/WEBHOOKS.md`` 1.1): ``X-Zendesk-Webhook-Signature`` =
``base64(HMAC-SHA256(signing secret as UTF-8, timestamp header + raw body))`` and
``X-Zendesk-Webhook-Signature-Timestamp`` is an ISO-8601 UTC string. An older revision of
Zendesk's page signed body + timestamp; we implement the current formula only.

The body's ``detail`` is the ticket's state. The tenant is NOT in the webhook: it is the
``external_id`` of the ticket's organization, resolved later by the helpdesk source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import ValidationError

from investigator.intake.base import (
    IntakeEvent,
    MalformedPayloadError,
    TimestampedHmacAdapter,
    UnsupportedEventError,
    as_id,
    load_json_object,
    sign_timestamped,
)
from investigator.models import Ticket

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
TICKET_EVENT_PREFIX = "zen:event-type:ticket."


sign = sign_timestamped
"""The signature Zendesk puts in ``X-Zendesk-Webhook-Signature``."""


class ZendeskAdapter(TimestampedHmacAdapter):
    """Zendesk's signed event-subscription webhooks about tickets."""

    name: ClassVar[str] = "zendesk"
    signature_header: ClassVar[str] = SIGNATURE_HEADER
    timestamp_header: ClassVar[str] = TIMESTAMP_HEADER

    def parse(self, raw_body: bytes, headers: Mapping[str, str] | None = None) -> IntakeEvent:
        """A ``zen:event-type:ticket.*`` body -> ticket (tenant unresolved); other events are unsupported."""
        data = load_json_object(raw_body, self.name)
        event_type = data.get("type")
        if not isinstance(event_type, str) or not event_type.startswith("zen:event-type:"):
            raise MalformedPayloadError(
                "zendesk webhook body is not an event-subscription payload: expected 'type' like "
                "'zen:event-type:ticket.created' (trigger bodies are not supported; use an event subscription)"
            )
        if not event_type.startswith(TICKET_EVENT_PREFIX):
            raise UnsupportedEventError(f"zendesk event {event_type!r} is not about a ticket")
        event_id = as_id(data.get("id"))
        detail = data.get("detail")
        if event_id is None or not isinstance(detail, dict):
            raise MalformedPayloadError("zendesk ticket event needs a string 'id' and an object 'detail'")
        short_type = event_type.removeprefix("zen:event-type:")
        ticket = _ticket_from_detail(detail, short_type, event_id)
        return IntakeEvent(ticket=ticket, event_id=event_id, event_type=short_type, helpdesk=self.name)


def _ticket_from_detail(detail: dict[str, Any], event: str, event_id: str) -> Ticket:
    """The ticket state of a Zendesk ticket event."""
    ticket_id = as_id(detail.get("id"))
    if ticket_id is None:
        raise MalformedPayloadError("zendesk ticket event: detail.id is missing")
    tags = detail.get("tags") or []
    priority = detail.get("priority")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise MalformedPayloadError("zendesk ticket event: detail.tags must be a list of strings")
    try:
        return Ticket(
            helpdesk="zendesk",
            id=ticket_id,
            subject=str(detail.get("subject") or ""),
            description=str(detail.get("description") or ""),
            tenant_id=None,
            priority=str(priority).lower() if priority else None,
            tags=tags,
            created_at=detail.get("created_at"),  # validated by pydantic
            organization_id=as_id(detail.get("organization_id")),
            event=event,
            event_id=event_id,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise MalformedPayloadError(f"zendesk ticket event detail is invalid: {problems}") from exc

"""The generic signed webhook: the product's own intake format (``/webhooks/generic``).

Signing: header ``X-Investigator-Timestamp`` holds an RFC 3339 or Unix timestamp, header
``X-Investigator-Signature`` holds ``base64(HMAC-SHA256(secret, timestamp + raw body))``.
``id`` plus ``event`` identify a delivery. The body is validated strictly (unknown keys
are refused) and carries the tenant id itself.

Freshdesk: its automation-rule webhooks sign nothing (no vendor document describes a
signature, see ``contracts/helpdesk/WEBHOOKS.md`` section 5) and cannot compute an HMAC.
Freshdesk therefore has no adapter of its own: deliver Freshdesk tickets through this
generic webhook, from a small relay (or an integration-platform step) that holds the
secret, maps the Freshdesk ticket to this format and signs it. Never expose an unsigned
endpoint instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from investigator.intake.base import (
    IntakeEvent,
    MalformedPayloadError,
    TimestampedHmacAdapter,
    load_json_object,
    sign_timestamped,
)
from investigator.models import Requester, Ticket

TIMESTAMP_HEADER = "X-Investigator-Timestamp"
SIGNATURE_HEADER = "X-Investigator-Signature"


class GenericRequester(BaseModel):
    """``requester`` of the generic format."""

    model_config = ConfigDict(extra="forbid")
    email: str | None = None
    name: str | None = None


class GenericTicketPayload(BaseModel):
    """The generic webhook body (``shared/scenarios/FORMAT.md``, "The generic webhook")."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(min_length=1)
    event: str = Field(min_length=1)
    subject: str = ""
    description: str = ""
    requester: GenericRequester = Field(default_factory=GenericRequester)
    tenant_id: str | None = None
    priority: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime
    url: str | None = None
    organization_id: str | None = None


sign = sign_timestamped
"""The signature a sender puts in ``X-Investigator-Signature``."""


class GenericAdapter(TimestampedHmacAdapter):
    """The product's own signed JSON webhook."""

    name: ClassVar[str] = "generic"
    signature_header: ClassVar[str] = SIGNATURE_HEADER
    timestamp_header: ClassVar[str] = TIMESTAMP_HEADER

    def parse(self, raw_body: bytes, headers: Mapping[str, str] | None = None) -> IntakeEvent:
        """Validate the body strictly and build the ticket (the tenant comes from the body)."""
        data = load_json_object(raw_body, self.name)
        try:
            payload = GenericTicketPayload.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()[:5]
            )
            raise MalformedPayloadError(f"generic webhook body is invalid: {problems}") from exc
        event_id = f"{payload.id}:{payload.event}"
        ticket = Ticket(
            helpdesk=self.name,
            id=payload.id,
            subject=payload.subject,
            description=payload.description,
            requester=Requester(email=payload.requester.email, name=payload.requester.name),
            tenant_id=payload.tenant_id or None,
            priority=payload.priority.lower() if payload.priority else None,
            tags=payload.tags,
            created_at=payload.created_at,
            url=payload.url,
            organization_id=payload.organization_id,
            event=payload.event,
            event_id=event_id,
        )
        return IntakeEvent(ticket=ticket, event_id=event_id, event_type=payload.event, helpdesk=self.name)

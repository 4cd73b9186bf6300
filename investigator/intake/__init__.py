"""Webhook intake: one adapter per helpdesk, each verifying its signature over the raw body, then parsing.

``ADAPTERS`` maps the path name (``/webhooks/<name>``) to its adapter. Freshdesk signs
nothing and goes through the generic webhook (see :mod:`investigator.intake.generic`).
"""

from __future__ import annotations

from investigator.intake.base import (
    IntakeError,
    IntakeEvent,
    MalformedPayloadError,
    SignatureError,
    StaleTimestampError,
    UnsupportedEventError,
    WebhookAdapter,
)
from investigator.intake.front import FrontAdapter
from investigator.intake.generic import GenericAdapter
from investigator.intake.helpscout import HelpScoutAdapter
from investigator.intake.intercom import IntercomAdapter
from investigator.intake.zendesk import ZendeskAdapter

ADAPTERS: dict[str, WebhookAdapter] = {
    adapter.name: adapter
    for adapter in (GenericAdapter(), ZendeskAdapter(), IntercomAdapter(), FrontAdapter(), HelpScoutAdapter())
}

__all__ = [
    "ADAPTERS",
    "FrontAdapter",
    "GenericAdapter",
    "HelpScoutAdapter",
    "IntakeError",
    "IntakeEvent",
    "IntercomAdapter",
    "MalformedPayloadError",
    "SignatureError",
    "StaleTimestampError",
    "UnsupportedEventError",
    "WebhookAdapter",
    "ZendeskAdapter",
]

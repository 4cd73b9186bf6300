"""Helpers for the Zendesk helpdesk source tests: scenario worlds, settings, contexts, API bodies."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from connectors.helpdesk.config import ZendeskSettings
from investigator.connector import InvestigationContext
from investigator.intake import ADAPTERS
from investigator.models import Ticket, TimeWindow
from investigator.sandbox.scenario import Scenario, load_scenario

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared"
BASE = "https://acme.zendesk.com"
TOKEN = "zd-secret-token-1234567890"


def scenario(name: str) -> Scenario:
    """Load a shared scenario by name."""
    return load_scenario(SHARED / "scenarios" / f"{name}.yaml")


def make_settings(**overrides: Any) -> ZendeskSettings:
    """Settings for a fake Zendesk at BASE."""
    return ZendeskSettings(base_url=BASE, email="bot@acme.test", api_token=SecretStr(TOKEN), **overrides)


def context_for(sc: Scenario) -> InvestigationContext:
    """The context the pipeline would build for a scenario's Zendesk webhook."""
    ticket = ADAPTERS["zendesk"].parse(json.dumps(sc.ticket.webhook).encode()).ticket
    return make_context(ticket, sc.now)


def make_context(ticket: Ticket, now: datetime) -> InvestigationContext:
    return InvestigationContext(
        investigation_id="inv-test",
        ticket=ticket,
        tenant_id=ticket.tenant_id,
        now=now,
        window=TimeWindow(start=now - timedelta(hours=6), end=now),
        baseline=TimeWindow(start=now - timedelta(hours=30), end=now - timedelta(hours=6)),
    )


def ticket_body(sc: Scenario) -> dict[str, Any]:
    """What Zendesk answers to show-ticket with users and organizations sideloaded."""
    world = sc.ticket.zendesk
    assert world is not None
    ticket = world.tickets[0]
    wanted = {ticket.get("requester_id"), ticket.get("submitter_id"), ticket.get("assignee_id")}
    return {
        "ticket": ticket,
        "users": [u for u in world.users if u["id"] in wanted],
        "organizations": [o for o in world.organizations if o["id"] == ticket.get("organization_id")],
    }


def comments_body(sc: Scenario) -> dict[str, Any]:
    """One cursor page holding the whole thread, authors sideloaded."""
    world = sc.ticket.zendesk
    assert world is not None
    ticket_id = str(world.tickets[0]["id"])
    comments = world.comments.get(ticket_id, [])
    authors = {c["author_id"] for c in comments}
    return {
        "comments": comments,
        "users": [u for u in world.users if u["id"] in authors],
        "meta": {"has_more": False, "after_cursor": "xxx", "before_cursor": "yyy"},
        "links": {"next": None, "prev": None},
    }


EMPTY_SEARCH: dict[str, Any] = {"results": [], "facets": None, "next_page": None, "previous_page": None, "count": 0}

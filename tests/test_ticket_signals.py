"""What the ticket text says: a credible exposure report is recognised; ordinary mentions of customers are not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from investigator.models import Ticket
from investigator.ticket_signals import mentioned_routes, ticket_findings


def signals(text: str) -> set[str]:
    ticket = Ticket(helpdesk="generic", id="1", subject=text, created_at=datetime(2026, 11, 20, tzinfo=UTC))
    return {str(f.facts["signal"]) for f in ticket_findings(ticket)}


@pytest.mark.parametrize(
    "text",
    [
        "We can see another company's invoices in our dashboard",
        "the list showed invoices for a company called Kestrel Freight Ltd - none of this is ours",
        "A user saw data from another tenant in the export",
        "I opened the report and it shows a different customer's orders",
        "Our API key was compromised, please rotate it",
    ],
)
def test_a_credible_exposure_report_is_a_security_signal(text: str) -> None:
    assert "security_report" in signals(text)


@pytest.mark.parametrize(
    "text",
    [
        "We are dropping analytics data for our own customers because of this!",
        "Can we export data for our other customers contacts?",
        "we have other customers waiting on this, fix it",
        "URGENT!!! everything is broken, this is a disaster",
    ],
)
def test_ordinary_mentions_of_customers_and_angry_tone_are_not_security_signals(text: str) -> None:
    assert "security_report" not in signals(text)


def test_data_loss_is_a_data_integrity_signal() -> None:
    assert "data_integrity_report" in signals("All our contacts were deleted overnight")


def test_routes_in_free_text_are_found_in_order_without_duplicates() -> None:
    text = "POST /v1/exports fails, then GET /v1/reports. POST /v1/exports again."
    assert mentioned_routes(text) == ["POST /v1/exports", "GET /v1/reports"]

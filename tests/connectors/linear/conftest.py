"""Fixtures for the Linear connector tests: settings, contexts, scenario loading."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.linear.config import LinearSettings
from investigator.connector import InvestigationContext
from investigator.models import Ticket, TimeWindow
from investigator.sandbox.scenario import Scenario, load_scenario

API_URL = "https://linear.test/graphql"
API_KEY = "lin_api_SECRETkey1234567890abcdef"
NOW = datetime.fromisoformat("2026-11-24T13:00:00+00:00")


@pytest.fixture
def settings() -> LinearSettings:
    return LinearSettings(api_key=SecretStr(API_KEY), api_url=API_URL, timeout_s=2.0)


def context(
    subject: str, description: str = "", tags: list[str] | None = None, now: datetime = NOW
) -> InvestigationContext:
    ticket = Ticket(
        helpdesk="generic", id="T-1", subject=subject, description=description, tags=tags or [], created_at=now
    )
    return InvestigationContext(
        investigation_id="inv-1",
        ticket=ticket,
        tenant_id="acme",
        now=now,
        window=TimeWindow(start=now - timedelta(hours=6), end=now),
        baseline=TimeWindow(start=now - timedelta(hours=30), end=now - timedelta(hours=6)),
    )


def scenario_context(scenario: Scenario) -> InvestigationContext:
    """The ticket of a scenario (generic or Zendesk webhook) in a 6-hour window ending at its ``now``."""
    hook = scenario.ticket.webhook
    body = hook.get("detail", hook) if scenario.ticket.helpdesk == "zendesk" else hook
    return context(body["subject"], body.get("description", ""), body.get("tags", []), now=scenario.now)


@pytest.fixture
def make_context():  # type: ignore[no-untyped-def]
    return context


@pytest.fixture
def ctx_of():  # type: ignore[no-untyped-def]
    return scenario_context


@pytest.fixture
def api() -> tuple[str, str]:
    """(url, key) the ``settings`` fixture points at."""
    return API_URL, API_KEY


@pytest.fixture
def load(shared_scenarios: Path):  # type: ignore[no-untyped-def]
    def _load(name: str) -> Scenario:
        return load_scenario(shared_scenarios / f"{name}.yaml")

    return _load

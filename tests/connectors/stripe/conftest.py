"""Fixtures for the Stripe connector tests: scenario worlds, contexts, contract schemas, sleeps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import respx
import stripe._http_client as stripe_http_client
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from connectors.stripe.config import StripeSettings
from investigator.connector import InvestigationContext
from investigator.models import Requester, Ticket, TimeWindow
from investigator.sandbox.scenario import Scenario, load_scenario

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared"
API_BASE = "https://api.stripe.test"
API_KEY = "sk_test_51SecretKeyThatMustNeverBeLogged0123456789"


@pytest.fixture
def stripe_contracts() -> Path:
    """``shared/contracts/stripe``."""
    return SHARED / "contracts" / "stripe"


@pytest.fixture
def scenario() -> Callable[[str], Scenario]:
    """Load a scenario of ``shared/scenarios`` by name."""
    return lambda name: load_scenario(SHARED / "scenarios" / f"{name}.yaml")


@pytest.fixture
def settings() -> Callable[..., StripeSettings]:
    """Connector settings pointing at the respx-mocked base URL."""

    def make(**overrides: Any) -> StripeSettings:
        values: dict[str, Any] = {"api_key": API_KEY, "api_base": API_BASE, **overrides}
        return StripeSettings(**values)

    return make


@pytest.fixture
def context() -> Callable[..., InvestigationContext]:
    """An investigation context for a tenant and a requester email."""

    def make(tenant: str | None, email: str | None = None, now: datetime | None = None) -> InvestigationContext:
        now = now or datetime.fromisoformat("2026-11-09T16:20:00+00:00")
        ticket = Ticket(helpdesk="generic", id="T-1", created_at=now, requester=Requester(email=email))
        window = TimeWindow(start=now - timedelta(hours=6), end=now)
        baseline = TimeWindow(start=now - timedelta(hours=30), end=now - timedelta(hours=6))
        return InvestigationContext(
            investigation_id="inv-1", ticket=ticket, tenant_id=tenant, now=now, window=window, baseline=baseline
        )

    return make


class _LibraryClock:
    """Stands in for the ``time`` module inside stripe's HTTP client: records sleeps, never waits."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    @staticmethod
    def time() -> float:
        return time.time()


@pytest.fixture
def library_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff sleeps stripe-python's retry loop asked for (patched out, counted)."""
    clock = _LibraryClock()
    monkeypatch.setattr(stripe_http_client, "time", clock)
    return clock.sleeps


@pytest.fixture
def stripe_api() -> Iterator[respx.MockRouter]:
    """respx router for the Stripe base URL; unmatched requests fail the test."""
    with respx.mock(base_url=API_BASE, assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def envelope(url: str, data: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    """Stripe's list envelope."""
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


@pytest.fixture
def listing() -> Callable[..., dict[str, Any]]:
    """Build Stripe list envelopes."""
    return envelope


def _nullable(o: Any) -> Any:
    if isinstance(o, dict):
        o = {k: _nullable(v) for k, v in o.items()}
        return {"anyOf": [o, {"type": "null"}]} if o.pop("nullable", False) else o
    return [_nullable(v) for v in o] if isinstance(o, list) else o


class StripeSchemas:
    """``subset.json`` as JSON Schema (OpenAPI ``nullable`` converted, see NOTES.md)."""

    def __init__(self, folder: Path) -> None:
        self.spec = json.loads((folder / "subset.json").read_text())
        doc = {"components": {"schemas": _nullable(self.spec["components"]["schemas"])}}
        self.registry = Registry().with_resource(
            "urn:stripe", Resource.from_contents(doc, default_specification=DRAFT202012)
        )
        self.fixtures = json.loads((folder / "fixtures3.json").read_text())["resources"]

    def errors(self, schema: dict[str, Any], value: Any) -> list[str]:
        validator = Draft202012Validator(schema, registry=self.registry)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in validator.iter_errors(value)]

    def component_errors(self, name: str, value: Any) -> list[str]:
        return self.errors({"$ref": f"urn:stripe#/components/schemas/{name}"}, value)

    def response_schema(self, path: str, *, items: dict[str, Any] | None = None) -> dict[str, Any]:
        """The 200 schema of ``GET path`` with refs resolved in the registry; ``items`` replaces
        the item schema when the 2023 object schema predates the current shape."""
        schema = self.spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        schema = json.loads(json.dumps(_nullable(schema)).replace('"#/components', '"urn:stripe#/components'))
        if items is not None:
            schema["properties"]["data"]["items"] = items
        return schema


@pytest.fixture(scope="session")
def schemas() -> StripeSchemas:
    """Validators for the Stripe contracts."""
    return StripeSchemas(SHARED / "contracts" / "stripe")

"""Test doubles for the evidence sources a worker subprocess runs (loaded by registry name through
``INVESTIGATOR_CONNECTOR_CLASSES``). Each reads what to do from Redis (per ticket and source) and
records every call there, so the test can assert the call happened.

Modes: ``ok`` (no data), ``raise`` (a bug: RuntimeError), ``429`` (RateLimitedError), ``hang``
(never answers within the deadline), ``slow`` (answers after ``FAKE_SLOW_S``).
"""

from __future__ import annotations

import os
import time
from typing import ClassVar

import redis
from pydantic_settings import BaseSettings

from investigator.connector import CheckResult, Collected, Connector, InvestigationContext
from investigator.errors import RateLimitedError

FAKE_DB = os.environ.get("FAKE_REDIS_URL", "redis://127.0.0.1:6379/15")


def control() -> redis.Redis:
    return redis.Redis.from_url(FAKE_DB, decode_responses=True)


def set_mode(client: redis.Redis, ticket_id: str, source: str, mode: str) -> None:
    client.set(f"fake:mode:{ticket_id}:{source}", mode, ex=600)


def calls(client: redis.Redis, ticket_id: str) -> list[str]:
    return list(client.lrange(f"fake:calls:{ticket_id}", 0, -1))


class NoSettings(BaseSettings):
    pass


class _Fake(Connector):
    settings_class: ClassVar[type[BaseSettings]] = NoSettings

    def configured(self) -> bool:
        return True

    def check(self) -> CheckResult:
        return CheckResult(source=self.name, configured=True, reachable=True)

    def collect(self, ctx: InvestigationContext) -> Collected:
        client = control()
        client.rpush(f"fake:calls:{ctx.ticket.id}", self.name)
        mode = client.get(f"fake:mode:{ctx.ticket.id}:{self.name}") or "ok"
        if mode == "raise":
            raise RuntimeError(f"{self.name} fake blew up")
        if mode == "429":
            raise RateLimitedError(f"{self.name}: HTTP 429: rate limited by the upstream", retry_after=30)
        if mode == "hang":
            time.sleep(60)
        if mode == "slow":
            time.sleep(float(os.environ.get("FAKE_SLOW_S", "1.5")))
        client.rpush(f"fake:done:{ctx.ticket.id}", self.name)
        return Collected(no_data=True, checked=[f"{self.name} fake for tenant {ctx.tenant_id}"])


class FakeClickHouse(_Fake):
    name = "clickhouse"
    needs_tenant = True


class FakeLinear(_Fake):
    name = "linear"


class FakeStripe(_Fake):
    name = "stripe"
    needs_tenant = True


class FakeGitHub(_Fake):
    name = "github"


CLASSES = {
    "clickhouse": "fake_sources:FakeClickHouse",
    "linear": "fake_sources:FakeLinear",
    "stripe": "fake_sources:FakeStripe",
    "github": "fake_sources:FakeGitHub",
}

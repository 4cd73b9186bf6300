"""The API against the real Redis DB 15, with a broker double that counts what it was given."""

from __future__ import annotations

import pytest
import redis
from fastapi.testclient import TestClient

from investigator.api import create_app
from investigator.store import Store
from tests.integration.conftest import REDIS_URL, api_settings


class Broker:
    """Records enqueued investigation ids; can be told to fail like a dead broker."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.fail = False

    def __call__(self, inv_id: str) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.sent.append(inv_id)


@pytest.fixture()
def redis_db() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


@pytest.fixture()
def broker() -> Broker:
    return Broker()


@pytest.fixture()
def store(redis_db: redis.Redis) -> Store:
    return Store.from_url(REDIS_URL)


@pytest.fixture()
def client(store: Store, broker: Broker) -> TestClient:
    return TestClient(create_app(api_settings(), store=store, enqueue=broker))

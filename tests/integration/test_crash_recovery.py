"""A worker SIGKILLed mid-investigation, and Redis restarted mid-investigation: the investigation
completes once (by the redelivered chord or by the watchdog), with one note.

These use a private redis-server (AOF on) so no other worker consumes the redelivered tasks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from investigator.api import create_app
from investigator.sandbox.linear_standin import LinearStandIn
from investigator.sandbox.zendesk_standin import ZendeskStandIn
from investigator.store import Store
from tests.integration.conftest import (
    Tickets,
    Worker,
    api_settings,
    free_port,
    signed_headers,
    wait_delivered,
    wait_for,
    worker_env,
)
from tests.integration.fake_sources import calls, control, set_mode
from tests.integration.private_redis import PrivateRedis


@pytest.fixture()
def private(tmp_path: Path, shared_redis: redis.Redis) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path, free_port())
    try:
        server.start()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


def start_slow_investigation(private: PrivateRedis, tickets: Tickets) -> tuple[str, str, Store]:
    ticket_id = tickets.new()
    for source in ("clickhouse", "linear", "stripe", "github"):
        set_mode(control(), ticket_id, source, "slow")
    api = TestClient(create_app(api_settings(redis_url=private.url)))
    body = tickets.event(ticket_id)
    answer = api.post("/webhooks/zendesk", content=body, headers=signed_headers(body))
    assert answer.status_code == 202, answer.text
    return ticket_id, answer.json()["investigation_id"], Store.from_url(private.url)


def test_a_worker_killed_mid_investigation_is_completed_once_by_the_next_worker(
    private: PrivateRedis, tickets: Tickets, zendesk: ZendeskStandIn, linear: LinearStandIn, tmp_path: Path
) -> None:
    env = worker_env(private.url, zendesk, linear, FAKE_SLOW_S="1.5")
    first = Worker(env, tmp_path / "first.log", "first")
    try:
        ticket_id, inv_id, store = start_slow_investigation(private, tickets)
        wait_for(lambda: calls(control(), ticket_id), 20, "a source task to be running")
    finally:
        first.kill()  # SIGKILL the whole worker, mid-header
    assert store.get(inv_id).status.value == "running"  # type: ignore[union-attr]
    assert not tickets.notes(ticket_id)

    second = Worker(env, tmp_path / "second.log", "second")
    try:
        record = wait_delivered(store, inv_id, timeout=60)
    finally:
        second.stop()

    assert record.status.value == "delivered"
    assert record.finalized_by in ("chord", "watchdog")
    assert len(tickets.notes(ticket_id)) == 1
    assert len(store.for_ticket("zendesk", ticket_id)) == 1


def test_redis_restarted_mid_investigation_the_worker_reconnects_and_it_completes_once(
    private: PrivateRedis, tickets: Tickets, zendesk: ZendeskStandIn, linear: LinearStandIn, tmp_path: Path
) -> None:
    env = worker_env(private.url, zendesk, linear, FAKE_SLOW_S="1.5")
    worker = Worker(env, tmp_path / "restart.log", "restart")
    try:
        ticket_id, inv_id, store = start_slow_investigation(private, tickets)
        wait_for(lambda: calls(control(), ticket_id), 20, "a source task to be running")
        private.restart(down_s=1.0)
        record = wait_delivered(store, inv_id, timeout=60)
        assert worker.proc.poll() is None, "the worker survived the restart"
    finally:
        worker.stop()

    assert record.status.value == "delivered", record.packet.deliveries  # type: ignore[union-attr]
    assert record.finalized_by in ("chord", "watchdog")
    assert len(tickets.notes(ticket_id)) == 1
    assert "Connected to redis" in worker.log_path.read_text().split("restart@", 1)[-1]

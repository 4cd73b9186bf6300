"""Real Redis (DB 15 of the local server, or a private redis-server), real Celery worker
subprocesses, the Zendesk and Linear stand-ins, and signed webhooks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from investigator.api import create_app
from investigator.config import Settings
from investigator.intake.zendesk import sign
from investigator.sandbox.linear_standin import LinearStandIn
from investigator.sandbox.scenario import LinearWorld, ZendeskWorld, load_scenario
from investigator.sandbox.zendesk_standin import ZendeskStandIn
from investigator.store import Record, Store
from tests.integration.fake_sources import CLASSES

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO.parent / "shared" / "scenarios" / "tenant-rate-limited-429.yaml"
REDIS_URL = "redis://127.0.0.1:6379/15"
SECRET = "zendesk-test-signing-secret"
API_TOKEN = "read-api-test-token-0123456789"
TEAMS = ["Core API", "Support Escalations", "Integrations"]
FAST = {  # every limit short, and still ordered (tasks.app.check_limits)
    "INVESTIGATOR_SOURCE_DEADLINE_S": "2",
    "INVESTIGATOR_INVESTIGATION_DEADLINE_S": "10",
    "INVESTIGATOR_CELERY_SOFT_MARGIN_S": "1",
    "INVESTIGATOR_CELERY_HARD_MARGIN_S": "2",
    "INVESTIGATOR_CELERY_DELIVER_SOFT_LIMIT_S": "8",
    "INVESTIGATOR_CELERY_DELIVER_MAX_COUNTDOWN_S": "3",
    "INVESTIGATOR_CELERY_VISIBILITY_TIMEOUT_S": "16",
    "INVESTIGATOR_CELERY_UNACKED_RESTORE_INTERVAL_S": "1",
    "INVESTIGATOR_CELERY_UNACKED_RESTORE_THROTTLE": "1",
    "INVESTIGATOR_CELERY_HEALTH_CHECK_INTERVAL_S": "2",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def shared_redis() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    client.flushdb()  # DB 15 only, before any worker binds its queues
    return client


@pytest.fixture(scope="session")
def zendesk() -> Iterator[ZendeskStandIn]:
    world = load_scenario(SCENARIO).ticket.zendesk
    standin = ZendeskStandIn(world or ZendeskWorld())
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def linear() -> Iterator[LinearStandIn]:
    standin = LinearStandIn(LinearWorld(), teams=TEAMS)
    standin.start()
    yield standin
    standin.stop()


def worker_env(redis_url: str, zendesk: ZendeskStandIn, linear: LinearStandIn, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVESTIGATOR_")}
    env.update(FAST)
    env.update(
        {
            "INVESTIGATOR_REDIS_URL": redis_url,
            "INVESTIGATOR_API_TOKEN": API_TOKEN,
            "INVESTIGATOR_PUBLIC_URL": "http://investigator.test",
            "INVESTIGATOR_CONNECTOR_CLASSES": json.dumps(CLASSES),
            "INVESTIGATOR_HELPDESK_BASE_URL": zendesk.url,
            "INVESTIGATOR_HELPDESK_EMAIL": zendesk.email,
            "INVESTIGATOR_HELPDESK_API_TOKEN": zendesk.token,
            "INVESTIGATOR_HELPDESK_TIMEOUT_S": "1",
            "INVESTIGATOR_LINEAR_API_URL": f"{linear.url}/graphql",
            "INVESTIGATOR_LINEAR_API_KEY": linear.api_key,
            "INVESTIGATOR_LINEAR_TIMEOUT_S": "1",
            "FAKE_REDIS_URL": REDIS_URL,
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests" / "integration")]),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Worker:
    """A real ``celery worker`` subprocess (threads pool), killed at teardown."""

    def __init__(self, env: dict[str, str], log_path: Path, name: str) -> None:
        self.log_path = log_path
        self.log = log_path.open("ab")
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tasks.app:celery_app",
            "worker",
            "--pool=threads",
            "--concurrency=6",
            "--loglevel=INFO",
            f"--hostname={name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--queues=investigator",
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(self._ready, 30, f"worker {name} to be ready (log: {log_path})")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited with {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
        return b" ready." in self.log_path.read_bytes()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="session")
def worker_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker-logs")


@pytest.fixture(scope="session")
def worker(
    shared_redis: redis.Redis, zendesk: ZendeskStandIn, linear: LinearStandIn, worker_logs: Path
) -> Iterator[Worker]:
    w = Worker(worker_env(REDIS_URL, zendesk, linear), worker_logs / "shared.log", "shared")
    yield w
    w.stop()


def api_settings(redis_url: str = REDIS_URL, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "zendesk_webhook_secret": SecretStr(SECRET),
        "api_token": SecretStr(API_TOKEN),
        "public_url": "http://investigator.test",
        **{
            k.removeprefix("INVESTIGATOR_").lower(): v
            for k, v in FAST.items()
            if not k.startswith("INVESTIGATOR_CELERY")
        },
        **extra,
    }
    return Settings(**values)


@pytest.fixture()
def api(shared_redis: redis.Redis) -> TestClient:
    return TestClient(create_app(api_settings()))


@pytest.fixture()
def store(shared_redis: redis.Redis) -> Store:
    return Store.from_url(REDIS_URL)


class Tickets:
    """Zendesk tickets cloned from the scenario into the stand-in, one fresh id per test."""

    def __init__(self, zendesk: ZendeskStandIn) -> None:
        self.zendesk = zendesk
        scenario = load_scenario(SCENARIO)
        self.webhook = scenario.ticket.webhook
        self.base_id = str(self.webhook["detail"]["id"])

    def new(self) -> str:
        ticket_id = str(uuid.uuid4().int % 10**9 + 10**9)
        base = self.zendesk.tickets[self.base_id]
        self.zendesk.tickets[ticket_id] = {**base, "id": int(ticket_id)}
        self.zendesk.comments[ticket_id] = [dict(c) for c in self.zendesk.comments.get(self.base_id, [])]
        return ticket_id

    def event(self, ticket_id: str, event: str = "ticket.created", event_id: str | None = None) -> bytes:
        body = json.loads(json.dumps(self.webhook))
        body["id"] = event_id or str(uuid.uuid4())
        body["type"] = f"zen:event-type:{event}"
        body["detail"]["id"] = ticket_id
        return json.dumps(body).encode()

    def notes(self, ticket_id: str) -> list[dict[str, Any]]:
        return [r for r in self.zendesk.recorded if r["kind"] == "zendesk.note" and r["ticket_id"] == ticket_id]


@pytest.fixture(scope="session")
def tickets(zendesk: ZendeskStandIn) -> Tickets:
    return Tickets(zendesk)


def signed_headers(body: bytes, *, secret: str = SECRET, at: datetime | None = None) -> dict[str, str]:
    stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "X-Zendesk-Webhook-Signature": sign(secret, stamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def wait_delivered(store: Store, inv_id: str, timeout: float = 40.0) -> Record:
    def done() -> Record | None:
        record = store.get(inv_id)
        return record if record and record.status.value in ("delivered", "delivery_failed") else None

    return wait_for(done, timeout, f"investigation {inv_id} to be delivered")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def producer(shared_redis: redis.Redis) -> Any:
    """A Celery app of the tests' own configuration (DB 15), to send tasks by name like the web process."""
    from tasks.app import make_celery

    return make_celery(api_settings())

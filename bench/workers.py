"""Worker benchmark: investigations per second from signed webhook to delivered note, 1/2/4 workers.

One scenario world (a Zendesk ticket, so a note is delivered) runs in this process with every
stand-in adding ``latency_ms`` to every response. Its ClickHouse data is generated around the
*real* clock, because the workers investigate at the real ``now`` (a scenario replay uses the
scenario's clock, a worker cannot). The real HTTP service and ``workers`` Celery worker processes
(threads pool) run as subprocesses on a dedicated Redis database, flushed before and after.
Each webhook names its own clone of the scenario's ticket, so every investigation writes its own
note. Queue wait and run time come from the stored record's timestamps; CPU from ``/proc``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import redis

from bench.fanout import SCENARIOS, close_world
from bench.intake import REDIS_URL, Process, _exchange, base_env, cpu_seconds, start_server
from investigator.intake.zendesk import sign
from investigator.sandbox.scenario import Scenario, load_scenario
from investigator.sandbox.world import ReplayWorld, injections_for
from investigator.sandbox.zendesk_standin import ZendeskStandIn
from investigator.store import Record, Store

SCENARIO = SCENARIOS / "tenant-rate-limited-429.yaml"
ZENDESK_SECRET = "bench-zendesk-webhook-secret"
DONE = ("delivered", "delivery_failed")


def worker_env(scenario: Scenario, world: ReplayWorld) -> dict[str, str]:
    """Settings for the service and the workers: the world's stand-ins, the scenario's services."""
    services = {name: svc.model_dump(mode="json", exclude_none=True) for name, svc in scenario.config.services.items()}
    return base_env(
        REDIS_URL,
        INVESTIGATOR_ZENDESK_WEBHOOK_SECRET=ZENDESK_SECRET,
        INVESTIGATOR_PUBLIC_URL="http://investigator.bench",
        INVESTIGATOR_API_TOKEN="bench-read-api-token-0123456789",
        INVESTIGATOR_SERVICES=json.dumps(services),
        INVESTIGATOR_COMPLIANCE_CRITICAL_EVENTS=json.dumps(list(scenario.config.compliance_critical_events)),
        **world.env(),
    )


def start_worker(env: dict[str, str], log_dir: Path, name: str, concurrency: int) -> Process:
    """A real ``celery worker`` (threads pool) subprocess (wait for `` ready.`` in its log)."""
    cmd = [
        *(sys.executable, "-m", "celery", "-A", "tasks.app:celery_app", "worker"),
        *("--pool=threads", f"--concurrency={concurrency}", "--loglevel=INFO", f"--hostname={name}@%h"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat", "--queues=investigator"),
    ]
    return Process(cmd, env, log_dir / f"{name}.log")


class Tickets:
    """Clones of the scenario's Zendesk ticket in the stand-in, and their signed webhooks."""

    def __init__(self, scenario: Scenario, zendesk: ZendeskStandIn) -> None:
        self.zendesk = zendesk
        self.webhook = scenario.ticket.webhook
        self.base_id = str(self.webhook["detail"]["id"])

    def new(self) -> str:
        """A fresh ticket id, with the scenario ticket's content and thread."""
        ticket_id = str(uuid.uuid4().int % 10**9 + 10**9)
        self.zendesk.tickets[ticket_id] = {**self.zendesk.tickets[self.base_id], "id": int(ticket_id)}
        self.zendesk.comments[ticket_id] = [dict(c) for c in self.zendesk.comments.get(self.base_id, [])]
        return ticket_id

    def request(self, ticket_id: str) -> bytes:
        """The signed ``ticket.created`` webhook for ``ticket_id``, as raw HTTP/1.1."""
        body = json.loads(json.dumps(self.webhook))
        body["id"] = str(uuid.uuid4())
        body["detail"]["id"] = ticket_id
        raw = json.dumps(body).encode()
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        head = (
            f"POST /webhooks/zendesk HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(raw)}\r\nX-Zendesk-Webhook-Signature: {sign(ZENDESK_SECRET, stamp, raw)}\r\n"
            f"X-Zendesk-Webhook-Signature-Timestamp: {stamp}\r\n\r\n"
        )
        return head.encode() + raw

    def notes(self) -> int:
        """Notes written so far."""
        return sum(1 for r in self.zendesk.recorded if r["kind"] == "zendesk.note")


def send(port: int, requests: list[bytes], clients: int = 10) -> list[str]:
    """Post every request; returns the investigation ids of the 202 answers."""

    async def client(queue: list[bytes], ids: list[str]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                status, body = await asyncio.wait_for(_exchange(reader, writer, queue.pop()), timeout=30)
                if status != 202:
                    raise RuntimeError(f"webhook answered {status}: {body[:300]!r}")
                ids.append(json.loads(body)["investigation_id"])
        finally:
            writer.close()

    async def main() -> list[str]:
        queue, ids = list(requests), list[str]()
        await asyncio.gather(*(client(queue, ids) for _ in range(clients)))
        return ids

    return asyncio.run(main())


def wait_done(store: Store, ids: list[str], timeout_s: float) -> list[Record]:
    """Poll until every investigation is delivered (or failed delivery); bounded."""
    deadline = time.monotonic() + timeout_s
    pending = set(ids)
    records: dict[str, Record] = {}
    while pending and time.monotonic() < deadline:
        for inv_id in list(pending):
            status = store.redis.hget(store.key("inv", inv_id), "status")
            if status in DONE:
                record = store.get(inv_id)
                if record is not None:
                    records[inv_id] = record
                    pending.discard(inv_id)
        time.sleep(0.2)
    if pending:
        raise RuntimeError(f"{len(pending)} of {len(ids)} investigations not delivered after {timeout_s}s")
    return list(records.values())


def _seconds(later: datetime | None, earlier: datetime | None) -> float:
    return (later - earlier).total_seconds() if later and earlier else float("nan")


def _ready(proc: Process) -> bool:
    return b" ready." in proc.log_path.read_bytes()


def measure(
    env: dict[str, str], port: int, tickets: Tickets, log_dir: Path, *, workers: int, count: int, concurrency: int
) -> dict[str, Any]:
    """Start ``workers`` workers, send ``count`` webhooks, wait for every note; stop the workers."""
    store = Store.from_url(REDIS_URL)
    store.redis.flushdb()
    procs = [start_worker(env, log_dir, f"w{workers}-{i}", concurrency) for i in range(workers)]
    try:
        for proc in procs:
            proc.wait_until(partial(_ready, proc), 60, f"worker {proc.log_path.stem}")
        warm = send(port, [tickets.request(tickets.new()) for _ in range(2 * workers)])
        wait_done(store, warm, timeout_s=60)  # first tasks import the connectors and load the policy
        requests = [tickets.request(tickets.new()) for _ in range(count)]
        notes_before = tickets.notes()
        cpu_before = sum(cpu_seconds(p.pid) for p in procs)
        bench_before = time.process_time()
        started = time.perf_counter()
        ids = send(port, requests)
        records = wait_done(store, ids, timeout_s=60 + count * 3)
        wall = time.perf_counter() - started
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_before
        bench_cpu = time.process_time() - bench_before
    finally:
        for p in procs:
            p.stop()
        store.redis.flushdb()
    created = min(r.created_at for r in records)
    last = max(r.delivered_at or r.decided_at or r.created_at for r in records)
    span = (last - created).total_seconds()
    return {
        "workers": workers,
        "concurrency": concurrency,
        "investigations": len(records),
        "delivered": sum(1 for r in records if r.status.value == "delivered"),
        "notes": tickets.notes() - notes_before,
        "per_s": round(len(records) / span, 2) if span > 0 else None,
        "wall_s": round(wall, 2),
        "queue_wait_s": round(statistics.median(_seconds(r.started_at, r.created_at) for r in records), 2),
        "run_s": round(statistics.median(_seconds(r.decided_at, r.started_at) for r in records), 2),
        "deliver_s": round(statistics.median(_seconds(r.delivered_at, r.decided_at) for r in records), 2),
        "end_to_end_s": round(statistics.median(_seconds(r.delivered_at, r.created_at) for r in records), 2),
        "worker_cpu_ms_per_inv": round(1000 * cpu / len(records), 1),
        "standins_cpu_ms_per_inv": round(1000 * bench_cpu / len(records), 1),
    }


def run(
    *, counts: tuple[int, ...] = (1, 2, 4), investigations: int = 40, latency_ms: float = 200.0, concurrency: int = 8
) -> dict[str, Any]:
    """Throughput with each number of workers, against one world at ``latency_ms``."""
    scenario = load_scenario(SCENARIO)
    scenario = scenario.model_copy(update={"now": datetime.now(UTC)})  # the workers' clock is the real one
    redis.Redis.from_url(REDIS_URL).flushdb()
    world = ReplayWorld(scenario, injections_for(scenario, None, latency_ms)).__enter__()
    try:
        env = worker_env(scenario, world)
        zendesk = world.sandboxes["helpdesk"]
        assert isinstance(zendesk, ZendeskStandIn)
        tickets = Tickets(scenario, zendesk)
        with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
            server, port = start_server(env, Path(tmp))
            try:
                rows = [
                    measure(env, port, tickets, Path(tmp), workers=n, count=investigations, concurrency=concurrency)
                    for n in counts
                ]
            finally:
                server.stop()
    finally:
        close_world(world)
        redis.Redis.from_url(REDIS_URL).flushdb()
    return {"scenario": scenario.name, "latency_ms": latency_ms, "rows": rows}

"""Intake benchmark: signed generic webhooks vs ``/healthz`` on the same server, same load.

The real service runs as a uvicorn subprocess on 127.0.0.1 (a free port) against a dedicated
Redis database that is flushed before and after. The load generator is one asyncio process with
``clients`` keep-alive connections speaking plain HTTP/1.1 over streams (far cheaper per request
than an HTTP client library, so it leaves the CPU to the server on a 2-core machine). Every run is
bounded in time and count and stops by itself. Afterwards every accepted id is checked against
the store: no lost and no duplicated investigations.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from investigator.intake.generic import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from investigator.store import Store

REPO = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("INVESTIGATOR_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = "bench-generic-webhook-secret"
QUEUE = "investigator"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(redis_url: str, **extra: str) -> dict[str, str]:
    """This process's environment without any ``INVESTIGATOR_*`` setting, plus the bench's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVESTIGATOR_")}
    env.update(
        {
            "INVESTIGATOR_REDIS_URL": redis_url,
            "INVESTIGATOR_GENERIC_WEBHOOK_SECRET": SECRET,
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Process:
    """A subprocess in its own session, logging to a file, stopped (TERM, then KILL) by :meth:`stop`."""

    def __init__(self, cmd: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        """The process id."""
        return self.proc.pid

    def wait_until(self, ready: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Poll ``ready`` until it holds; fail with the log tail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{what} exited ({self.proc.returncode}): {self.log_path.read_text()[-2000:]}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{what} not ready after {timeout_s}s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after 15 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


def start_server(env: dict[str, str], log_dir: Path) -> tuple[Process, int]:
    """``run_server`` in a subprocess on a free port; returns once ``/healthz`` answers 200."""
    port = free_port()
    code = f"from investigator.api.app import run_server; run_server('127.0.0.1', {port})"
    server = Process([sys.executable, "-c", code], env, log_dir / "server.log")

    def healthy() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                return conn.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    server.wait_until(healthy, 30, "the HTTP service")
    return server, port


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) and its reaped children, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- load generator
def generic_body(ticket_id: str, tenant: str = "bench-tenant") -> bytes:
    """A valid generic webhook body with its own id (so its own delivery id)."""
    return json.dumps(
        {
            "id": ticket_id,
            "event": "ticket.created",
            "subject": "API returns 500 on export",
            "description": "Since this morning every export fails with a 500.",
            "tenant_id": tenant,
            "created_at": datetime.now(UTC).isoformat(),
        }
    ).encode()


def signed_post(path: str, body: bytes, secret: str = SECRET) -> bytes:
    """A keep-alive POST of ``body`` with the generic signature headers."""
    stamp = str(int(time.time()))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{TIMESTAMP_HEADER}: {stamp}\r\n"
        f"{SIGNATURE_HEADER}: {sign(secret, stamp, body)}\r\n\r\n"
    )
    return head.encode() + body


def get_request(path: str) -> bytes:
    """A keep-alive GET."""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length) if length else b""


@dataclass
class Load:
    """What one load run saw."""

    seconds: float
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)
    errors: int = 0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Requests/s and latency percentiles (milliseconds)."""
        lat = sorted(self.latencies_s)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else 0.0

        return {
            "requests": len(lat),
            "rps": round(len(lat) / self.seconds, 1),
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "statuses": dict(sorted(self.statuses.items())),
            "errors": self.errors,
            "server_cpu_pct": round(100 * self.server_cpu_s / self.seconds),
            "loadgen_cpu_pct": round(100 * self.client_cpu_s / self.seconds),
        }


async def _client(port: int, make: Callable[[], bytes], stop_at: float, max_requests: int, load: Load) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at and len(load.latencies_s) < max_requests:
            request = make()
            started = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(_exchange(reader, writer, request), timeout=30)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                load.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            load.latencies_s.append(time.perf_counter() - started)
            load.statuses[status] = load.statuses.get(status, 0) + 1
            if status == 202:
                load.bodies.append(body)
    finally:
        writer.close()


def drive(
    port: int, make: Callable[[], bytes], *, clients: int, seconds: float, max_requests: int, server_pid: int
) -> Load:
    """``clients`` connections sending ``make()`` back to back for ``seconds`` (at most ``max_requests``),
    with the CPU the server and this load generator used meanwhile."""

    async def main() -> Load:
        load = Load(seconds)
        cpu = (cpu_seconds(server_pid), time.process_time())
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(_client(port, make, stop_at, max_requests, load) for _ in range(clients)))
        load.seconds = time.perf_counter() - started
        load.server_cpu_s = cpu_seconds(server_pid) - cpu[0]
        load.client_cpu_s = time.process_time() - cpu[1]
        return load

    return asyncio.run(main())


# --------------------------------------------------------------------------- checks
def check_intake(store: Store, bodies: list[bytes], sent_ids: int) -> dict[str, Any]:
    """Every 202 names exactly one stored investigation, each enqueued once (in the outbox, or already
    relayed to the broker's queue); nothing else stored."""
    answers = [json.loads(b) for b in bodies]
    accepted = [a["investigation_id"] for a in answers if a.get("status") == "queued"]
    duplicates = sum(1 for a in answers if a.get("status") == "duplicate")
    distinct = set(accepted)
    stored_keys = [k for k in store.redis.scan_iter(match=store.key("inv", "*"), count=1000) if k.count(":") == 2]
    stored = {str(k).rsplit(":", 1)[1] for k in stored_keys}
    missing = [i for i in distinct if store.redis.hget(store.key("inv", i), "status") is None]
    queued = int(store.redis.llen(QUEUE)) + store.outbox_size()
    return {
        "sent": sent_ids,
        "accepted": len(accepted),
        "distinct_ids": len(distinct),
        "answered_duplicate": duplicates,
        "stored": len(stored),
        "lost": len(missing),
        "duplicated": len(accepted) - len(distinct) + len(stored - distinct),
        "enqueued": queued,
        "ok": not missing and len(accepted) == len(distinct) == len(stored) == queued and duplicates == 0,
    }


def run(seconds: float = 20.0, clients: int = 50, max_requests: int = 200_000) -> dict[str, Any]:
    """Intake then ``/healthz`` on one server under the same load; the ratio and the store check."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    client.flushdb()
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        server, port = start_server(base_env(REDIS_URL), Path(tmp))
        try:
            prefix = uuid.uuid4().hex[:8]
            counter = iter(range(10**9))
            sent: list[str] = []

            def webhook() -> bytes:
                ticket_id = f"{prefix}-{next(counter)}"
                sent.append(ticket_id)
                return signed_post("/webhooks/generic", generic_body(ticket_id))

            drive(port, webhook, clients=clients, seconds=1.0, max_requests=200, server_pid=server.pid)  # warm-up
            client.flushdb()
            sent.clear()
            intake = drive(
                port, webhook, clients=clients, seconds=seconds, max_requests=max_requests, server_pid=server.pid
            )
            health_request = get_request("/healthz")
            health = drive(
                port,
                lambda: health_request,
                clients=clients,
                seconds=seconds,
                max_requests=max_requests,
                server_pid=server.pid,
            )
            check = check_intake(Store(client), intake.bodies, len(intake.latencies_s))
        finally:
            server.stop()
            client.flushdb()
    ratio = intake.summary()["rps"] / health.summary()["rps"] if health.latencies_s else 0.0
    return {
        "clients": clients,
        "seconds": seconds,
        "intake": intake.summary(),
        "healthz": health.summary(),
        "ratio": round(ratio, 2),
        "check": check,
    }

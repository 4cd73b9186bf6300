"""The Celery application on Redis (broker and result backend), configured for at-least-once work.

Time limits are ordered, and checked at start-up (:func:`check_limits`)::

    connector client timeouts < source deadline < soft limit < hard limit
    every hard limit, retry countdown and the watchdog's ETA  < visibility timeout

Redelivered tasks are safe because every side effect is keyed by the investigation id.
Run a worker with ``celery -A tasks.app:celery_app worker`` (or ``investigator worker``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutdown
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from investigator.config import SectionSettings, Settings
from investigator.store import Store
from tasks import kombu_fix
from tasks.relay import OutboxRelay

QUEUE = "investigator"


class WorkerSettings(SectionSettings):
    """Celery tuning (``INVESTIGATOR_CELERY_*`` or ``[celery]``); the defaults suit production."""

    model_config = SettingsConfigDict(env_prefix="INVESTIGATOR_CELERY_", extra="ignore")
    toml_section: str | None = Field(default="celery", exclude=True)

    soft_margin_s: float = Field(default=5.0, gt=0, description="Source task soft limit = source deadline + this")
    hard_margin_s: float = Field(default=10.0, gt=0, description="Hard limit = soft limit + this")
    deliver_soft_limit_s: float = Field(default=60.0, gt=0, description="Soft time limit of a delivery attempt")
    deliver_max_retries: int = Field(default=5, ge=0, description="Delivery retries on transient upstream errors")
    deliver_max_countdown_s: float = Field(default=60.0, gt=0, description="Longest wait before a delivery retry")
    visibility_timeout_s: float = Field(
        default=3600.0, gt=0, description="Redis redelivers an unacknowledged task after this many seconds"
    )
    unacked_restore_interval_s: int = Field(default=10, ge=1, description="Seconds between unacked-restore sweeps")
    unacked_restore_throttle: int = Field(default=10, ge=1, description="Scan Redis on every Nth sweep")
    health_check_interval_s: int = Field(default=10, ge=1, description="Redis connection health check period")
    result_expires_s: int = Field(default=86400, gt=0, description="Chord counters and results expire after this")


@dataclass(frozen=True)
class Limits:
    """The time limits every task gets, derived from the product settings."""

    source_soft_s: float
    source_hard_s: float
    deliver_soft_s: float
    deliver_hard_s: float
    visibility_timeout_s: float


def limits(settings: Settings, worker: WorkerSettings) -> Limits:
    """Derive the limits and check their order."""
    source_soft = settings.source_deadline_s + worker.soft_margin_s
    found = Limits(
        source_soft_s=source_soft,
        source_hard_s=source_soft + worker.hard_margin_s,
        deliver_soft_s=worker.deliver_soft_limit_s,
        deliver_hard_s=worker.deliver_soft_limit_s + worker.hard_margin_s,
        visibility_timeout_s=worker.visibility_timeout_s,
    )
    check_limits(settings, worker, found)
    return found


def check_limits(settings: Settings, worker: WorkerSettings, found: Limits) -> None:
    """Refuse a configuration where Redis would redeliver a task that is still running or waiting."""
    problems: list[str] = []
    if not settings.source_deadline_s < found.source_soft_s < found.source_hard_s:
        problems.append("source deadline < soft limit < hard limit")
    longest = max(
        found.source_hard_s,
        found.deliver_hard_s,
        worker.deliver_max_countdown_s,
        settings.investigation_deadline_s + found.source_hard_s,
    )
    if longest >= found.visibility_timeout_s:
        problems.append(f"every limit, countdown and the watchdog ETA ({longest:.0f}s) < visibility timeout")
    if worker.result_expires_s <= settings.investigation_deadline_s + found.deliver_hard_s:
        problems.append("result_expires above the longest investigation")
    if problems:
        raise ValueError("celery time limits out of order: " + "; ".join(problems))


def make_celery(settings: Settings | None = None, worker: WorkerSettings | None = None) -> Celery:
    """The Celery app for a configuration (the web process uses it to enqueue, workers to run)."""
    settings = settings or Settings()
    worker = worker or WorkerSettings()
    found = limits(settings, worker)
    kombu_fix.install()
    app = Celery("investigator", include=["tasks.investigation"])
    transport = {
        "visibility_timeout": found.visibility_timeout_s,
        "unacked_restore_interval": worker.unacked_restore_interval_s,
        "unacked_restore_throttle": worker.unacked_restore_throttle,
        "health_check_interval": worker.health_check_interval_s,
        "socket_keepalive": True,
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "retry_on_timeout": True,
    }
    app.conf.update(
        broker_url=settings.redis_url,
        result_backend=settings.redis_url,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        redis_backend_health_check_interval=worker.health_check_interval_s,
        redis_socket_keepalive=True,
        redis_socket_timeout=30,
        redis_socket_connect_timeout=5,
        redis_retry_on_timeout=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_connection_timeout=3,
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_always_eager=False,
        task_ignore_result=False,
        task_track_started=False,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=worker.result_expires_s,
        result_extended=False,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        task_time_limit=found.source_hard_s,
        task_soft_time_limit=found.source_soft_s,
        worker_soft_shutdown_timeout=min(30.0, found.source_hard_s),
    )
    app.conf.investigator_limits = found
    app.conf.investigator_worker = worker
    return app


celery_app = make_celery()
_relay: OutboxRelay | None = None


@worker_ready.connect  # type: ignore[untyped-decorator]
def _start_relay(**_: Any) -> None:
    """Every worker node relays the intake's outbox to the broker."""
    global _relay
    settings = Settings()
    store = Store.from_url(settings.redis_url, socket_timeout_s=10.0)
    _relay = OutboxRelay(store, lambda inv_id: celery_app.send_task("investigator.start", args=[inv_id]))
    _relay.start()


@worker_shutdown.connect  # type: ignore[untyped-decorator]
def _stop_relay(**_: Any) -> None:
    if _relay is not None:
        _relay.stop()


def run_worker(*, concurrency: int | None = None, pool: str | None = None, loglevel: str = "INFO") -> None:
    """Run a worker in this process (``investigator worker``); prefork by default, so hard limits apply."""
    argv = ["worker", f"--loglevel={loglevel}", f"--queues={QUEUE}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if pool:
        argv.append(f"--pool={pool}")
    celery_app.worker_main(argv)

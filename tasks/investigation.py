"""The investigation as Celery tasks: the pipeline's own steps, distributed.

``start`` (build the context; run the helpdesk source first when it must resolve the tenant;
schedule the watchdog) -> ``chord(source x N)`` -> ``assemble`` (merge + checklist + decide)
-> ``deliver`` (note and escalation, retried on transient errors). Tasks pass the investigation
id; context, reports and packet live in Redis (:mod:`investigator.store`).

Exactly-once finalisation: ``assemble`` (the chord's body) and ``watchdog`` both call
:func:`finalize`, which takes the ``finalize`` claim first; the loser does nothing.
"""

from __future__ import annotations

import contextlib
import logging
import random
from functools import cache
from typing import Any

from celery import Task, chord
from celery.exceptions import SoftTimeLimitExceeded

from investigator import metrics
from investigator.errors import RateLimitedError, SourceTimeoutError, TransientError
from investigator.models import SourceReport, SourceStatus
from investigator.pipeline import (
    apply_helpdesk,
    assemble,
    build_context,
    failed_report,
    needs_resolution,
    run_sources,
)
from investigator.service import Runtime
from investigator.store import Status
from tasks.app import celery_app
from tasks.sinks import Recording, deliver_once

log = logging.getLogger("tasks.investigation")
LIMITS = celery_app.conf.investigator_limits
WORKER = celery_app.conf.investigator_worker
NO_REPORT = "no report before the deadline"
IDEMPOTENT: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": False}


@cache
def runtime() -> Runtime:
    """The worker's runtime (settings from the environment), built on first use."""
    return Runtime()


@celery_app.task(
    name="investigator.start", soft_time_limit=LIMITS.source_soft_s, time_limit=LIMITS.source_hard_s, **IDEMPOTENT
)  # type: ignore[untyped-decorator]
def start(inv_id: str) -> str:
    """Resolve the context, schedule the watchdog, launch the fan-out (once)."""
    rt = runtime()
    record = rt.store.get(inv_id)
    if record is None or not record.status.open:
        return "skipped"
    started = rt.store.mark_started(inv_id)
    if started is not None:
        rt.record_metric(metrics.record_queue_time, (started - record.created_at).total_seconds())
    if not rt.store.claimed(inv_id, "watchdog"):
        watchdog.apply_async((inv_id,), countdown=rt.settings.investigation_deadline_s)
        rt.store.claim(inv_id, "watchdog", "start")
    if rt.store.claimed(inv_id, "launch"):
        return "already launched"
    ctx = rt.store.context(inv_id) or build_context(record.ticket, rt.options, investigation_id=inv_id)
    connectors = rt.connectors()
    names = list(connectors)
    if needs_resolution(ctx, connectors):
        ctx, reports = run_sources(ctx, {"helpdesk": connectors["helpdesk"]}, rt.options)
        _save_report(rt, inv_id, reports[0])
        names.remove("helpdesk")
    _close(connectors)
    rt.store.save_context(inv_id, ctx)
    if names:
        chord([source.si(inv_id, name) for name in names])(assemble_task.s(inv_id))
    else:
        assemble_task.delay([], inv_id)
    rt.store.claim(inv_id, "launch", "start")
    return f"launched {len(names)} source task(s)"


@celery_app.task(
    name="investigator.source", soft_time_limit=LIMITS.source_soft_s, time_limit=LIMITS.source_hard_s, **IDEMPOTENT
)  # type: ignore[untyped-decorator]
def source(inv_id: str, name: str) -> dict[str, str]:
    """One source: never raises; every failure becomes its report (``unavailable`` on timeouts)."""
    rt = runtime()
    try:
        if rt.store.claimed(inv_id, "finalize"):
            return {"source": name, "status": "skipped: already finalised"}
        ctx = rt.store.context(inv_id)
        if ctx is None:
            return {"source": name, "status": "skipped: no context"}
        report = _run_one(rt, ctx, name)
        _save_report(rt, inv_id, report)
        return {"source": name, "status": report.status.value}
    except SoftTimeLimitExceeded:
        report = failed_report(name, SourceTimeoutError(f"{name}: the task's soft time limit passed"))  # type: ignore[arg-type]
        _save_report(rt, inv_id, report)
        return {"source": name, "status": report.status.value}
    except Exception as exc:
        log.exception("source task %s/%s failed", inv_id, name)
        return {"source": name, "status": f"failed: {type(exc).__name__}"}


def _run_one(rt: Runtime, ctx: Any, name: str) -> SourceReport:
    connectors = rt.connectors([name])
    try:
        if name not in connectors:
            return failed_report(name, SourceTimeoutError(f"{name} is not a configured source"))  # type: ignore[arg-type]
        _, reports = run_sources(ctx, connectors, rt.options)
        return reports[0]
    finally:
        _close(connectors)


def _save_report(rt: Runtime, inv_id: str, report: SourceReport) -> None:
    rt.store.save_report(inv_id, report)
    rt.record_metric(metrics.record_source, report.source, report.status.value, report.duration_ms / 1000)


def _close(connectors: dict[str, Any]) -> None:
    for connector in connectors.values():
        with contextlib.suppress(Exception):  # closing is best effort
            connector.close()


@celery_app.task(
    name="investigator.assemble", soft_time_limit=LIMITS.deliver_soft_s, time_limit=LIMITS.deliver_hard_s, **IDEMPOTENT
)  # type: ignore[untyped-decorator]
def assemble_task(_results: list[Any], inv_id: str) -> str:
    """The chord's body: finalise with every report."""
    return finalize(inv_id, "chord")


@celery_app.task(
    name="investigator.watchdog", soft_time_limit=LIMITS.deliver_soft_s, time_limit=LIMITS.deliver_hard_s, **IDEMPOTENT
)  # type: ignore[untyped-decorator]
def watchdog(inv_id: str) -> str:
    """At the deadline: finalise an investigation whose fan-out never completed, with what it has."""
    record = runtime().store.get(inv_id)
    if record is None or not record.status.open:
        return "nothing to do"
    return finalize(inv_id, "watchdog")


def finalize(inv_id: str, by: str) -> str:
    """Merge, decide, store the packet and enqueue delivery; once per investigation."""
    rt = runtime()
    if not rt.store.claim(inv_id, "finalize", by):
        return f"finalised by {rt.store.claimed(inv_id, 'finalize')}"
    record = rt.store.get(inv_id)
    if record is None:
        return "gone"
    ctx = rt.store.context(inv_id) or build_context(record.ticket, rt.options, investigation_id=inv_id)
    stored = rt.store.reports(inv_id)
    reports = [stored.get(name) or _missing(name) for name in rt.settings.sources]
    helpdesk = stored.get("helpdesk")
    if helpdesk is not None:
        ctx = apply_helpdesk(ctx, helpdesk)
    packet = assemble(ctx, reports, rt.engine.decide)
    rt.store.save_packet(inv_id, packet, Status.DECIDED, finalized_by=by)
    if packet.recommendation is not None:
        rt.record_metric(metrics.record_decision, packet.recommendation.action.value)
    rt.record_metric(metrics.record_finalization, by)
    deliver.delay(inv_id)
    return f"finalised by {by}"


def _missing(name: str) -> SourceReport:
    report = failed_report(name, SourceTimeoutError(f"{name}: {NO_REPORT}"))  # type: ignore[arg-type]
    return report.model_copy(update={"status": SourceStatus.UNAVAILABLE})


@celery_app.task(
    name="investigator.deliver",
    bind=True,
    max_retries=WORKER.deliver_max_retries,
    soft_time_limit=LIMITS.deliver_soft_s,
    time_limit=LIMITS.deliver_hard_s,
    **IDEMPOTENT,
)  # type: ignore[untyped-decorator]
def deliver(self: Task, inv_id: str) -> str:
    """Note and escalation; transient upstream errors retry with backoff, honouring Retry-After."""
    rt = runtime()
    record = rt.store.get(inv_id)
    if record is None or record.packet is None:
        return "nothing to deliver"
    if record.status is Status.DELIVERED:
        return "already delivered"
    lock = rt.redis.lock(rt.store.key("inv", inv_id, "delivering"), timeout=LIMITS.deliver_hard_s, blocking=False)
    if not lock.acquire():
        return "delivery in progress elsewhere"
    try:
        notes = Recording(rt.note_sink(record.helpdesk))
        escalations = Recording(rt.escalation_sink())
        first = rt.store.first_time(inv_id, "delivery_attempted", self.request.id or "deliver")
        packet = deliver_once(record, rt, notes, escalations, first_attempt=first)
    finally:
        _release(lock)
    transient = notes.transient or escalations.transient
    if transient is not None and self.request.retries < (self.max_retries or 0):
        countdown = retry_countdown(self.request.retries, transient, WORKER.deliver_max_countdown_s)
        log.warning("delivery of %s hit %s; retry in %.1fs", inv_id, type(transient).__name__, countdown)
        raise self.retry(countdown=countdown, exc=transient)
    failed = any(d.get("status") == "failed" for d in packet.deliveries)
    rt.store.save_packet(inv_id, packet, Status.DELIVERY_FAILED if failed else Status.DELIVERED)
    return "delivered" if not failed else "delivery failed"


def _release(lock: Any) -> None:
    with contextlib.suppress(Exception):  # expired or Redis gone: it expires by itself
        lock.release()


def retry_countdown(retries: int, error: TransientError, cap_s: float) -> float:
    """The upstream's Retry-After when it said one (capped), else exponential backoff with jitter."""
    if isinstance(error, RateLimitedError) and error.retry_after is not None:
        return min(max(error.retry_after, 0.5), cap_s)
    backoff: float = min(2.0 * float(2**retries), cap_s)
    return backoff * random.uniform(0.75, 1.25)

"""The investigation pipeline: resolve, fan out to every source under its own deadline, merge, decide.

Every step is a function over the models, so the Celery tasks distribute exactly these steps:
``build_context`` -> ``run_source`` per source (the helpdesk first when it must resolve the
tenant) -> ``assemble`` (merge, checklist, decision). :func:`investigate` runs them in process.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from investigator.checklist import build_checklist
from investigator.connector import Collected, Connector, InvestigationContext, ServiceConfig
from investigator.errors import NotConfiguredError, SourceError, SourceTimeoutError, TerminalError, TransientError
from investigator.models import EvidencePacket, Finding, SourceName, SourceReport, SourceStatus, Ticket, TimeWindow
from investigator.ticket_signals import ticket_findings

log = logging.getLogger("investigator.pipeline")

Decider = Callable[[EvidencePacket], EvidencePacket]


@dataclass
class PipelineOptions:
    """How one run behaves. ``sequential`` exists only for the fan-out benchmark's baseline."""

    source_deadline_s: float = 20.0
    window_hours: float = 6.0
    baseline_hours: float = 24.0
    services: dict[str, ServiceConfig] = field(default_factory=dict)
    compliance_critical_events: list[str] = field(default_factory=list)
    sequential: bool = False


def new_investigation_id() -> str:
    return f"inv_{uuid.uuid4().hex[:20]}"


def build_context(
    ticket: Ticket, options: PipelineOptions, *, now: datetime | None = None, investigation_id: str | None = None
) -> InvestigationContext:
    """Resolve the investigation's clock, window and baseline for a ticket."""
    now = now or datetime.now(UTC)
    window_start = now - timedelta(hours=options.window_hours)
    return InvestigationContext(
        investigation_id=investigation_id or new_investigation_id(),
        ticket=ticket,
        tenant_id=ticket.tenant_id,
        now=now,
        window=TimeWindow(start=window_start, end=now),
        baseline=TimeWindow(start=window_start - timedelta(hours=options.baseline_hours), end=window_start),
        services=dict(options.services),
        compliance_critical_events=list(options.compliance_critical_events),
    )


def _report_from(source: SourceName, collected: Collected, started: float) -> SourceReport:
    if not isinstance(collected, Collected):
        raise TerminalError(f"{source}: connector returned {type(collected).__name__}, not Collected")
    for item in collected.findings:
        if not isinstance(item, Finding):
            raise TerminalError(f"{source}: connector returned a {type(item).__name__} among its findings")
    return SourceReport(
        source=source,
        status=collected.status,
        findings=list(collected.findings),
        checked=list(collected.checked),
        duration_ms=(time.perf_counter() - started) * 1000,
        resolved_tenant=collected.resolved_tenant,
        ticket_update=collected.ticket_update,
    )


def failed_report(source: SourceName, error: BaseException, started: float | None = None) -> SourceReport:
    """The report for a source that failed: ``unavailable`` for transient causes, else ``error``."""
    if isinstance(error, NotConfiguredError):
        status = SourceStatus.NOT_CONFIGURED
    elif isinstance(error, TransientError):
        status = SourceStatus.UNAVAILABLE
    else:
        status = SourceStatus.ERROR
    reason = str(error) if isinstance(error, SourceError) else f"{type(error).__name__}: {error}"
    elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    return SourceReport(source=source, status=status, reason=reason[:500], duration_ms=elapsed)


def run_source(connector: Connector, ctx: InvestigationContext) -> SourceReport:
    """Run one connector; every failure becomes a report, never an exception."""
    started = time.perf_counter()
    source = connector.name
    if not connector.configured():
        return SourceReport(source=source, status=SourceStatus.NOT_CONFIGURED, reason=f"{source} is not configured")
    try:
        return _report_from(source, connector.collect(ctx), started)
    except SourceError as error:
        log.warning("source %s failed: %s", source, error)
        return failed_report(source, error, started)
    except ValidationError as error:
        return failed_report(
            source, TerminalError(f"{source}: malformed data: {error.error_count()} problem(s)"), started
        )
    except Exception as error:  # a connector bug must not sink the packet
        log.exception("source %s raised unexpectedly", source)
        return failed_report(source, error, started)


class _Run:
    """One source running on a daemon thread, so a hung upstream never holds the process."""

    def __init__(self, connector: Connector, ctx: InvestigationContext) -> None:
        self.connector = connector
        self.done = threading.Event()
        self.report: SourceReport | None = None
        self.started = time.perf_counter()
        self.thread = threading.Thread(target=self._run, args=(ctx,), name=f"source-{connector.name}", daemon=True)
        self.thread.start()

    def _run(self, ctx: InvestigationContext) -> None:
        try:
            self.report = run_source(self.connector, ctx)
        finally:
            self.done.set()

    def result(self, deadline: float) -> SourceReport:
        """The report, or ``unavailable`` when the deadline passes first."""
        if self.done.wait(max(0.0, deadline - time.perf_counter())) and self.report is not None:
            return self.report
        waited = time.perf_counter() - self.started
        return failed_report(
            self.connector.name,
            SourceTimeoutError(f"{self.connector.name}: no answer within its deadline ({waited:.1f}s)"),
            self.started,
        )


def apply_helpdesk(ctx: InvestigationContext, report: SourceReport) -> InvestigationContext:
    """What the helpdesk source learnt (tenant, ticket fields) folded into the context."""
    update: dict[str, Any] = {}
    ticket = ctx.ticket
    if report.ticket_update:
        allowed = {k: v for k, v in report.ticket_update.items() if k in Ticket.model_fields and v not in (None, "")}
        ticket = Ticket.model_validate({**ticket.model_dump(), **allowed})
        update["ticket"] = ticket
    if report.resolved_tenant and not ctx.tenant_id:
        update["tenant_id"] = report.resolved_tenant
        update["ticket"] = ticket.model_copy(update={"tenant_id": report.resolved_tenant})
    return ctx.model_copy(update=update) if update else ctx


def needs_resolution(ctx: InvestigationContext, connectors: Mapping[str, Connector]) -> bool:
    return "helpdesk" in connectors and ctx.ticket.helpdesk != "generic" and not ctx.tenant_id


def resolve_tenant(connector: Connector, ctx: InvestigationContext) -> InvestigationContext:
    """The helpdesk's cheap tenant resolution folded into the context (unchanged when unsupported).

    Raises what the connector raises: the caller turns it into the helpdesk's report."""
    early = connector.resolve(ctx) if connector.configured() else None
    if early is None:
        return ctx
    report = SourceReport(
        source=connector.name,
        status=SourceStatus.OK,
        resolved_tenant=early.resolved_tenant,
        ticket_update=early.ticket_update,
    )
    return apply_helpdesk(ctx, report)


class _Resolve(_Run):
    """Tenant resolution on a daemon thread, under the helpdesk source's deadline."""

    def _run(self, ctx: InvestigationContext) -> None:
        try:
            self.ctx = resolve_tenant(self.connector, ctx)
        except Exception as error:  # becomes the helpdesk's report; the other sources still run
            log.warning("tenant resolution by %s failed: %s", self.connector.name, type(error).__name__)
            self.report = failed_report(self.connector.name, error, self.started)
        finally:
            self.done.set()

    def context(self, ctx: InvestigationContext, deadline: float) -> InvestigationContext | None:
        """The resolved context (``ctx`` unchanged when resolution is unsupported or failed, see
        :attr:`report`), or None when it ran out of time."""
        if not self.done.wait(max(0.0, deadline - time.perf_counter())):
            return None
        return getattr(self, "ctx", ctx)


def run_sources(
    ctx: InvestigationContext, connectors: Mapping[str, Connector], options: PipelineOptions
) -> tuple[InvestigationContext, list[SourceReport]]:
    """Run every source concurrently, each under its own deadline.

    Sources that need the tenant wait for the helpdesk source when the ticket alone
    does not name it; the others start at once.
    """
    if options.sequential:
        return _run_sequentially(ctx, connectors, options)

    def deadline_of() -> float:
        return time.perf_counter() + options.source_deadline_s

    resolve_first = needs_resolution(ctx, connectors)
    waiting = [c for c in connectors.values() if resolve_first and c.needs_tenant]
    runs: dict[str, tuple[_Run, float]] = {}
    for c in connectors.values():
        if c not in waiting and not (resolve_first and c.name == "helpdesk"):
            runs[c.name] = (_Run(c, ctx), deadline_of())
    reports: dict[str, SourceReport] = {}
    if resolve_first:
        helpdesk = connectors["helpdesk"]
        resolving = _Resolve(helpdesk, ctx)
        early = resolving.context(ctx, deadline_of())
        if early is None or resolving.report is not None:  # timed out or failed: the rest runs without tenant
            reports["helpdesk"] = resolving.report or failed_report(
                "helpdesk", SourceTimeoutError("helpdesk: no answer within its deadline (tenant resolution)")
            )
            for c in waiting:
                runs[c.name] = (_Run(c, ctx), deadline_of())
        elif early.tenant_id or early is not ctx:
            ctx = early
            for c in [helpdesk, *waiting]:
                runs[c.name] = (_Run(c, ctx), deadline_of())
        else:  # no early resolution: the full helpdesk read resolves the tenant first
            reports["helpdesk"] = _Run(helpdesk, ctx).result(deadline_of())
            ctx = apply_helpdesk(ctx, reports["helpdesk"])
            for c in waiting:
                runs[c.name] = (_Run(c, ctx), deadline_of())
    for name, (run, deadline) in runs.items():
        if name not in reports:
            reports[name] = run.result(deadline)
    if "helpdesk" in reports:
        ctx = apply_helpdesk(ctx, reports["helpdesk"])
    ordered = [reports[c.name] for c in connectors.values()]
    return ctx, ordered


def _run_sequentially(
    ctx: InvestigationContext, connectors: Mapping[str, Connector], options: PipelineOptions
) -> tuple[InvestigationContext, list[SourceReport]]:
    reports: list[SourceReport] = []
    ordered = sorted(connectors.values(), key=lambda c: c.name != "helpdesk")
    for connector in ordered:
        report = _Run(connector, ctx).result(time.perf_counter() + options.source_deadline_s)
        if connector.name == "helpdesk":
            ctx = apply_helpdesk(ctx, report)
        reports.append(report)
    by_name = {r.source: r for r in reports}
    return ctx, [by_name[c.name] for c in connectors.values()]


def assemble(
    ctx: InvestigationContext, reports: Iterable[SourceReport], decide: Decider | None = None
) -> EvidencePacket:
    """Merge every report into the evidence packet, answer the checklist, and decide."""
    reports = list(reports)
    findings: list[Finding] = [f for r in reports for f in r.findings]
    findings.extend(ticket_findings(ctx.ticket))
    packet = EvidencePacket(
        investigation_id=ctx.investigation_id,
        ticket=ctx.ticket,
        window=ctx.window,
        baseline=ctx.baseline,
        now=ctx.now,
        reports=reports,
        findings=_dedupe(findings),
    )
    packet.checklist = build_checklist(packet)
    return decide(packet) if decide else packet


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: dict[str, Finding] = {}
    for item in findings:
        seen.setdefault(item.id, item)
    return list(seen.values())


def investigate(
    ticket: Ticket,
    connectors: Mapping[str, Connector],
    options: PipelineOptions,
    *,
    decide: Decider | None = None,
    now: datetime | None = None,
    investigation_id: str | None = None,
) -> EvidencePacket:
    """The whole investigation in process: context, fan-out, merge, decide."""
    ctx = build_context(ticket, options, now=now, investigation_id=investigation_id)
    ctx, reports = run_sources(ctx, connectors, options)
    return assemble(ctx, reports, decide)

"""The pipeline runs sources concurrently, each under its own deadline, and always yields a packet."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import ClassVar

from pydantic_settings import BaseSettings

from investigator.checklist import QUESTIONS
from investigator.connector import CheckResult, Collected, Connector, InvestigationContext
from investigator.errors import RateLimitedError, TerminalError
from investigator.models import SourceName, SourceStatus, Ticket
from investigator.pipeline import PipelineOptions, investigate
from investigator.signals import TelemetrySummary, finding

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


class NoSettings(BaseSettings):
    pass


class FakeSource(Connector):
    """A source whose behaviour is a function; counts its calls."""

    settings_class: ClassVar[type[BaseSettings]] = NoSettings

    def __init__(self, name: SourceName, behaviour, needs_tenant: bool = False) -> None:  # type: ignore[no-untyped-def]
        super().__init__(NoSettings())
        self.name = name  # type: ignore[misc]
        self.behaviour = behaviour
        self.needs_tenant = needs_tenant  # type: ignore[misc]
        self.calls: list[InvestigationContext] = []

    def configured(self) -> bool:
        return True

    def check(self) -> CheckResult:
        return CheckResult(self.name, True, True)

    def collect(self, ctx: InvestigationContext) -> Collected:
        self.calls.append(ctx)
        return self.behaviour(ctx)  # type: ignore[no-any-return]


def ticket(helpdesk: str = "generic", tenant: str | None = "acme") -> Ticket:
    return Ticket(helpdesk=helpdesk, id="T-1", subject="Webhooks missing", created_at=NOW, tenant_id=tenant)


def summary_finding() -> Collected:
    facts = TelemetrySummary(tenant_found=True, routes=["GET /v1/x"], requests=10, anomalies=0)
    return Collected(findings=[finding("clickhouse", facts, "10 requests, nothing anomalous")])


def test_two_blocking_sources_overlap_proven_by_ordering_not_timing() -> None:
    a_started, b_started = threading.Event(), threading.Event()

    def a(ctx: InvestigationContext) -> Collected:
        a_started.set()
        assert b_started.wait(5), "b never started while a was running: sources ran one after another"
        return Collected(no_data=True, checked=["a"])

    def b(ctx: InvestigationContext) -> Collected:
        b_started.set()
        assert a_started.wait(5), "a never started while b was running"
        return Collected(no_data=True, checked=["b"])

    sources = {"linear": FakeSource("linear", a), "github": FakeSource("github", b)}
    packet = investigate(ticket(), sources, PipelineOptions(source_deadline_s=10), now=NOW)
    assert [r.status for r in packet.reports] == [SourceStatus.NO_DATA, SourceStatus.NO_DATA]


def test_a_source_that_raises_becomes_an_error_report_and_the_packet_is_still_produced() -> None:
    def boom(ctx: InvestigationContext) -> Collected:
        raise ZeroDivisionError("bug in a connector")

    sources = {
        "clickhouse": FakeSource("clickhouse", lambda c: summary_finding()),
        "linear": FakeSource("linear", boom),
    }
    packet = investigate(ticket(), sources, PipelineOptions(), now=NOW)
    linear = packet.report("linear")
    assert linear is not None and linear.status is SourceStatus.ERROR
    assert "ZeroDivisionError" in (linear.reason or "")
    assert packet.report("clickhouse").status is SourceStatus.OK  # type: ignore[union-attr]


def test_a_source_past_its_deadline_is_unavailable_and_does_not_stall_the_others() -> None:
    release = threading.Event()

    def hang(ctx: InvestigationContext) -> Collected:
        release.wait(30)
        return Collected()

    sources = {
        "stripe": FakeSource("stripe", hang),
        "clickhouse": FakeSource("clickhouse", lambda c: summary_finding()),
    }
    try:
        packet = investigate(ticket(), sources, PipelineOptions(source_deadline_s=0.3), now=NOW)
    finally:
        release.set()
    stripe = packet.report("stripe")
    assert stripe is not None and stripe.status is SourceStatus.UNAVAILABLE
    assert "deadline" in (stripe.reason or "")
    assert packet.report("clickhouse").status is SourceStatus.OK  # type: ignore[union-attr]


def test_garbage_from_a_connector_is_an_error_report() -> None:
    sources = {"github": FakeSource("github", lambda c: {"not": "collected"})}
    packet = investigate(ticket(), sources, PipelineOptions(), now=NOW)
    assert packet.report("github").status is SourceStatus.ERROR  # type: ignore[union-attr]


def test_transient_and_terminal_errors_map_to_unavailable_and_error() -> None:
    def limited(ctx: InvestigationContext) -> Collected:
        raise RateLimitedError("stripe: HTTP 429: rate limited", retry_after=30)

    def refused(ctx: InvestigationContext) -> Collected:
        raise TerminalError("github: HTTP 401: authentication failed")

    sources = {"stripe": FakeSource("stripe", limited), "github": FakeSource("github", refused)}
    packet = investigate(ticket(), sources, PipelineOptions(), now=NOW)
    assert packet.report("stripe").status is SourceStatus.UNAVAILABLE  # type: ignore[union-attr]
    assert packet.report("github").status is SourceStatus.ERROR  # type: ignore[union-attr]


def test_tenant_sources_wait_for_the_helpdesk_to_resolve_the_tenant() -> None:
    helpdesk = FakeSource("helpdesk", lambda c: Collected(no_data=True, resolved_tenant="saltmarsh"))
    stripe = FakeSource("stripe", lambda c: Collected(no_data=True), needs_tenant=True)
    linear = FakeSource("linear", lambda c: Collected(no_data=True))
    packet = investigate(
        ticket("zendesk", tenant=None),
        {"helpdesk": helpdesk, "stripe": stripe, "linear": linear},
        PipelineOptions(),
        now=NOW,
    )
    assert stripe.calls[0].tenant_id == "saltmarsh"
    assert linear.calls[0].tenant_id is None  # started at once, without waiting
    assert packet.ticket.tenant_id == "saltmarsh"


def test_the_checklist_marks_unanswered_questions_with_the_reason() -> None:
    def down(ctx: InvestigationContext) -> Collected:
        raise RateLimitedError("stripe: HTTP 429")

    sources = {
        "clickhouse": FakeSource("clickhouse", lambda c: summary_finding()),
        "stripe": FakeSource("stripe", down),
    }
    packet = investigate(ticket(), sources, PipelineOptions(), now=NOW)
    by_key = {c.key: c for c in packet.checklist}
    assert len(by_key) == len(QUESTIONS) == 6
    assert by_key["symptom"].answered
    assert not by_key["account"].answered and "429" in (by_key["account"].reason or "")
    assert not by_key["changes"].answered and "not part of this investigation" in (by_key["changes"].reason or "")
    assert not by_key["communication"].answered and "generic webhook" in (by_key["communication"].reason or "")


def test_the_sequential_switch_runs_one_source_at_a_time() -> None:
    running = threading.Semaphore(1)
    overlaps: list[bool] = []

    def probe(ctx: InvestigationContext) -> Collected:
        got = running.acquire(blocking=False)
        overlaps.append(not got)
        try:
            threading.Event().wait(0.05)
        finally:
            if got:
                running.release()
        return Collected(no_data=True)

    sources = {n: FakeSource(n, probe) for n in ("linear", "github", "stripe")}
    investigate(ticket(), sources, PipelineOptions(sequential=True), now=NOW)
    assert overlaps == [False, False, False]


class HangingResolver(FakeSource):
    """A helpdesk whose early tenant resolution never answers."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__("helpdesk", lambda c: Collected(no_data=True, resolved_tenant="never"))
        self.release = release

    def resolve(self, ctx: InvestigationContext) -> Collected | None:
        self.release.wait(30)
        return None


def test_a_helpdesk_that_cannot_resolve_the_tenant_in_time_is_unavailable_and_the_rest_still_runs() -> None:
    release = threading.Event()
    stripe = FakeSource("stripe", lambda c: Collected(no_data=True), needs_tenant=True)
    try:
        packet = investigate(
            ticket("zendesk", tenant=None),
            {"helpdesk": HangingResolver(release), "stripe": stripe},
            PipelineOptions(source_deadline_s=0.3),
            now=NOW,
        )
    finally:
        release.set()
    helpdesk = packet.report("helpdesk")
    assert helpdesk is not None and helpdesk.status is SourceStatus.UNAVAILABLE
    assert "tenant resolution" in (helpdesk.reason or "")
    assert len(stripe.calls) == 1 and stripe.calls[0].tenant_id is None

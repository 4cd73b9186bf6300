"""Packets built by the real pipeline (assemble + the default policy) from hand-made reports."""

from __future__ import annotations

from datetime import UTC, datetime

from investigator.models import Action, Finding, Recommendation, Requester, Severity, SourceReport, SourceStatus, Ticket
from investigator.pipeline import PipelineOptions, assemble, build_context
from investigator.policy.engine import decider
from investigator.store import Record, Status, Store

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def ticket(ticket_id: str = "T-1", **extra: object) -> Ticket:
    values: dict = {
        "helpdesk": "zendesk",
        "id": ticket_id,
        "subject": "Webhooks <b>missing</b> since 9am",  # type: ignore[type-arg]
        "description": "We stopped receiving invoice.paid",
        "tenant_id": "acme",
        "created_at": NOW,
        "url": "https://acme.zendesk.test/agent/tickets/1",
        **extra,
    }
    return Ticket(**values)


def packet(inv_id: str, t: Ticket | None = None, findings: list[Finding] | None = None):  # type: ignore[no-untyped-def]
    t = t or ticket()
    ctx = build_context(t, PipelineOptions(), now=NOW, investigation_id=inv_id)
    reports = [
        SourceReport(
            source="clickhouse",
            status=SourceStatus.OK if findings else SourceStatus.NO_DATA,
            findings=findings or [],
            checked=["otel_traces for acme"],
            duration_ms=120,
        ),
        SourceReport(source="linear", status=SourceStatus.UNAVAILABLE, reason="linear: HTTP 503", duration_ms=30),
    ]
    return assemble(ctx, reports, decider().decide)


def escalated(p, team: str = "Core API"):  # type: ignore[no-untyped-def]
    """The packet as the policy would send it to engineering (what an escalation delivery sees)."""
    rec = p.recommendation or Recommendation(action=Action.ESCALATE, severity=Severity.SEV2)
    rec = rec.model_copy(
        update={
            "action": Action.ESCALATE,
            "severity": Severity.SEV2,
            "team": team,
            "impact": "high",
            "certainty": "high",
        }
    )
    return p.model_copy(update={"recommendation": rec})


def stored(store: Store, p, status: Status = Status.DECIDED) -> Record:  # type: ignore[no-untyped-def]
    record = Record(
        id=p.investigation_id,
        status=Status.QUEUED,
        helpdesk=p.ticket.helpdesk,
        ticket_id=p.ticket.id,
        event_id=f"evt-{p.investigation_id}",
        event_type="ticket.created",
        ticket=p.ticket,
        created_at=datetime.now(UTC),
    )
    store.create(record)
    store.save_packet(p.investigation_id, p, status, finalized_by="test")
    got = store.get(p.investigation_id)
    assert got is not None
    return got


__all__ = ["Requester", "escalated", "packet", "stored", "ticket"]

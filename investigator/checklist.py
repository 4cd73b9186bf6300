"""The six-question evidence checklist of DOMAIN.md, answered from the packet (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from investigator.models import ChecklistItem, EvidencePacket, Finding, SourceName, SourceStatus


@dataclass(frozen=True)
class Question:
    key: str
    question: str
    sources: tuple[SourceName, ...]
    kinds: tuple[str, ...]
    nothing_found: str


QUESTIONS: tuple[Question, ...] = (
    Question(
        "symptom",
        "Symptom verification: the exact error/latency pattern in telemetry",
        ("clickhouse",),
        ("error_rate", "latency", "client_errors", "webhook_deliveries", "missing_traffic", "telemetry_summary"),
        "telemetry shows no error or latency anomaly for this tenant",
    ),
    Question(
        "scope",
        "Scope / blast radius: this tenant only or several; which endpoints; since when",
        ("clickhouse",),
        ("blast_radius",),
        "no anomaly to scope: nothing departs from its baseline",
    ),
    Question(
        "known_issues",
        "Known issue check: matching Linear issues and prior similar tickets",
        ("linear",),
        ("known_issue", "prior_ticket"),
        "no open bug, incident or prior ticket matches",
    ),
    Question(
        "account",
        "Account and entitlement: plan, subscription status, entitlements, invoices, disputes",
        ("stripe",),
        ("billing_state", "entitlements", "charge_issue", "account_not_found"),
        "no billing records found for this tenant",
    ),
    Question(
        "changes",
        "Change correlation: deploys, releases and merged changes near the onset",
        ("github",),
        ("deployment", "release"),
        "no production deploy or release of a configured service in the lookback",
    ),
    Question(
        "communication",
        "Customer communication: what the thread already acknowledged or promised",
        ("helpdesk",),
        ("conversation", "prior_ticket", "tenant_unresolved"),
        "the thread holds no agent reply yet",
    ),
)

_STATUS_WORDS = {
    SourceStatus.NOT_CONFIGURED: "not configured",
    SourceStatus.UNAVAILABLE: "unavailable",
    SourceStatus.ERROR: "failed",
}


def _answer(findings: list[Finding]) -> str:
    return "; ".join(f.summary for f in findings[:4]) + (f" (+{len(findings) - 4} more)" if len(findings) > 4 else "")


def answer_question(q: Question, packet: EvidencePacket) -> ChecklistItem:
    """One checklist item: answered from findings, or unanswered with the reason."""
    reports = [r for s in q.sources if (r := packet.report(s)) is not None]
    relevant = [f for f in packet.findings if f.kind in q.kinds and f.source in q.sources]
    base = ChecklistItem(key=q.key, question=q.question, answered=False, sources=list(q.sources))
    if not reports:
        return base.model_copy(update={"reason": f"{', '.join(q.sources)} not part of this investigation"})
    failed = [r for r in reports if not r.usable]
    if failed and not relevant:
        why = "; ".join(f"{r.source} {_STATUS_WORDS.get(r.status, r.status)}: {r.reason or ''}".strip() for r in failed)
        return base.model_copy(update={"reason": why})
    if not relevant:
        checked = "; ".join(c for r in reports for c in r.checked)
        return base.model_copy(
            update={"answered": True, "answer": q.nothing_found + (f" (checked: {checked})" if checked else "")}
        )
    return base.model_copy(update={"answered": True, "answer": _answer(relevant), "findings": [f.id for f in relevant]})


def build_checklist(packet: EvidencePacket) -> list[ChecklistItem]:
    """All six questions for a packet."""
    items = [answer_question(q, packet) for q in QUESTIONS]
    if packet.ticket.helpdesk == "generic":
        comm = items[-1]
        if not any(f.kind == "conversation" for f in packet.findings):
            items[-1] = comm.model_copy(
                update={
                    "answered": False,
                    "answer": None,
                    "reason": "the generic webhook carries no thread; the helpdesk API was not queried",
                }
            )
    return items

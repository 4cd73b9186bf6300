"""Delivery of the packet: a private note on the ticket, and for escalations an issue (or a comment
on the active incident) in the owning team. Idempotent per investigation: the sinks find what
they already wrote by the investigation's key, so retries and redeliveries write once.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from markdown_it import MarkdownIt

from investigator.models import Action, EvidencePacket, Severity
from investigator.redact import redact_packet, redact_text
from investigator.render.markdown import note_changes, render_note
from investigator.signals import KnownIssue

log = logging.getLogger("investigator.delivery")
_MD = MarkdownIt("commonmark", {"html": False}).enable("table")
PRIORITY = {Severity.SEV1: 1, Severity.SEV2: 2, Severity.SEV3: 3, Severity.SEV4: 4}


class NoteSink(Protocol):
    """Where the private note goes (the helpdesk)."""

    def post_private_note(
        self, *, ticket_id: str, html_body: str, idempotency_key: str, first_attempt: bool = ...
    ) -> dict[str, Any]: ...


class EscalationSink(Protocol):
    """Where escalations go (the issue tracker)."""

    def escalate(
        self,
        *,
        idempotency_key: str,
        team_name: str,
        title: str,
        body_markdown: str,
        priority: int,
        label: str = ...,
        first_attempt: bool = ...,
    ) -> dict[str, Any]: ...

    def comment(self, *, idempotency_key: str, issue_id: str, body_markdown: str) -> dict[str, Any]: ...


def note_html(packet: EvidencePacket, page_url: str | None, previous: EvidencePacket | None = None) -> str:
    """The note as HTML for the helpdesk (Zendesk ``html_body``); Markdown source, raw HTML disabled."""
    return str(_MD.render(render_note(packet, page_url, changes=note_changes(previous, packet))))


def deliver_note(
    packet: EvidencePacket,
    sink: NoteSink | None,
    page_url: str | None,
    previous: EvidencePacket | None = None,
    *,
    first_attempt: bool = False,
) -> dict[str, Any]:
    """Post the note once per investigation."""
    if sink is None:
        return {"kind": "note", "status": "skipped", "reason": f"no write API for helpdesk {packet.ticket.helpdesk}"}
    result = sink.post_private_note(
        ticket_id=packet.ticket.id,
        html_body=note_html(packet, page_url, previous),
        idempotency_key=packet.investigation_id,
        first_attempt=first_attempt,
    )
    return {"kind": "note", "status": "delivered", **result}


def _active_incident(packet: EvidencePacket) -> KnownIssue | None:
    rec = packet.recommendation
    if rec is None:
        return None
    cited = {fid for r in rec.reason_details for fid in r.findings}
    for f in packet.findings:
        if f.kind == KnownIssue.KIND and f.id in cited:
            issue = KnownIssue.of(f)
            if issue.is_incident and issue.state_type not in ("completed", "canceled"):
                return issue
    return None


def escalation_body(packet: EvidencePacket, page_url: str | None) -> str:
    """The redacted packet as the issue body: impact and ask first, SLA, link back to the ticket."""
    safe = redact_packet(packet)
    ticket = f"Ticket: {packet.ticket.url or packet.ticket.helpdesk + '#' + packet.ticket.id}"
    return redact_text(render_note(safe, page_url) + "\n\n" + ticket)


def deliver_escalation(
    packet: EvidencePacket, sink: EscalationSink | None, page_url: str | None, *, first_attempt: bool = False
) -> dict[str, Any]:
    """For escalate/incident: one issue in the owning team, or one comment on the active incident."""
    rec = packet.recommendation
    if rec is None or rec.action not in (Action.ESCALATE, Action.INCIDENT):
        return {"kind": "escalation", "status": "not_needed"}
    if sink is None:
        return {"kind": "escalation", "status": "skipped", "reason": "no issue tracker configured"}
    body = escalation_body(packet, page_url)
    incident = _active_incident(packet)
    if incident is not None:
        result = sink.comment(idempotency_key=packet.investigation_id, issue_id=incident.identifier, body_markdown=body)
        return {"kind": "escalation", "status": "commented", "issue": incident.identifier, **result}
    title = redact_text(f"[{rec.severity.value}] {packet.ticket.subject}"[:200])
    result = sink.escalate(
        idempotency_key=packet.investigation_id,
        team_name=rec.team or "Support Escalations",
        title=title,
        body_markdown=body,
        priority=PRIORITY[rec.severity],
        label="investigator",
        first_attempt=first_attempt,
    )
    return {"kind": "escalation", "status": "created" if result.get("created") else "found", **result}


def deliver(
    packet: EvidencePacket,
    notes: NoteSink | None,
    escalations: EscalationSink | None,
    page_url: str | None,
    previous: EvidencePacket | None = None,
    *,
    first_attempt: bool = False,
) -> EvidencePacket:
    """Both deliveries, concurrently; failures are recorded on the packet, never raised past here.

    ``first_attempt``: the caller's own record shows no earlier delivery of this investigation was
    attempted, so the sinks may skip their read-before-write (retries must pass False)."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="deliver") as pool:
        note = pool.submit(deliver_note, packet, notes, page_url, previous, first_attempt=first_attempt)
        issue = pool.submit(deliver_escalation, packet, escalations, page_url, first_attempt=first_attempt)
        outcomes = [_outcome("note", note), _outcome("escalation", issue)]
    return packet.model_copy(update={"deliveries": outcomes, "page_url": page_url})


def _outcome(kind: str, future: Future[dict[str, Any]]) -> dict[str, Any]:
    try:
        return future.result()
    except Exception as error:  # a failed delivery is reported on the packet, never raised
        log.warning("delivery of %s failed: %s", kind, type(error).__name__)
        return {"kind": kind, "status": "failed", "reason": f"{type(error).__name__}: {error}"[:300]}

"""The packet in the terminal (rich): recommendation first, then checklist, evidence and sources."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from investigator.models import EvidencePacket

_COLOR = {"resolve": "green", "investigate": "yellow", "escalate": "dark_orange", "incident": "red"}


def packet_view(packet: EvidencePacket) -> Group:
    """A renderable of the whole packet."""
    parts: list[Panel | Table | Text] = []
    rec = packet.recommendation
    if rec is not None:
        color = _COLOR.get(rec.action.value, "white")
        body = Text()
        body.append(f"{rec.headline}\n{rec.ask}\n\n", style="bold")
        body.append(f"{rec.action.value.upper()} {rec.severity.value}", style=f"bold {color}")
        body.append(f"  team: {rec.team or '-'}  impact: {rec.impact}  certainty: {rec.certainty}\n")
        for reason in rec.reasons:
            body.append(f"- {reason}\n")
        if rec.next_steps:
            body.append("\nNext steps:\n", style="bold")
            for i, step in enumerate(rec.next_steps, 1):
                body.append(f"{i}. {step}\n")
        if rec.draft_reply:
            body.append("\nDraft reply:\n", style="bold")
            body.append(rec.draft_reply + "\n", style="italic")
        title = f"{packet.ticket.helpdesk}#{packet.ticket.id}: {packet.ticket.subject}"
        parts.append(Panel(body, title=title, border_style=color))
    checklist = Table(title="Checklist", show_lines=False, expand=True)
    checklist.add_column("question", ratio=2)
    checklist.add_column("answer", ratio=5)
    for item in packet.checklist:
        answer = item.answer if item.answered else f"[red]not answered[/red]: {item.reason}"
        checklist.add_row(item.key, answer or "")
    parts.append(checklist)
    findings = Table(title="Evidence", expand=True)
    findings.add_column("source")
    findings.add_column("kind")
    findings.add_column("summary", ratio=4)
    findings.add_column("citation", ratio=2)
    for f in packet.findings:
        cite = f.citations[0] if f.citations else None
        findings.add_row(f.source, f.kind, f.summary, (cite.url or cite.label) if cite else "")
    parts.append(findings)
    sources = Table(title="Sources", expand=True)
    for col in ("source", "status", "ms", "reason"):
        sources.add_column(col)
    for r in packet.reports:
        sources.add_row(r.source, r.status.value, f"{r.duration_ms:.0f}", r.reason or "; ".join(r.checked[:2]))
    parts.append(sources)
    if packet.deliveries:
        deliveries = Table(title="Deliveries", expand=True)
        deliveries.add_column("kind")
        deliveries.add_column("status")
        deliveries.add_column("detail", ratio=3)
        for d in packet.deliveries:
            detail = {k: v for k, v in d.items() if k not in ("kind", "status")}
            deliveries.add_row(str(d.get("kind")), str(d.get("status")), str(detail)[:200])
        parts.append(deliveries)
    return Group(*parts)


def print_packet(packet: EvidencePacket, console: Console | None = None) -> None:
    (console or Console()).print(packet_view(packet))

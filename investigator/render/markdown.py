"""The Markdown note for the ticket: business impact and the ask in the first two lines, then evidence."""

from __future__ import annotations

from datetime import datetime

from investigator.models import Citation, EvidencePacket, Finding, Recommendation, SourceReport

_ICON = {
    "ok": "ok",
    "no_data": "no data",
    "not_configured": "not configured",
    "unavailable": "UNAVAILABLE",
    "error": "ERROR",
}


def _cite(c: Citation) -> str:
    if c.url:
        return f"[{c.label}]({c.url})"
    if c.query:
        return f"{c.label} (query)"
    return c.label + (f" `{c.object_id}`" if c.object_id else "")


def _finding_line(f: Finding) -> str:
    cites = ", ".join(_cite(c) for c in f.citations[:3])
    return f"- **{f.source}** {f.summary}" + (f" — {cites}" if cites else "")


def _sla_lines(rec: Recommendation) -> list[str]:
    sla = rec.sla
    if not (sla.acknowledge_by or sla.resolve_by):
        return [f"- SLA: {sla.policy or rec.severity.value} (backlog)"]

    def fmt(d: datetime | None) -> str:
        return d.strftime("%Y-%m-%d %H:%M UTC") if d else "—"

    return [
        f"- SLA ({sla.policy}): acknowledge by {fmt(sla.acknowledge_by)}, first update by "
        f"{fmt(sla.first_update_by)}, resolve by {fmt(sla.resolve_by)}"
    ]


def _source_line(r: SourceReport) -> str:
    reason = f" — {r.reason}" if r.reason else ""
    return f"- {r.source}: {_ICON.get(r.status.value, r.status.value)} ({r.duration_ms:.0f} ms){reason}"


def render_note(packet: EvidencePacket, page_url: str | None = None, *, changes: list[str] | None = None) -> str:
    """The private note: impact, ask, decision, what changed, checklist, evidence, sources."""
    rec = packet.recommendation
    lines: list[str] = []
    if rec is not None:
        lines += [f"**{rec.headline}**", f"**{rec.ask}**", ""]
        team = f" → {rec.team}" if rec.team else ""
        lines.append(f"Recommendation: **{rec.action.value.upper()}** ({rec.severity.value}){team}")
        if rec.route:
            lines.append(f"On-call route: {rec.route}")
        lines += _sla_lines(rec)
        lines += ["", "Why:"] + [f"- {r}" for r in rec.reasons]
    if changes:
        lines += ["", "What changed since the last investigation:"] + [f"- {c}" for c in changes]
    if rec is not None and rec.next_steps:
        lines += ["", "Next steps:"] + [f"{i}. {s}" for i, s in enumerate(rec.next_steps, 1)]
    if rec is not None and rec.draft_reply:
        lines += ["", "Draft reply:", ""] + [f"> {line}" if line else ">" for line in rec.draft_reply.splitlines()]
    lines += ["", "Checklist:"]
    for item in packet.checklist:
        mark = "x" if item.answered else " "
        lines.append(
            f"- [{mark}] {item.question}: {item.answer if item.answered else 'NOT ANSWERED — ' + (item.reason or '')}"
        )
    if packet.findings:
        lines += ["", "Evidence:"] + [_finding_line(f) for f in packet.findings]
    lines += ["", "Sources:"] + [_source_line(r) for r in packet.reports]
    if page_url:
        lines += ["", f"Full evidence packet: {page_url}"]
    lines.append(f"Investigation {packet.investigation_id}")
    return "\n".join(lines)


def note_changes(previous: EvidencePacket | None, current: EvidencePacket) -> list[str]:
    """What a re-investigation found different from the previous one."""
    if previous is None or previous.recommendation is None or current.recommendation is None:
        return []
    changes: list[str] = []
    old, new = previous.recommendation, current.recommendation
    if (old.action, old.severity) != (new.action, new.severity):
        changes.append(
            f"recommendation {old.action.value}/{old.severity.value} → {new.action.value}/{new.severity.value}"
        )
    old_ids = {f.id for f in previous.findings}
    added = [f.summary for f in current.findings if f.id not in old_ids]
    gone = [f.summary for f in previous.findings if f.id not in {g.id for g in current.findings}]
    changes += [f"new: {s}" for s in added[:5]] + [f"no longer seen: {s}" for s in gone[:5]]
    return changes or ["nothing new since the last investigation"]

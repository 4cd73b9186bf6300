"""The agents' page: the recommendation first, then each checklist question with its evidence
and links, then the sources. One self-contained HTML document, no JavaScript; every value escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import urlsplit

from investigator.models import ChecklistItem, Citation, EvidencePacket, Finding, Recommendation, SourceReport

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1c1e21}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px} h3{font-size:15px;margin:0 0 6px}
.meta{color:#5f6368;font-size:13px}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px 20px;margin:12px 0}
.rec{border-left:6px solid #5f6368}
.rec.resolve{border-left-color:#1e8e3e}.rec.investigate{border-left-color:#f9ab00}
.rec.escalate{border-left-color:#e8710a}.rec.incident{border-left-color:#d93025}
.action{font-size:22px;font-weight:700;text-transform:uppercase;letter-spacing:.04em}
.ask{font-weight:600}
.q.unanswered{border-left:4px solid #d93025}.q.answered{border-left:4px solid #1e8e3e}
ul{margin:6px 0;padding-left:20px} li{margin:3px 0}
.src{display:inline-block;font-size:12px;font-weight:600;background:#eef1f5;border-radius:4px;padding:0 6px}
table{border-collapse:collapse;width:100%;font-size:14px}
td,th{border-bottom:1px solid #e3e6ea;padding:6px;text-align:left}
blockquote{margin:8px 0;padding:8px 12px;background:#f1f3f4;border-radius:6px;white-space:pre-wrap}
a{color:#1a5fb4}
"""


def _link(url: str | None, label: str) -> str:
    """An anchor for http(s) URLs only; anything else is shown as text."""
    if url and urlsplit(url).scheme in ("http", "https"):
        return f'<a href="{escape(url, quote=True)}" rel="noopener noreferrer">{escape(label)}</a>'
    return escape(label)


def _citation(c: Citation) -> str:
    if c.url:
        return _link(c.url, c.label)
    text = escape(c.label)
    if c.object_id:
        text += f" <code>{escape(c.object_id)}</code>"
    if c.query:
        text += f" <details><summary>query</summary><pre>{escape(c.query)}</pre></details>"
    return text


def _finding(f: Finding) -> str:
    cites = "; ".join(_citation(c) for c in f.citations)
    detail = f"<br><span class=meta>{escape(f.detail)}</span>" if f.detail else ""
    return (
        f"<li><span class=src>{escape(f.source)}</span> {escape(f.summary)}{detail}"
        + (f"<br><span class=meta>{cites}</span>" if cites else "")
        + "</li>"
    )


def _when(moment: datetime | None) -> str:
    return escape(moment.strftime("%Y-%m-%d %H:%M UTC")) if moment else "&mdash;"


def _recommendation(rec: Recommendation | None) -> str:
    if rec is None:
        return '<section id=recommendation class="card rec"><div class=action>No recommendation yet</div></section>'
    team = f" &rarr; {escape(rec.team)}" if rec.team else ""
    route = f"<p>On-call route: {escape(rec.route)}</p>" if rec.route else ""
    sla = rec.sla
    sla_line = (
        (
            f"<p class=meta>SLA {escape(sla.policy)}: acknowledge by {_when(sla.acknowledge_by)}, first update by "
            f"{_when(sla.first_update_by)}, resolve by {_when(sla.resolve_by)}</p>"
        )
        if sla.acknowledge_by
        else ""
    )
    reasons = "".join(f"<li>{escape(r)}</li>" for r in rec.reasons)
    steps = "".join(f"<li>{escape(s)}</li>" for s in rec.next_steps)
    reply = f"<h3>Draft reply</h3><blockquote>{escape(rec.draft_reply)}</blockquote>" if rec.draft_reply else ""
    return (
        f'<section id=recommendation class="card rec {escape(rec.action.value)}">'
        f"<div class=action>{escape(rec.action.value)} <span class=meta>{escape(rec.severity.value)}</span>{team}</div>"
        f"<p><strong>{escape(rec.headline)}</strong></p><p class=ask>{escape(rec.ask)}</p>{route}{sla_line}"
        f"<h3>Why</h3><ul>{reasons}</ul>"
        + (f"<h3>Next steps</h3><ol>{steps}</ol>" if steps else "")
        + reply
        + "</section>"
    )


def _question(item: ChecklistItem, by_id: dict[str, Finding]) -> str:
    state = "answered" if item.answered else "unanswered"
    answer = escape(item.answer or "") if item.answered else f"Not answered: {escape(item.reason or 'no evidence')}"
    evidence = "".join(_finding(by_id[i]) for i in item.findings if i in by_id)
    sources = ", ".join(escape(s) for s in item.sources)
    return (
        f'<div class="card q {state}"><h3>{escape(item.question)}</h3><p>{answer}</p>'
        + (f"<ul>{evidence}</ul>" if evidence else "")
        + (f"<p class=meta>Sources: {sources}</p>" if sources else "")
        + "</div>"
    )


def _source_row(r: SourceReport) -> str:
    return (
        f"<tr><td>{escape(r.source)}</td><td>{escape(r.status.value)}</td><td>{r.duration_ms:.0f} ms</td>"
        f"<td>{escape(r.reason or '')}</td></tr>"
    )


def render_page(packet: EvidencePacket) -> str:
    """The whole page for one packet."""
    ticket = packet.ticket
    by_id = {f.id: f for f in packet.findings}
    cited = {i for item in packet.checklist for i in item.findings}
    other = [f for f in packet.findings if f.id not in cited]
    title = f"{ticket.subject or 'Ticket ' + ticket.id}"
    ticket_link = _link(ticket.url, f"{ticket.helpdesk} #{ticket.id}")
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)} &middot; investigation</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1><p class=meta>{ticket_link} &middot; tenant {escape(ticket.tenant_id or 'unknown')}"
        f" &middot; investigation {escape(packet.investigation_id)} &middot; "
        f"{escape(packet.now.strftime('%Y-%m-%d %H:%M UTC'))}</p>",
        _recommendation(packet.recommendation),
        "<section id=checklist><h2>Evidence checklist</h2>",
        *(_question(item, by_id) for item in packet.checklist),
        "</section>",
    ]
    if other:
        parts.append(
            "<section id=evidence><h2>Other evidence</h2><div class=card><ul>"
            + "".join(_finding(f) for f in other)
            + "</ul></div></section>"
        )
    parts.append(
        "<section id=sources><h2>Sources</h2><div class=card><table><tr><th>source</th><th>status</th>"
        "<th>time</th><th>reason</th></tr>"
        + "".join(_source_row(r) for r in packet.reports)
        + "</table></div></section>"
    )
    parts.append("</main></body></html>")
    return "".join(parts)

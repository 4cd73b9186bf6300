"""What the ticket text itself says: pure functions, no I/O.

The ticket's tone, priority and self-diagnosis never decide by themselves; the one
exception is a credible security or data-integrity report, which is a hard trigger.
These findings carry source ``helpdesk`` (the ticket thread is the helpdesk's).
"""

from __future__ import annotations

import re

from investigator.models import Citation, Finding, Ticket
from investigator.signals import TicketSignal, finding

# Phrases are regular expressions over lower-cased text; each describes a situation, not a mood.
SIGNAL_PATTERNS: dict[str, tuple[str, ...]] = {
    "security_report": (
        # someone else's data shown to this customer: an exposure verb, then another party's data
        r"\b(see|seeing|saw|seen|shown|showing|showed|shows|visible|displayed|displaying|display|access|accessed|"
        r"received|receiving|opened|downloaded)\b[^.!?\n]{0,60}\b(another|other|a different|someone else'?s?) "
        r"(company|customer|tenant|organi[sz]ation|account|business)('?s)?\b",
        r"\b(another|a different) (company|customer|tenant|organi[sz]ation|account)'s (data|invoices?|records?|"
        r"customers?|contacts?|files?|reports?|orders?|users?|information)\b",
        r"\b(data|invoices?|records?|information|contacts?|orders?) (that|which) (is|are) not ours\b",
        r"\bnone of (this|these|it) (is|are) ours\b",
        r"\bunauthori[sz]ed (access|login|sign[- ]?in|user)",
        r"\b(suspicious|unknown|unrecogni[sz]ed|strange) (login|log[- ]?in|sign[- ]?in|access|session)s?\b",
        r"\b(data (leak|breach|exposure)|security (breach|incident|vulnerability)|leaked|exposed (our|their|customer))",
        r"\b(account|api key|token|password)s? (was |were |has been |have been )?(compromised|hijacked|stolen)",
        r"\bcross[- ]tenant (data|access|leak|exposure)",
        r"\bprivacy (problem|issue|breach|incident)",
    ),
    "data_integrity_report": (
        r"\b(data|records?|rows?|invoices?|contacts?|orders?) (were |was |have been |has been |got )?"
        r"(deleted|lost|wiped|corrupted|overwritten|disappeared)\b",
        r"\bdata (loss|corruption)\b",
        r"\b(wrong|incorrect) (totals?|amounts?|balances?) (on|in) (all|every|many)\b",
        r"\bduplicated? (records?|rows?|entries)\b",
    ),
    "billing_question": (
        r"\b(invoice|invoiced|charged?|charges|billing|billed|refund|payment|card|plan|upgrade[d]?|downgrade[d]?|"
        r"subscription|proration|prorated|receipt)\b",
    ),
    "feature_request": (r"\b(feature request|would be (nice|great)|please add|can you add|roadmap)\b",),
    "how_to": (r"\b(how (do|can|to) (i|we)|is there a way|where (do|can) i find)\b",),
}

ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE)\s+(/[\w\-./{}:]*)")


def _phrases(text: str, patterns: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        for match in re.finditer(pattern, text):
            found.append(match.group(0))
    return found


def mentioned_routes(text: str) -> list[str]:
    """``METHOD /path`` strings in free text, in order, without duplicates."""
    return list(dict.fromkeys(f"{m.group(1)} {m.group(2).rstrip('.,')}" for m in ROUTE.finditer(text)))


def ticket_findings(ticket: Ticket) -> list[Finding]:
    """Signals read from the ticket's subject and description (and tags)."""
    text = f"{ticket.subject}\n{ticket.description}\n{' '.join(ticket.tags)}".lower()
    citation = Citation(label=f"ticket {ticket.helpdesk}#{ticket.id}", url=ticket.url, object_id=ticket.id)
    findings: list[Finding] = []
    for signal, patterns in SIGNAL_PATTERNS.items():
        phrases = _phrases(text, patterns)
        if not phrases:
            continue
        findings.append(
            finding(
                "helpdesk",
                TicketSignal(signal=signal, phrases=phrases[:5]),
                f"The ticket reads as a {signal.replace('_', ' ')}: \u201c{phrases[0]}\u201d",
                citations=[citation],
                strength=0.9 if signal in ("security_report", "data_integrity_report") else 0.3,
                points_to=signal,
            )
        )
    return findings

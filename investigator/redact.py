"""Redaction of personal data before anything leaves the support system (pure)."""

from __future__ import annotations

import re
from typing import Any

from investigator.models import EvidencePacket

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("[email]", re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")),
    ("[api-key]", re.compile(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}\b")),
    ("[api-key]", re.compile(r"\b(?:ghp|gho|ghs|ghu|github_pat|lin_api|xox[abpr])_[A-Za-z0-9_]{10,}\b")),
    ("[token]", re.compile(r"(?i)\b(bearer|token|api[_-]?key|secret|password)\s*[:=]?\s*[A-Za-z0-9._\-]{12,}")),
    ("[token]", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\b")),
    ("[card]", re.compile(r"\b(?:\d[ \-]?){12,18}\d\b")),
    ("[phone]", re.compile(r"(?<![\w/.])\+?\(?\d{1,4}\)?[ .\-]?\(?\d{2,4}\)?[ .\-]\d{3,4}[ .\-]?\d{3,4}(?![\w/])")),
)


def redact_text(text: str, names: list[str] | None = None) -> str:
    """Replace emails, API keys and tokens, card numbers, phone numbers and the given names."""
    for label, pattern in _PATTERNS:
        text = pattern.sub(label, text)
    for name in names or []:
        for part in {name, *name.split()}:
            if len(part) >= 3:
                text = re.sub(rf"\b{re.escape(part)}\b", "[name]", text)
    return text


def _walk(value: Any, names: list[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, names)
    if isinstance(value, list):
        return [_walk(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, names) for k, v in value.items()}
    return value


def redact_packet(packet: EvidencePacket) -> EvidencePacket:
    """A copy of the packet with personal data removed from every text field."""
    names = [n for n in (packet.ticket.requester.name,) if n]
    data = _walk(packet.model_dump(mode="json"), names)
    data["ticket"]["requester"] = {
        "email": "[email]" if packet.ticket.requester.email else None,
        "name": "[name]" if packet.ticket.requester.name else None,
    }
    return EvidencePacket.model_validate(data)

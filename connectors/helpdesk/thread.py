"""Reading a Zendesk thread: who replied, what support acknowledged or promised, similar subjects.

Pure functions over Zendesk API objects (no I/O), so the connector stays small and these
rules are tested on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

AGENT_ROLES = frozenset({"agent", "admin"})

_APOS = r"['\u2019]"
PROMISE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\bwe{_APOS}?(?:re| are) (?:looking into|investigating|working on)\b",
        rf"\b(?:we{_APOS}ll|we will|will) (?:get back to you|follow up|circle back)\b",
        rf"\b(?:we{_APOS}ll|we will|will) keep you (?:posted|updated|informed)\b",
        rf"\b(?:we{_APOS}ll|we will|will) (?:update|contact|reply to|notify) you\b",
        r"\b(?:update|respond|reply|back to you) (?:by|within|before) \w+",
        r"\bETA\b",
        r"\bescalated (?:this |it )?to\b",
        r"\b(?:fix|patch) (?:is|will be) (?:deployed|released|shipped|rolling out|scheduled)\b",
    )
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_CLAUSE = re.compile(r"\s+[-\u2013\u2014]\s+|;\s*")
_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    {
        "the",
        "and",
        "for",
        "with",
        "from",
        "our",
        "your",
        "you",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "not",
        "but",
        "this",
        "that",
        "these",
        "those",
        "all",
        "any",
        "can",
        "cannot",
        "into",
        "out",
        "via",
        "get",
        "got",
        "its",
        "please",
        "help",
        "issue",
        "issues",
        "problem",
        "since",
    }
)


def promises_in(text: str) -> list[str]:
    """Each clause of ``text`` that promises or acknowledges work, quoted as written."""
    found: list[str] = []
    for sentence in _SENTENCE.split(text or ""):
        for clause in _CLAUSE.split(sentence):
            quoted = clause.strip().strip(".!?,").strip()
            if quoted and any(p.search(quoted) for p in PROMISE_PATTERNS) and quoted not in found:
                found.append(quoted)
    return found


def comment_text(comment: dict[str, Any]) -> str:
    """The plain text of a Zendesk comment (``plain_body`` or ``body``)."""
    return str(comment.get("plain_body") or comment.get("body") or "")


def is_agent(author_id: Any, users: dict[str, dict[str, Any]], requester_id: Any) -> bool:
    """True when the author is an agent/admin (by sideloaded role; unknown authors other than the requester count)."""
    user = users.get(str(author_id))
    if user is not None and user.get("role"):
        return str(user["role"]) in AGENT_ROLES
    return author_id is not None and str(author_id) != str(requester_id)


@dataclass
class ThreadSummary:
    """What the public thread tells the customer so far."""

    public_replies: int = 0
    acknowledged: bool = False
    promises: list[str] = field(default_factory=list)
    last_agent_reply_at: datetime | None = None
    agent_comment_ids: list[str] = field(default_factory=list)


def summarize(comments: list[dict[str, Any]], users: dict[str, dict[str, Any]], requester_id: Any) -> ThreadSummary:
    """Count public agent replies, collect their promises and the last reply time."""
    summary = ThreadSummary()
    for comment in comments:
        if comment.get("public") is False or not is_agent(comment.get("author_id"), users, requester_id):
            continue
        summary.public_replies += 1
        summary.agent_comment_ids.append(str(comment.get("id")))
        for promise in promises_in(comment_text(comment)):
            if promise not in summary.promises:
                summary.promises.append(promise)
        created = parse_time(comment.get("created_at"))
        if created and (summary.last_agent_reply_at is None or created > summary.last_agent_reply_at):
            summary.last_agent_reply_at = created
    summary.acknowledged = summary.public_replies > 0
    return summary


def parse_time(value: Any) -> datetime | None:
    """A Zendesk ISO-8601 timestamp, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def words(text: str) -> set[str]:
    """Significant lowercase words of a subject."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in STOPWORDS}


def similarity(a: str, b: str) -> float:
    """Word overlap of two subjects (Jaccard over significant words), 0..1."""
    left, right = words(a), words(b)
    if not left or not right:
        return 0.0
    return round(len(left & right) / len(left | right), 3)

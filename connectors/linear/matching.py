"""Reading Linear issues: what they mention, how far their fix is, how well they match a ticket.

Pure functions, no I/O. Scoring combines independent pieces of evidence as
``1 - prod(1 - w)``: a shared route (0.6), a shared event type (0.5), each shared HTTP
error status (0.35), each shared keyword (0.18 when the issue's title or labels carry it,
0.1 when only its description does). Keywords are lower-cased words of three letters or
more, stopwords (English and support small talk) removed, lightly stemmed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_METHOD_ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+`?(/[A-Za-z0-9_\-./{}:]*)")
_BARE_PATH = re.compile(r"(?<![\w/])(/v\d+/[A-Za-z0-9_\-./{}]+)")
_STATUS = re.compile(
    r"(?<![\w#./:-])([45]\d{2})(?![\w%]|\.\d|\s*(?:ms|s|sec|secs|seconds|rows|px|kb|mb|gb|days|minutes|min)\b)"
)
_EVENT = re.compile(r"(?<![\w./@-])([a-z][a-z_]{2,}(?:\.[a-z][a-z_]{2,}){1,2})(?![\w/@-]|\.[a-z])")
_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[a-z][a-z0-9]*")
_PR_REF = re.compile(r"\b([\w.-]+/[\w.-]+)#(\d+)(?:\s*,\s*(merged|open|closed))?")
_PR_URL = re.compile(r"https?://github\.com/([\w.-]+/[\w.-]+)/pull/(\d+)")
_WORKAROUND = re.compile(r"\bwork-?around\s*:\s*(.+)", re.IGNORECASE)
_ETA_LABEL = re.compile(r"\bETA\s*[:\-]\s*(.+)", re.IGNORECASE)
_ETA_WORDS = re.compile(
    r"\b(deploys?|deploying|ships|shipping|will ship|will deploy|rolls? out|rolling out|goes out|release)\b",
    re.IGNORECASE,
)
_SHIPPED = re.compile(
    r"\bfix(?:es|ed)?\b[^.\n]{0,40}\b(deployed|shipped|released|rolled out|is live|went out)\b", re.IGNORECASE
)
_MERGED = re.compile(
    r"(?<!not )(?<!un)\bmerged\b|\bfix\b[^.\n]{0,40}\b(deploys|ships|will (?:deploy|ship|be deployed|be released)|"
    r"shipping|rolling out|goes out)\b",
    re.IGNORECASE,
)
_IN_PROGRESS = re.compile(
    r"\b(fix in progress|working on a fix|fix is in review|pr open|pull request open|draft pr)\b", re.IGNORECASE
)
_EVENT_SUFFIXES = ("ed", "paid", "sent", "due", "upcoming")
FIX_ORDER = ("none", "in_progress", "merged", "shipped")

STOPWORDS = frozenset(
    """
    the and for with this that from not are was were been being have has had when what which who how why where
    there here very much more most less than then them its into onto over under about after before while does did
    doing done make made use used using new old one two three per via etc our ours you your they their theirs she
    his her him its all any some none can cant cannot could would should will shall may might must also just only
    own same such too way well yes now still again since until today tonight yesterday tomorrow morning afternoon
    evening night week weeks day days hour hours minute minutes time times hi hello hey thanks thank thx please
    regards kind best cheers team customer customers user users someone anyone everyone something anything
    look looks looking seem seems like know need needs want see take tried try trying get gets got getting work
    works working worked fine quite exactly lot many other let able help issue issues problem problems bug bugs
    error errors api broken wrong weird strange urgent asap fix fixed fixes happen happens happening ok okay
    request requests response responses answer answers internal server sure really always never every each
    what whats dont doesnt isnt wont
    """.split()  # noqa: SIM905
)


def stem(word: str) -> str:
    """A light stemmer: ``exports``/``exported``/``exporting`` -> ``export``; ``invoices`` -> ``invoic``."""
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ing") and len(w) > 5:
        w = w[:-3]
    elif w.endswith("ed") and len(w) > 4:
        w = w[:-2]
    elif w.endswith("s") and len(w) > 3 and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    return w[:-1] if w.endswith("e") and len(w) > 3 else w


def keyword_words(text: str) -> dict[str, str]:
    """Stemmed content words of ``text`` (URLs dropped), each with the first word it came from."""
    found: dict[str, str] = {}
    for word in _WORD.findall(_URL.sub(" ", text.lower())):
        if len(word) >= 3 and word not in STOPWORDS:
            found.setdefault(stem(word), word)
    return found


def keywords(text: str) -> set[str]:
    """Stemmed content words of ``text``."""
    return set(keyword_words(text))


def _plain(text: str) -> str:
    return text.replace("**", "").replace("__", "").replace("`", "")


def routes(text: str) -> list[str]:
    """``METHOD /path`` mentions, in order, without duplicates."""
    found = [f"{m.group(1)} {m.group(2).rstrip('.,:;)')}" for m in _METHOD_ROUTE.finditer(_plain(text))]
    return list(dict.fromkeys(found))


def bare_paths(text: str) -> set[str]:
    """API paths mentioned with or without a method (``/v1/exports``)."""
    return {p.rstrip(".,:;)") for p in _BARE_PATH.findall(_plain(text))}


def status_codes(text: str) -> list[int]:
    """HTTP error statuses (4xx/5xx) mentioned in ``text``, in order."""
    codes = [int(m) for m in _STATUS.findall(_URL.sub(" ", _plain(text)))]
    return list(dict.fromkeys(codes))


def event_types(text: str) -> set[str]:
    """Webhook event types such as ``order.created`` or ``invoice.payment_failed``."""
    found = _EVENT.findall(_URL.sub(" ", _plain(text)))
    return {e for e in found if e.rsplit(".", 1)[-1].endswith(_EVENT_SUFFIXES)}


def sentences(text: str) -> list[str]:
    """Sentences of a markdown text (emphasis and code marks removed)."""
    parts: list[str] = []
    for line in _plain(text).splitlines():
        parts.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if s.strip())
    return parts


def workaround(description: str) -> str | None:
    """The sentence after ``Workaround:``, if the description has one."""
    for sentence in sentences(description):
        match = _WORKAROUND.search(sentence)
        if match:
            return match.group(1).strip()
    return None


def eta(description: str) -> str | None:
    """An ``ETA: ...`` or a sentence saying when the fix deploys/ships."""
    found = sentences(description)
    for sentence in found:
        match = _ETA_LABEL.search(sentence)
        if match:
            return match.group(1).strip()
    for sentence in found:
        if "fix" in sentence.lower() and _ETA_WORDS.search(sentence):
            return sentence
    return None


def linked_prs(description: str, attachments: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """GitHub pull requests from attachments (state from their subtitle/title) and ``repo#N`` mentions."""
    prs: dict[str, dict[str, Any]] = {}
    for att in attachments:
        match = _PR_URL.match(str(att.get("url") or ""))
        if not match:
            continue
        label = f"{att.get('subtitle') or ''} {att.get('title') or ''}".lower()
        state = "merged" if "merged" in label else "closed" if "closed" in label else "open"
        url = match.group(0)
        prs[url] = {"title": att.get("title"), "url": url, "state": state, "number": int(match.group(2))}
    for match in _PR_REF.finditer(description):
        url = f"https://github.com/{match.group(1)}/pull/{match.group(2)}"
        prs.setdefault(
            url, {"title": None, "url": url, "state": match.group(3) or "unknown", "number": int(match.group(2))}
        )
    return list(prs.values())


def fix_status(state_type: str, description: str, prs: list[dict[str, Any]]) -> str:
    """none | in_progress | merged | shipped, from the state, linked PRs and the description."""
    if state_type == "completed":
        return "shipped"
    if state_type == "canceled":
        return "none"
    levels = [0]
    if state_type == "started":
        levels.append(1)
    for pr in prs:
        levels.append({"merged": 2, "open": 1}.get(str(pr.get("state")), 0))
    text = _plain(description)
    if _SHIPPED.search(text):
        levels.append(3)
    elif _MERGED.search(text):
        levels.append(2)
    elif _IN_PROGRESS.search(text):
        levels.append(1)
    return FIX_ORDER[max(levels)]


@dataclass(frozen=True)
class TicketTerms:
    """What a ticket mentions, extracted once."""

    routes: frozenset[str]
    paths: frozenset[str]
    status_codes: frozenset[int]
    event_types: frozenset[str]
    keywords: frozenset[str]

    @classmethod
    def from_text(cls, text: str) -> TicketTerms:
        found_routes = routes(text)
        return cls(
            routes=frozenset(found_routes),
            paths=frozenset(bare_paths(text) | {r.split(" ", 1)[1] for r in found_routes}),
            status_codes=frozenset(status_codes(text)),
            event_types=frozenset(event_types(text)),
            keywords=frozenset(keywords(text)),
        )


@dataclass
class Match:
    """How an issue matched a ticket."""

    score: float = 0.0
    matched_on: list[str] = field(default_factory=list)


def score(ticket: TicketTerms, title: str, description: str, labels: list[str]) -> Match:
    """Score an issue's text against a ticket's terms (0..1) and say why."""
    text = f"{title}\n{description}"
    weights: list[float] = []
    why: list[str] = []
    issue_routes = routes(text)
    issue_paths = bare_paths(text) | {r.split(" ", 1)[1] for r in issue_routes}
    for route in issue_routes:
        if route in ticket.routes:
            weights.append(0.6)
            why.append(f"route {route}")
    for path in sorted(issue_paths & ticket.paths):
        if not any(w.endswith(f" {path}") for w in why):
            weights.append(0.5)
            why.append(f"path {path}")
    for code in status_codes(text):
        if code in ticket.status_codes:
            weights.append(0.35)
            why.append(f"status {code}")
    for event in sorted(event_types(text) & ticket.event_types):
        weights.append(0.5)
        why.append(f"event {event}")
    prominent = keyword_words(title + " " + " ".join(labels))
    words = {**keyword_words(description), **prominent}
    for key in sorted(set(words) & ticket.keywords):
        weights.append(0.18 if key in prominent else 0.1)
        why.append(f"keyword {words[key]}")
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return Match(score=round(1.0 - remaining, 3), matched_on=why)

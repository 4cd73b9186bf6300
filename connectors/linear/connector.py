"""The Linear evidence source: known issues (open bugs, incidents, recent fixes) matching the ticket."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from connectors.linear import matching
from connectors.linear.client import LinearClient, load_document
from connectors.linear.config import LinearSettings
from investigator.connector import CheckResult, Collected, Connector, InvestigationContext
from investigator.errors import NotConfiguredError, SourceError, TerminalError
from investigator.models import Citation, Finding
from investigator.retry import RetryPolicy
from investigator.signals import KnownIssue, finding

OPEN_STATES = ["triage", "backlog", "unstarted", "started"]
QUERY = "KnownIssueCandidates"
WEAK_MATCH = 0.3
"""Matches below this score (one or two shared keywords, no route/status/event) are labelled weak."""
_INCIDENT_TITLE = re.compile(r"^\s*\[?(incident|outage|inc-\d+)\b", re.IGNORECASE)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _labels_filter(names: list[str]) -> dict[str, Any]:
    return {"some": {"or": [{"name": {"eqIgnoreCase": n}} for n in names]}}


def candidate_filter(ctx: InvestigationContext, settings: LinearSettings) -> dict[str, Any]:
    """IssueFilter: open bugs/incidents, incidents created in the window, recently completed/canceled."""
    open_bugs: dict[str, Any] = {"state": {"type": {"in": OPEN_STATES}}}
    if settings.bug_labels:
        open_bugs["labels"] = _labels_filter(settings.bug_labels)
    since = _iso(ctx.now - timedelta(days=settings.completed_lookback_days))
    branches: list[dict[str, Any]] = [
        open_bugs,
        {"completedAt": {"gte": since}},
        {"canceledAt": {"gte": since}},
    ]
    if settings.incident_labels:
        branches.insert(
            1,
            {"labels": _labels_filter(settings.incident_labels), "createdAt": {"gte": _iso(ctx.window.start)}},
        )
    return {"or": branches}


@dataclass
class Candidates:
    """Issues fetched, and how the fetch went."""

    issues: list[dict[str, Any]]
    pages: int
    truncated: bool


class LinearConnector(Connector):
    """Finds Linear issues that explain a ticket: open bugs, incidents, fixes in flight or shipped."""

    name = "linear"
    settings_class = LinearSettings
    needs_tenant: ClassVar[bool] = False

    def __init__(self, settings: LinearSettings, *, retry: RetryPolicy | None = None) -> None:
        super().__init__(settings)
        self.settings: LinearSettings = settings
        self.client = LinearClient(settings, retry=retry)

    def close(self) -> None:
        """Close the HTTP session."""
        self.client.close()

    def configured(self) -> bool:
        """True when an API key is set."""
        return self.settings.api_key is not None and bool(self.settings.api_key.get_secret_value())

    def check(self) -> CheckResult:
        """Configuration and a cheap ``organization`` query."""
        if not self.configured():
            return CheckResult(self.name, configured=False, missing=["INVESTIGATOR_LINEAR_API_KEY"])
        try:
            data = self.client.query("Organization")
        except SourceError as exc:
            return CheckResult(self.name, configured=True, reachable=False, detail=str(exc))
        org = data.get("organization") or {}
        return CheckResult(self.name, configured=True, reachable=True, detail=f"workspace {org.get('urlKey')}")

    def fetch_candidates(self, variables_filter: dict[str, Any]) -> Candidates:
        """Candidate issues, following cursors for at most ``max_pages`` pages."""
        issues: dict[str, dict[str, Any]] = {}
        after: str | None = None
        pages = 0
        has_next = False
        while pages < self.settings.max_pages:
            data = self.client.query(
                QUERY, {"filter": variables_filter, "first": self.settings.page_size, "after": after}
            )
            connection = data.get("issues")
            if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
                raise TerminalError("linear: malformed answer (issues.nodes missing)")
            pages += 1
            for node in connection["nodes"]:
                if isinstance(node, dict) and node.get("id"):
                    issues.setdefault(str(node["id"]), node)
            info = connection.get("pageInfo") or {}
            has_next = bool(info.get("hasNextPage"))
            after = info.get("endCursor")
            if not has_next or not after:
                break
        return Candidates(list(issues.values()), pages, truncated=has_next)

    def collect(self, ctx: InvestigationContext) -> Collected:
        """Known issues matching the ticket, best first; ``no_data`` when none qualifies."""
        if not self.configured():
            raise NotConfiguredError("linear: api_key is not set (INVESTIGATOR_LINEAR_API_KEY)")
        flt = candidate_filter(ctx, self.settings)
        fetched = self.fetch_candidates(flt)
        terms = matching.TicketTerms.from_text(f"{ctx.ticket.text}\n{' '.join(ctx.ticket.tags)}")
        query_citation = Citation(
            label="Linear issues query",
            query=load_document(QUERY),
            parameters={"filter": flt, "first": self.settings.page_size, "pages": fetched.pages},
        )
        ranked = self._rank(ctx, terms, fetched.issues)
        checked = self._checked(ctx, fetched)
        if not ranked:
            return Collected(no_data=True, checked=checked)
        findings = [self._finding(issue, facts, query_citation) for issue, facts in ranked]
        return Collected(findings=findings, checked=checked)

    def _checked(self, ctx: InvestigationContext, fetched: Candidates) -> list[str]:
        ids = ", ".join(sorted(str(i.get("identifier")) for i in fetched.issues)) or "none"
        lines = [
            f"Linear: {len(fetched.issues)} candidate issues in {fetched.pages} page(s) (open "
            f"{'/'.join(self.settings.bug_labels) or 'issues'}, incidents opened since {_iso(ctx.window.start)}, "
            f"completed or canceled in the last {self.settings.completed_lookback_days:g} days): {ids}",
            f"matched against the ticket's routes, HTTP statuses, event types and keywords "
            f"(threshold {self.settings.min_match_score:g})",
        ]
        if fetched.truncated:
            lines.append(f"stopped after {self.settings.max_pages} pages; older candidates were not checked")
        return lines

    def _rank(
        self, ctx: InvestigationContext, terms: matching.TicketTerms, issues: list[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], KnownIssue]]:
        scored: list[tuple[dict[str, Any], KnownIssue]] = []
        for issue in issues:
            facts = self.known_issue_facts(issue, terms)
            opened = facts.created_at is not None and ctx.window.start <= facts.created_at < ctx.window.end
            if facts.is_incident and opened:
                facts.matched_on = ["incident opened in window", *facts.matched_on]
            elif facts.match_score < self.settings.min_match_score:
                continue
            scored.append((issue, facts))
        scored.sort(key=lambda pair: (-pair[1].match_score, pair[1].state_type in ("completed", "canceled")))
        return scored[: self.settings.max_results]

    def known_issue_facts(self, issue: dict[str, Any], terms: matching.TicketTerms) -> KnownIssue:
        """Typed facts for one Linear issue, scored against the ticket."""
        title = str(issue.get("title") or "")
        description = str(issue.get("description") or "")
        labels = [str(n.get("name")) for n in (issue.get("labels") or {}).get("nodes") or [] if n.get("name")]
        attachments = [a for a in (issue.get("attachments") or {}).get("nodes") or [] if isinstance(a, dict)]
        state = issue.get("state") or {}
        state_type = str(state.get("type") or "")
        prs = matching.linked_prs(description, attachments)
        match = matching.score(terms, title, description, labels)
        text = f"{title}\n{description}"
        incident_labels = {label.lower() for label in self.settings.incident_labels}
        return KnownIssue(
            identifier=str(issue.get("identifier") or ""),
            title=title,
            url=str(issue.get("url") or ""),
            state=str(state.get("name") or ""),
            state_type=state_type,
            team=str((issue.get("team") or {}).get("name") or ""),
            priority=int(issue.get("priority") or 0),
            labels=labels,
            is_incident=bool(incident_labels & {label.lower() for label in labels})
            or bool(_INCIDENT_TITLE.search(title)),
            fix_status=matching.fix_status(state_type, description, prs),
            workaround=matching.workaround(description),
            eta=matching.eta(description) if state_type not in ("completed", "canceled") else None,
            created_at=_parse_time(issue.get("createdAt")),
            completed_at=_parse_time(issue.get("completedAt") or issue.get("canceledAt")),
            match_score=match.score,
            matched_on=match.matched_on,
            mentioned_routes=matching.routes(text),
            mentioned_status_codes=matching.status_codes(text),
            linked_prs=prs,
            description_excerpt=description[:400],
        )

    def _finding(self, issue: dict[str, Any], facts: KnownIssue, query: Citation) -> Finding:
        strength = facts.match_score
        if "incident opened in window" in facts.matched_on:
            strength = max(strength, 0.4)
        fix = f"fix {facts.fix_status.replace('_', ' ')}" if facts.fix_status != "none" else "no fix yet"
        weak = "; weak match" if facts.match_score < WEAK_MATCH else ""
        summary = f"{facts.identifier} [{facts.state}] {facts.title} ({facts.team}; {fix}{weak})"
        return finding(
            "linear",
            facts,
            summary,
            citations=[
                Citation(label=f"Linear {facts.identifier}", url=facts.url, object_id=str(issue.get("id"))),
                query,
            ],
            strength=min(strength, 1.0),
            points_to="incident" if facts.is_incident else "known_issue",
            detail=facts.description_excerpt or None,
        )

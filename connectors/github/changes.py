"""What changed in one deployment, and the findings that say so (pure functions, no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from connectors.github.client import Comparison, DeploymentRow, PullRow, ReleaseRow, StatusRow
from connectors.github.codeowners import CodeOwners
from investigator import signals
from investigator.models import Citation, Finding

_PR_REF = re.compile(r"(?:\(#(\d+)\)\s*$|^Merge pull request #(\d+))")


def first_line(message: str) -> str:
    """The subject line of a commit message."""
    return message.strip().splitlines()[0].strip() if message.strip() else ""


def referenced_pulls(messages: Iterable[str]) -> list[int]:
    """PR numbers named by squash-merge subjects ``... (#814)`` or ``Merge pull request #814``."""
    numbers: list[int] = []
    for message in messages:
        match = _PR_REF.search(first_line(message))
        if match:
            number = int(match.group(1) or match.group(2))
            if number not in numbers:
                numbers.append(number)
    return numbers


def latest_state(statuses: list[StatusRow] | None) -> tuple[str, datetime | None, str | None]:
    """(latest status state, time of the newest success status, a log link).

    No statuses yet is ``pending``; statuses that could not be read (``None``) is ``unknown``."""
    if statuses is None:
        return "unknown", None, None
    if not statuses:
        return "pending", None, None
    ordered = sorted(statuses, key=lambda s: s.created_at, reverse=True)
    success = next((s for s in ordered if s.state == "success"), None)
    link = next((s.log_url for s in ordered if s.log_url), None)
    return ordered[0].state, (success.created_at if success else None), link


def pulls_for(comparison: Comparison, known: dict[int, PullRow], by_sha: dict[str, PullRow]) -> list[PullRow]:
    """The merged pull requests that brought a comparison's commits, in commit order."""
    found: list[PullRow] = []
    for sha, message in comparison.commits:
        candidates = [by_sha.get(sha)] + [known.get(n) for n in referenced_pulls([message])]
        for pr in candidates:
            if pr is not None and pr.merged_at is not None and pr not in found:
                found.append(pr)
    return found


@dataclass
class DeploymentChange:
    """A deployment with what it shipped."""

    service: str
    repo: str
    team: str | None
    row: DeploymentRow
    previous: DeploymentRow | None
    statuses: list[StatusRow] | None = None  # None: could not be read
    comparison: Comparison | None = None
    pulls: list[PullRow] = field(default_factory=list)
    owners: CodeOwners | None = None
    notes: list[str] = field(default_factory=list)


def _hm(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "?"


def deployment_finding(change: DeploymentChange, web_url: str) -> Finding:
    """The ``deployment`` finding of one change."""
    row, repo = change.row, change.repo
    state, finished, log_link = latest_state(change.statuses)
    cmp = change.comparison
    files = cmp.files if cmp else []
    owners = change.owners.owners_for_files(files) if change.owners else []
    facts = signals.Deployment(
        service=change.service,
        repo=repo,
        team=change.team,
        deployment_id=row.id,
        sha=row.sha,
        environment=row.environment,
        created_at=row.created_at,
        finished_at=finished,
        state=state,
        previous_sha=change.previous.sha if change.previous else None,
        commits=[first_line(m) for _, m in cmp.commits] if cmp else [],
        pull_requests=[{"number": p.number, "title": p.title, "url": p.url} for p in change.pulls],
        files=files,
        suggested_owners=owners,
    )
    prs = ", ".join(f"#{p.number} {p.title}" for p in change.pulls[:3])
    summary = (
        f"{repo} ({change.service}) deployed {row.sha[:7]} to {row.environment} at {_hm(row.created_at)}"
        f" [{state}{', finished ' + _hm(finished) if finished else ''}]"
        + (f"; {len(facts.commits)} commit(s) since {facts.previous_sha[:7]}" if facts.previous_sha and cmp else "")
        + (f"; {prs}" if prs else "")
    )
    citations = [
        Citation(
            label=f"deployment {row.id} of {repo}",
            url=f"{web_url}/{repo}/deployments/{row.environment}",
            object_id=str(row.id),
        )
    ]
    if log_link:
        citations.append(Citation(label=f"deployment {row.id} log", url=log_link))
    if cmp:
        base = (facts.previous_sha or "?")[:7]
        citations.append(Citation(label=f"changes {base}...{row.sha[:7]}", url=cmp.html_url))
    citations += [Citation(label=f"PR #{p.number}", url=p.url, object_id=str(p.number)) for p in change.pulls]
    detail = "; ".join(change.notes) or None
    return signals.finding(
        "github",
        facts,
        summary,
        citations=citations,
        strength=0.5 if finished else 0.4,
        points_to="deploy",
        detail=detail,
    )


def release_finding(service: str, repo: str, release: ReleaseRow) -> Finding:
    """The ``release`` finding of one published release."""
    facts = signals.Release(
        service=service,
        repo=repo,
        tag=release.tag,
        name=release.name,
        published_at=release.published_at,
        url=release.url,
    )
    summary = f"{repo} ({service}) released {release.tag}" + (
        f" at {_hm(release.published_at)}" if release.published_at else ""
    )
    citation = Citation(label=f"release {release.tag} of {repo}", url=release.url, object_id=release.tag)
    return signals.finding("github", facts, summary, citations=[citation], strength=0.3, points_to="deploy")

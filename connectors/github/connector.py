"""Change correlation from GitHub: production deployments, what they shipped, and releases.

For every configured service with a repository (the affected one is not known yet; the
policy correlates later) it reads, in few sequential rounds of parallel requests:

1. deployments of the environment (newest first, one older than the lookback for the
   comparison base) and releases, for every repository at once;
2. for the repositories with deployments in the lookback: each deployment's statuses and its
   comparison with the previous deployment, the recently merged pull requests, CODEOWNERS;
3. only when a commit names a pull request the list did not hold: that pull request.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import ClassVar, TypeVar

from connectors.github.changes import DeploymentChange, deployment_finding, pulls_for, referenced_pulls, release_finding
from connectors.github.client import GitHubClient, PullRow, ReleaseRow, RepoNotFoundError
from connectors.github.codeowners import CODEOWNERS_PATHS, CodeOwners
from connectors.github.config import GitHubSettings
from investigator.connector import CheckResult, Collected, Connector, InvestigationContext
from investigator.errors import SourceError, TransientError
from investigator.models import Finding

T = TypeVar("T")
log = logging.getLogger("connectors.github")


class _Round:
    """Parallel calls of one collection, with a breaker: after a transient failure (already
    retried by the client) calls not yet started fail at once instead of hammering GitHub."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.failure: TransientError | None = None

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        return self.pool.submit(self._guarded, fn)

    def _guarded(self, fn: Callable[[], T]) -> T:
        if self.failure is not None:
            raise copy.copy(self.failure) from None
        try:
            return fn()
        except TransientError as error:
            self.failure = self.failure or error
            raise


def _outcome(future: Future[T]) -> T | SourceError:
    try:
        return future.result()
    except SourceError as error:
        return error


class GitHubConnector(Connector):
    """Deployments, merged changes, code owners and releases of the configured services' repositories."""

    name = "github"
    settings_class = GitHubSettings
    needs_tenant: ClassVar[bool] = False

    def __init__(self, settings: GitHubSettings, *, sleep: Callable[[float], None] | None = None) -> None:
        super().__init__(settings)
        self.settings: GitHubSettings = settings
        self._sleep = sleep
        self._client: GitHubClient | None = None
        self._pool: ThreadPoolExecutor | None = None

    @property
    def client(self) -> GitHubClient:
        """The API client (built on first use)."""
        if self._client is None:
            self._client = GitHubClient(self.settings, sleep=self._sleep)
        return self._client

    def configured(self) -> bool:
        return self.settings.token is not None and bool(self.settings.token.get_secret_value())

    def check(self) -> CheckResult:
        if not self.configured():
            return CheckResult("github", configured=False, missing=["INVESTIGATOR_GITHUB_TOKEN"])
        try:
            remaining = self.client.check()
        except SourceError as error:
            return CheckResult("github", configured=True, reachable=False, detail=str(error))
        return CheckResult("github", configured=True, reachable=True, detail=f"{remaining} core requests left")

    def _executor(self) -> ThreadPoolExecutor:
        # Kept across collections: its threads keep their own PyGithub client and connection.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.settings.max_workers, thread_name_prefix="github")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    # ----------------------------------------------------------------- collect
    def collect(self, ctx: InvestigationContext) -> Collected:
        services: dict[str, list[tuple[str, str | None]]] = {}
        for name, svc in ctx.services.items():
            if svc.repo:
                services.setdefault(svc.repo, []).append((name, svc.team))
        if not services:
            return Collected(no_data=True, checked=["no configured service has a repository"])
        since = ctx.now - timedelta(hours=self.settings.lookback_hours)
        return self._collect(_Round(self._executor()), services, since, ctx.now)

    def _collect(
        self, rnd: _Round, services: dict[str, list[tuple[str, str | None]]], since: datetime, now: datetime
    ) -> Collected:
        client, env = self.client, self.settings.environment
        listed = {repo: rnd.submit(partial(client.deployments, repo, env, since, now)) for repo in services}
        released = {repo: rnd.submit(partial(client.releases, repo)) for repo in services}
        checked: list[str] = []
        failures: list[SourceError] = []
        changes: list[DeploymentChange] = []
        findings: list[Finding] = []
        for repo, names in services.items():
            rows = _outcome(listed[repo])
            if isinstance(rows, RepoNotFoundError):
                checked.append(f"{repo}: repository not found or not visible to the token (404)")
                continue
            if isinstance(rows, SourceError):
                failures.append(rows)
                checked.append(f"{repo}: deployments could not be read ({rows})")
                continue
            in_window = [i for i, r in enumerate(rows) if r.created_at >= since]
            checked.append(f"{repo}: {len(in_window)} {env} deployment(s) since {since:%Y-%m-%dT%H:%MZ}")
            for i in in_window:
                previous = rows[i + 1] if i + 1 < len(rows) else None
                changes += [DeploymentChange(n, repo, team, rows[i], previous) for n, team in names]
            releases = _outcome(released[repo])
            findings += self._releases(repo, names, releases, since, now, checked)
        if failures and len(failures) == len(services):
            raise failures[0] if isinstance(failures[0], TransientError) else failures[-1]
        self._enrich(rnd, changes)
        web = self.settings.web_url.rstrip("/")
        deployment_findings = [deployment_finding(c, web) for c in changes]
        if not deployment_findings and not findings:
            return Collected(no_data=True, checked=checked)
        return Collected(findings=deployment_findings + findings, checked=checked)

    def _releases(
        self,
        repo: str,
        names: list[tuple[str, str | None]],
        releases: list[ReleaseRow] | SourceError,
        since: datetime,
        now: datetime,
        checked: list[str],
    ) -> list[Finding]:
        if isinstance(releases, SourceError):
            checked.append(f"{repo}: releases could not be read ({releases})")
            return []
        recent = [r for r in releases if not r.draft and r.published_at and since <= r.published_at <= now]
        return [release_finding(name, repo, r) for r in recent for name, _ in names]

    def _enrich(self, rnd: _Round, changes: list[DeploymentChange]) -> None:
        """Round 2 (statuses, comparisons, merged pulls, CODEOWNERS) and, if needed, round 3."""
        client = self.client
        unique = {(c.repo, c.row.id): c for c in changes}
        repos = sorted({c.repo for c in changes})
        statuses = {k: rnd.submit(partial(client.statuses, c.repo, c.row.id)) for k, c in unique.items()}
        compares = {
            k: rnd.submit(partial(client.compare, c.repo, c.previous.sha, c.row.sha))
            for k, c in unique.items()
            if c.previous is not None and c.previous.sha != c.row.sha
        }
        pulls = {r: rnd.submit(partial(client.merged_pulls, r)) for r in repos}
        owners = {(r, p): rnd.submit(partial(client.file_text, r, p)) for r in repos for p in CODEOWNERS_PATHS}
        codeowners = {r: self._codeowners(r, owners) for r in repos}
        known: dict[str, dict[int, PullRow]] = {}
        for r in repos:
            listed = _outcome(pulls[r])
            known[r] = {p.number: p for p in listed} if isinstance(listed, list) else {}
        for key, c in unique.items():
            got = _outcome(statuses[key])
            c.statuses = got if isinstance(got, list) else None
            if isinstance(got, SourceError):
                c.notes.append(f"statuses unavailable: {got}")
            if key in compares:
                cmp = _outcome(compares[key])
                c.comparison = cmp if not isinstance(cmp, SourceError) else None
                if isinstance(cmp, SourceError):
                    c.notes.append(f"comparison unavailable: {cmp}")
        self._fetch_missing_pulls(rnd, list(unique.values()), known)
        for c in changes:
            original = unique[(c.repo, c.row.id)]
            c.statuses, c.comparison, c.notes = original.statuses, original.comparison, original.notes
            c.owners = codeowners[c.repo]
            if c.comparison is not None:
                by_sha = {p.merge_commit_sha: p for p in known[c.repo].values() if p.merge_commit_sha}
                c.pulls = pulls_for(c.comparison, known[c.repo], by_sha)

    @staticmethod
    def _codeowners(repo: str, owners: dict[tuple[str, str], Future[str | None]]) -> CodeOwners | None:
        for path in CODEOWNERS_PATHS:  # GitHub's own order of precedence
            text = _outcome(owners[(repo, path)])
            if isinstance(text, str):
                return CodeOwners.parse(text)
        return None

    def _fetch_missing_pulls(
        self, rnd: _Round, changes: list[DeploymentChange], known: dict[str, dict[int, PullRow]]
    ) -> None:
        wanted = {
            (c.repo, n)
            for c in changes
            if c.comparison is not None
            for n in referenced_pulls(m for _, m in c.comparison.commits)
            if n not in known[c.repo]
        }
        futures = {k: rnd.submit(partial(self.client.pull, *k)) for k in sorted(wanted)}
        for (repo, number), future in futures.items():
            got = _outcome(future)
            if isinstance(got, PullRow):
                known[repo][number] = got

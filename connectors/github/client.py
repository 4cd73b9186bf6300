"""Talks to GitHub's REST API through PyGithub and maps every failure in one place.

PyGithub retries for us (``GithubRetry``, configured bounded here: total retries, backoff,
and a cap on any rate-limit wait, beyond which the call fails as rate limited instead of
sleeping). A ``Github`` instance is not safe to share between threads (its connection holds
the request being made), so each worker thread gets its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
    UnknownObjectException,
)
from urllib3.exceptions import ReadTimeoutError

from connectors.github.config import GitHubSettings
from investigator.errors import (
    NotConfiguredError,
    RateLimitedError,
    SourceError,
    SourceTimeoutError,
    TerminalError,
    TransientError,
    error_from_status,
)

T = TypeVar("T")
log = logging.getLogger("connectors.github")
SOURCE = "github"


class RepoNotFoundError(TerminalError):
    """The repository (or the object asked for) does not exist or the token cannot see it."""


class BoundedRetry(GithubRetry):
    """``GithubRetry`` that never waits longer than ``max_rate_limit_wait`` for a ``Retry-After``
    either (urllib3 would sleep any value), with an injectable ``sleeper`` so tests count waits."""

    def __init__(self, *, sleeper: Callable[[float], None] | None = None, **kwargs: Any) -> None:
        self.sleeper = sleeper if sleeper is not None else time.sleep
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> BoundedRetry:
        kw["sleeper"] = self.sleeper
        retry: BoundedRetry = super().new(**kw)
        return retry

    def increment(self, method: Any = None, url: Any = None, response: Any = None, *args: Any, **kw: Any) -> Any:
        if response is not None and response.status in (403, 429, 503) and self.max_rate_limit_wait is not None:
            wait = self.parse_retry_after(response.headers["Retry-After"]) if "Retry-After" in response.headers else 0
            if wait > self.max_rate_limit_wait:
                raise RateLimitExceededExceedsMaxWait(response.status, None, dict(response.headers), wait=wait)
        return super().increment(method, url, response, *args, **kw)

    def sleep(self, response: Any = None) -> None:
        if response is not None and self.respect_retry_after_header:
            retry_after = self.get_retry_after(response)
            if retry_after is not None:
                self.sleeper(min(retry_after, self.max_rate_limit_wait or retry_after))
                return
        backoff = float(self.get_backoff_time())
        if backoff > 0:
            self.sleeper(backoff)


# --------------------------------------------------------------------------- error mapping (the one place)
def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name:
            return str(value)
    return None


def _rate_limit_wait(headers: Any) -> float | None:
    retry_after = _header(headers, "retry-after")
    if retry_after and retry_after.isdigit():
        return float(retry_after)
    reset = _header(headers, "x-ratelimit-reset")
    if reset and reset.isdigit():
        return max(float(reset) - time.time(), 0.0)
    return None


def map_error(exc: BaseException, what: str) -> SourceError:
    """Turn a PyGithub / requests / decoding failure into our typed error (no secrets in the message)."""
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, RateLimitExceededExceedsMaxWait):
        return RateLimitedError(f"{SOURCE}: {what}: rate limited for longer than we wait", retry_after=exc.wait)
    if isinstance(exc, RateLimitExceededException):
        wait = _rate_limit_wait(exc.headers)
        return RateLimitedError(f"{SOURCE}: {what}: rate limited", status=exc.status, retry_after=wait)
    if isinstance(exc, BadCredentialsException):
        return TerminalError(f"{SOURCE}: {what}: bad credentials: check the token", status=401)
    if isinstance(exc, UnknownObjectException):
        return RepoNotFoundError(f"{SOURCE}: {what}: not found", status=404)
    if isinstance(exc, GithubException):
        status = exc.status
        limited = status == 429 or (status == 403 and _header(exc.headers, "x-ratelimit-remaining") == "0")
        if limited:
            return RateLimitedError(
                f"{SOURCE}: {what}: rate limited", status=status, retry_after=_rate_limit_wait(exc.headers)
            )
        if status == 404:
            return RepoNotFoundError(f"{SOURCE}: {what}: not found", status=404)
        if not isinstance(status, int) or status < 400:
            return TransientError(f"{SOURCE}: {what}: unexpected answer ({status})")
        return error_from_status(SOURCE, status, detail=what)
    if isinstance(exc, ValueError | TypeError | KeyError | AttributeError):
        return TerminalError(f"{SOURCE}: {what}: malformed answer ({type(exc).__name__})")
    if isinstance(exc, requests.Timeout) or _caused_by_timeout(exc):
        return SourceTimeoutError(f"{SOURCE}: {what}: timed out")
    if isinstance(exc, requests.RequestException | OSError):
        return TransientError(f"{SOURCE}: {what}: connection failed ({type(exc).__name__})")
    return TransientError(f"{SOURCE}: {what}: failed ({type(exc).__name__})")


def _caused_by_timeout(exc: BaseException) -> bool:
    for arg in getattr(exc, "args", ()):
        if isinstance(getattr(arg, "reason", None), ReadTimeoutError) or isinstance(arg, ReadTimeoutError):
            return True
    return False


# --------------------------------------------------------------------------- plain data returned
@dataclass
class DeploymentRow:
    id: int
    sha: str
    ref: str
    environment: str
    created_at: datetime
    description: str | None


@dataclass
class StatusRow:
    state: str
    created_at: datetime
    log_url: str | None


@dataclass
class Comparison:
    html_url: str
    commits: list[tuple[str, str]] = field(default_factory=list)  # (sha, full message), oldest first
    files: list[str] = field(default_factory=list)


@dataclass
class PullRow:
    number: int
    title: str
    url: str
    merge_commit_sha: str | None
    merged_at: datetime | None


@dataclass
class ReleaseRow:
    tag: str
    name: str | None
    published_at: datetime | None
    url: str
    draft: bool


class GitHubClient:
    """The calls the connector makes; each returns plain data or raises a :class:`SourceError`."""

    def __init__(self, settings: GitHubSettings, *, sleep: Callable[[float], None] | None = None) -> None:
        if settings.token is None:
            raise NotConfiguredError(f"{SOURCE}: INVESTIGATOR_GITHUB_TOKEN is not set")
        self.settings = settings
        self._sleep = sleep
        self._local = threading.local()
        self._clients: list[Github] = []
        self._lock = threading.Lock()

    def _github(self) -> Github:
        gh: Github | None = getattr(self._local, "github", None)
        if gh is None:
            s = self.settings
            assert s.token is not None
            retry = BoundedRetry(
                sleeper=self._sleep,
                total=s.max_retries,
                read=min(1, s.max_retries),
                backoff_factor=s.backoff_factor,
                backoff_max=max(s.max_rate_limit_wait_s, s.backoff_factor),
                raise_on_status=False,
                secondary_rate_wait=s.secondary_rate_wait_s,
                max_rate_limit_wait=s.max_rate_limit_wait_s,
            )
            gh = Github(
                auth=Auth.Token(s.token.get_secret_value()),
                base_url=s.base_url.rstrip("/"),
                timeout=s.timeout_s,
                retry=retry,
                per_page=s.per_page,
                seconds_between_requests=None,
                lazy=True,
            )
            self._local.github = gh
            with self._lock:
                self._clients.append(gh)
        return gh

    def call(self, what: str, fn: Callable[[Github], T]) -> T:
        """Run one API interaction; every failure leaves as a typed error."""
        try:
            return fn(self._github())
        except Exception as exc:
            error = map_error(exc, what)
            log.info("%s failed: %s", what, error)
            raise error from None

    # ----------------------------------------------------------------- calls
    def check(self) -> int:
        """Remaining core requests of the token (cheap; not counted against the limit)."""
        return self.call("rate_limit", lambda gh: int(gh.get_rate_limit().resources.core.remaining))

    def deployments(self, repo: str, environment: str, since: datetime, until: datetime) -> list[DeploymentRow]:
        """Deployments created in ``[since, until]``, newest first, plus the newest one before ``since``."""

        def run(gh: Github) -> list[DeploymentRow]:
            rows: list[DeploymentRow] = []
            limit = self.settings.max_pages * self.settings.per_page
            for i, d in enumerate(gh.get_repo(repo).get_deployments(environment=environment)):
                if i >= limit:
                    break
                row = DeploymentRow(d.id, d.sha, d.ref, d.environment, d.created_at, d.description)
                if row.created_at > until:
                    continue
                rows.append(row)
                if row.created_at < since:
                    break
            return rows

        return self.call(f"{repo} deployments", run)

    def statuses(self, repo: str, deployment_id: int) -> list[StatusRow]:
        """A deployment's statuses, newest first (first page)."""

        def run(gh: Github) -> list[StatusRow]:
            page = gh.get_repo(repo).get_deployment(deployment_id).get_statuses().get_page(0)
            return [StatusRow(s.state, s.created_at, s.log_url or s.target_url) for s in page]

        return self.call(f"{repo} deployment {deployment_id} statuses", run)

    def compare(self, repo: str, base: str, head: str) -> Comparison:
        """Commits and changed files from ``base`` to ``head`` (first page: up to 250 commits, 300 files)."""

        def run(gh: Github) -> Comparison:
            raw = gh.get_repo(repo).compare(base, head).raw_data
            commits = [(str(c["sha"]), str(c["commit"]["message"])) for c in raw.get("commits") or []]
            files = [str(f["filename"]) for f in raw.get("files") or []]
            return Comparison(html_url=str(raw["html_url"]), commits=commits, files=files)

        return self.call(f"{repo} compare {base[:7]}...{head[:7]}", run)

    def merged_pulls(self, repo: str) -> list[PullRow]:
        """Recently updated closed pull requests that were merged."""
        if self.settings.pulls_scan == 0:
            return []

        def run(gh: Github) -> list[PullRow]:
            page = gh.get_repo(repo).get_pulls(state="closed", sort="updated", direction="desc").get_page(0)
            return [self._pull_row(p) for p in page[: self.settings.pulls_scan] if p.merged_at is not None]

        return self.call(f"{repo} pulls", run)

    def pull(self, repo: str, number: int) -> PullRow | None:
        """One pull request by number (``None`` when it does not exist)."""
        try:
            return self.call(f"{repo} pull {number}", lambda gh: self._pull_row(gh.get_repo(repo).get_pull(number)))
        except RepoNotFoundError:
            return None

    @staticmethod
    def _pull_row(p: Any) -> PullRow:
        return PullRow(int(p.number), str(p.title), str(p.html_url), p.merge_commit_sha, p.merged_at)

    def releases(self, repo: str) -> list[ReleaseRow]:
        """The newest releases (first page)."""

        def run(gh: Github) -> list[ReleaseRow]:
            page = gh.get_repo(repo).get_releases().get_page(0)
            return [ReleaseRow(r.tag_name, r.name, r.published_at, r.html_url, bool(r.draft)) for r in page]

        return self.call(f"{repo} releases", run)

    def file_text(self, repo: str, path: str) -> str | None:
        """A text file of the default branch (``None`` when absent)."""

        def run(gh: Github) -> str:
            content = gh.get_repo(repo).get_contents(path)
            if isinstance(content, list):
                raise RepoNotFoundError(f"{SOURCE}: {repo}/{path} is a directory", status=404)
            return str(content.decoded_content.decode("utf-8", errors="replace"))

        try:
            return self.call(f"{repo} {path}", run)
        except RepoNotFoundError:
            return None

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            clients, self._clients = self._clients, []
        for gh in clients:
            gh.close()

"""A local GitHub REST stand-in built from a scenario's ``github`` section.

It answers like ``api.github.com`` for the calls the GitHub connector makes: the repository,
production deployments (newest first, paginated with a ``Link`` header), deployment statuses,
``compare/BASE...HEAD`` synthesised from the scenario's commits, pull requests, releases and
CODEOWNERS. Every answer carries the ``x-ratelimit-*`` headers; errors use GitHub's JSON shape.
Scenario objects are completed with the URL fields the real API returns, so that answers
validate against the contract schemas.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

from connectors.github.config import GitHubSettings
from investigator.sandbox import github_objects as obj
from investigator.sandbox.scenario import GitHubRepo, GitHubWorld
from investigator.sandbox.standin import FaultKind, Injection, Request, Response, StandIn

DOCS = "https://docs.github.com/rest"
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
STANDIN_TOKEN = "ghp_standinTOKEN0000000000000000000000"


def _error(status: int, message: str, doc: str = DOCS) -> Response:
    return Response(status, {"message": message, "documentation_url": doc, "status": str(status)})


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class GitHubStandIn(StandIn):
    """GitHub's REST API for the repositories of one scenario.

    ``rate_limit`` picks what a ``429`` fault looks like: ``secondary`` (429 with ``retry-after``)
    or ``primary`` (403, ``x-ratelimit-remaining: 0`` and a reset an hour away).
    ``fault_budget`` limits the injected fault to the first N requests (None: every request).
    """

    name = "github"

    def __init__(
        self,
        world: GitHubWorld | None,
        injection: Injection | None = None,
        *,
        rate_limit: Literal["secondary", "primary"] = "secondary",
        retry_after_s: int = 60,
        fault_budget: int | None = None,
        token: str = STANDIN_TOKEN,
    ) -> None:
        super().__init__(injection)
        self.world = world or GitHubWorld()
        self.rate_limit = rate_limit
        self.retry_after_s = retry_after_s
        self.fault_budget = fault_budget
        self.token = token
        self._used = 0
        self._reset = int(time.time()) + 3600
        self._count_lock = threading.Lock()

    # ----------------------------------------------------------------- wiring
    def connector_settings(self, **overrides: Any) -> GitHubSettings:
        """Settings that point the GitHub connector at this stand-in (call after ``start``)."""
        values: dict[str, Any] = {"base_url": self.url, "token": self.token, **overrides}
        return GitHubSettings(**values)

    def paths(self, prefix: str = "") -> list[str]:
        """Paths of the requests received so far (optionally only those starting with ``prefix``)."""
        return [c.path for c in self.calls if c.path.startswith(prefix)]

    # ----------------------------------------------------------------- faults and headers
    def _rate_headers(self, remaining: int | None = None) -> dict[str, str]:
        with self._count_lock:
            self._used += 1
            used = self._used
        left = max(5000 - used, 0) if remaining is None else remaining
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(left),
            "x-ratelimit-reset": str(self._reset),
            "x-ratelimit-used": str(used if remaining is None else 5000),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }

    def rate_limit_response(self) -> Response:
        if self.rate_limit == "primary":
            response = _error(403, "API rate limit exceeded for user ID 1.", f"{DOCS}/using-the-rest-api/rate-limits")
            response.headers.update(self._rate_headers(remaining=0))
            response.headers["x-ratelimit-reset"] = str(int(time.time()) + 3600)
            return response
        response = _error(
            429,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            f"{DOCS}/using-the-rest-api/rate-limits",
        )
        response.headers.update(self._rate_headers())
        response.headers["retry-after"] = str(self.retry_after_s)
        return response

    def server_error_response(self) -> Response:
        response = _error(503, "Service Unavailable")
        response.headers.update(self._rate_headers())
        return response

    def _faulted(self) -> Response | None:
        if self.injection.fault is None or self.injection.fault is FaultKind.TIMEOUT:
            return None
        with self._count_lock:
            if self.fault_budget is not None:
                if self.fault_budget <= 0:
                    return None
                self.fault_budget -= 1
        faulted = super()._faulted()
        if faulted is not None and self.injection.fault is FaultKind.GARBAGE:
            faulted.headers.update(self._rate_headers())
        return faulted

    # ----------------------------------------------------------------- routing
    def handle(self, request: Request) -> Response:
        response = self._route(request)
        response.headers = {**self._rate_headers(), **response.headers}
        return response

    def _route(self, request: Request) -> Response:
        if request.method != "GET":
            return _error(404, "Not Found")
        auth = request.headers.get("authorization", "")
        if auth not in (f"Bearer {self.token}", f"token {self.token}"):
            return _error(401, "Bad credentials")
        parts = [p for p in request.path.split("/") if p]
        if parts == ["rate_limit"]:
            return Response(200, self._rate_overview())
        if len(parts) < 3 or parts[0] != "repos":
            return _error(404, "Not Found")
        full_name = f"{parts[1]}/{parts[2]}"
        repo = self.world.repos.get(full_name)
        if repo is None:
            return _error(404, "Not Found", f"{DOCS}/repos/repos#get-a-repository")
        return self._repo_route(request, full_name, repo, parts[3:])

    def _repo_route(self, request: Request, full_name: str, repo: GitHubRepo, rest: list[str]) -> Response:
        if not rest:
            return Response(200, obj.repository(full_name))
        head, tail = rest[0], rest[1:]
        if head == "deployments":
            return self._deployments(request, full_name, repo, tail)
        if head == "compare" and len(tail) == 1:
            return self._compare(full_name, repo, tail[0])
        if head == "commits" and len(tail) == 2 and tail[1] == "pulls":
            pulls = [p for p in repo.pulls if tail[0] in (p.get("merge_commit_sha"), (p.get("head") or {}).get("sha"))]
            return self._page(request, [obj.pull(p, full_name) for p in pulls])
        if head == "commits" and not tail:
            return self._page(request, [obj.commit(c, full_name) for c in self._commits_between(request, repo)])
        if head == "pulls":
            return self._pulls(request, full_name, repo, tail)
        if head == "releases" and not tail:
            ordered = sorted(repo.releases, key=lambda r: str(r.get("created_at") or ""), reverse=True)
            return self._page(request, [obj.release(r, full_name) for r in ordered])
        if head == "contents" and tail:
            return self._contents(full_name, repo, "/".join(tail))
        return _error(404, "Not Found")

    # ----------------------------------------------------------------- endpoints
    def _deployments(self, request: Request, full_name: str, repo: GitHubRepo, tail: list[str]) -> Response:
        if not tail:
            rows = [d for d in repo.deployments if self._matches(request, d, ("environment", "sha", "ref", "task"))]
            rows.sort(key=lambda d: _when(d["created_at"]), reverse=True)
            return self._page(request, [obj.deployment(d, full_name) for d in rows])
        known = {str(d.get("id")) for d in repo.deployments}
        if tail[0] not in known:
            return _error(404, "Not Found")
        if tail[1:] == ["statuses"]:
            statuses = sorted(repo.statuses.get(tail[0], []), key=lambda s: _when(s["created_at"]), reverse=True)
            return self._page(request, [obj.status(s, full_name, tail[0]) for s in statuses])
        if len(tail) == 1:
            deployment = next(d for d in repo.deployments if str(d.get("id")) == tail[0])
            return Response(200, obj.deployment(deployment, full_name))
        return _error(404, "Not Found")

    def _pulls(self, request: Request, full_name: str, repo: GitHubRepo, tail: list[str]) -> Response:
        if len(tail) == 1:
            found = [p for p in repo.pulls if str(p.get("number")) == tail[0]]
            return Response(200, obj.pull(found[0], full_name)) if found else _error(404, "Not Found")
        if tail:
            return _error(404, "Not Found")
        state = request.arg("state", "open")
        rows = [p for p in repo.pulls if state == "all" or p.get("state", "open") == state]
        sort_key = {"updated": "updated_at", "created": "created_at"}.get(
            request.arg("sort", "created") or "", "created_at"
        )
        rows.sort(key=lambda p: str(p.get(sort_key) or ""), reverse=request.arg("direction", "desc") == "desc")
        return self._page(request, [obj.pull(p, full_name) for p in rows])

    def _contents(self, full_name: str, repo: GitHubRepo, path: str) -> Response:
        where = str(getattr(repo, "codeowners_path", None) or CODEOWNERS_PATHS[0])
        if repo.codeowners is None or path != where:
            return _error(404, "Not Found", f"{DOCS}/repos/contents#get-repository-content")
        raw = repo.codeowners.encode()
        return Response(200, obj.content_file(full_name, path, raw, base64.encodebytes(raw).decode()))

    def _compare(self, full_name: str, repo: GitHubRepo, basehead: str) -> Response:
        base, sep, head = basehead.partition("...")
        if not sep:
            return _error(404, "Not Found")
        base_at, head_at = self._sha_time(repo, base), self._sha_time(repo, head)
        if base_at is None or head_at is None:
            return _error(404, f"No commit found for SHA: {head if head_at is None else base}")
        ordered = sorted(repo.commits, key=self._commit_time)
        picked = [c for c in ordered if base_at < self._commit_time(c) <= head_at]
        files: dict[str, dict[str, Any]] = {}
        for c in picked:
            for f in c.get("files") or []:
                files[str(f.get("filename"))] = f
        base_commit = self._commit_for(repo, base)
        return Response(
            200, obj.comparison(full_name, base, head, base_commit, [obj.commit(c, full_name) for c in picked], files)
        )

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _commit_time(c: dict[str, Any]) -> datetime:
        inner = c.get("commit") or {}
        return _when((inner.get("committer") or inner.get("author") or {}).get("date") or "1970-01-01T00:00:00Z")

    def _commit_for(self, repo: GitHubRepo, sha: str) -> dict[str, Any]:
        for c in repo.commits:
            if str(c.get("sha", "")).startswith(sha):
                return c
        at = self._sha_time(repo, sha) or datetime(1970, 1, 1, tzinfo=UTC)
        full = sha if len(sha) == 40 else hashlib.sha1(sha.encode()).hexdigest()
        stamp = at.isoformat().replace("+00:00", "Z")
        who = {"name": "Deploy", "email": "deploy@example.test", "date": stamp}
        return {"sha": full, "commit": {"message": f"Deployed {sha[:7]}", "author": who, "committer": who}}

    def _sha_time(self, repo: GitHubRepo, sha: str) -> datetime | None:
        for c in repo.commits:
            if str(c.get("sha", "")).startswith(sha):
                return self._commit_time(c)
        for d in repo.deployments:
            if str(d.get("sha", "")).startswith(sha) or d.get("ref") == sha:
                return _when(d["created_at"])
        return None

    def _commits_between(self, request: Request, repo: GitHubRepo) -> list[dict[str, Any]]:
        since, until = request.arg("since"), request.arg("until")
        rows = sorted(repo.commits, key=self._commit_time, reverse=True)
        if since:
            rows = [c for c in rows if self._commit_time(c) >= _when(since)]
        if until:
            rows = [c for c in rows if self._commit_time(c) <= _when(until)]
        return rows

    @staticmethod
    def _matches(request: Request, row: dict[str, Any], keys: tuple[str, ...]) -> bool:
        return all(request.arg(k) is None or str(row.get(k)) == request.arg(k) for k in keys)

    def _page(self, request: Request, rows: list[Any]) -> Response:
        try:
            per_page = min(max(int(request.arg("per_page", "30") or 30), 1), 100)
            page = max(int(request.arg("page", "1") or 1), 1)
        except ValueError:
            return _error(422, "Validation Failed")
        last = max((len(rows) + per_page - 1) // per_page, 1)
        body = rows[(page - 1) * per_page : page * per_page]
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)):
            if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last):
                query = {k: v[0] for k, v in request.query.items()} | {"per_page": str(per_page), "page": str(number)}
                links.append(f'<{self.url}{request.path}?{urlencode(query)}>; rel="{rel}"')
        return Response(200, body, {"link": ", ".join(links)} if links else {})

    def _rate_overview(self) -> dict[str, Any]:
        core = {"limit": 5000, "remaining": max(5000 - self._used, 0), "reset": self._reset, "used": self._used}
        return {"resources": {"core": core, "search": {**core, "limit": 30}}, "rate": core}

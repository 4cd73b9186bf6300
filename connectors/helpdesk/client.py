"""Talks to the Zendesk REST API over httpx and maps every failure into investigator.errors, here only.

Reads retry through :class:`~investigator.retry.RetryPolicy` (bounded); writes never retry.
Messages name the call, never the credentials.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.helpdesk.config import ZendeskSettings
from investigator.errors import (
    NotConfiguredError,
    SourceTimeoutError,
    TerminalError,
    TransientError,
    error_from_status,
)
from investigator.retry import RetryPolicy

log = logging.getLogger("connectors.helpdesk")
SOURCE = "zendesk"


@dataclass
class Thread:
    """A ticket's comments (oldest first) and the users sideloaded with them."""

    comments: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    pages: int = 0
    truncated: bool = False


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_detail(response: httpx.Response) -> str:
    """Zendesk's own error name/description, short (``{"error": ..., "description": ...}``)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    parts = [error if isinstance(error, str) else (error or {}).get("title", "")] if error else []
    if isinstance(body.get("description"), str):
        parts.append(body["description"])
    return ": ".join(p for p in parts if p)[:200]


def raise_for_response(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object of a successful answer, or the typed error for a failed one."""
    if response.status_code >= 400:
        raise error_from_status(
            SOURCE,
            response.status_code,
            retry_after=_retry_after(response),
            detail=f"{what}: {_error_detail(response)}".rstrip(": "),
        )
    try:
        body = response.json()
    except ValueError:
        raise TerminalError(f"{SOURCE}: {what}: the answer is not valid JSON", status=response.status_code) from None
    if not isinstance(body, dict):
        raise TerminalError(f"{SOURCE}: {what}: expected a JSON object", status=response.status_code)
    return body


class ZendeskClient:
    """A small Zendesk Support API client (tickets, comments, search, ticket update)."""

    def __init__(
        self,
        settings: ZendeskSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = settings.api_base
        if not base or not settings.email or settings.api_token is None:
            raise NotConfiguredError(
                f"{SOURCE}: not configured, missing {', '.join(settings.missing())} (INVESTIGATOR_HELPDESK_*)"
            )
        self.settings = settings
        self.base = base
        self.retry = retry or RetryPolicy(max_attempts=settings.retry_attempts)
        self._http = httpx.Client(
            base_url=base,
            auth=httpx.BasicAuth(f"{settings.email}/token", settings.api_token.get_secret_value()),
            timeout=httpx.Timeout(settings.timeout_s),
            headers={"Accept": "application/json", "User-Agent": "investigator/0.1"},
            transport=transport,
            follow_redirects=False,
        )

    # ----------------------------------------------------------------- transport
    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise SourceTimeoutError(f"{SOURCE}: {what} timed out after {self.settings.timeout_s}s") from None
        except httpx.TransportError as exc:
            raise TransientError(f"{SOURCE}: {what}: connection failed ({type(exc).__name__})") from None
        return raise_for_response(response, what)

    def _get(self, url: str, what: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.retry.call(lambda: self._send("GET", url, what, params=params), what=f"{SOURCE} {what}")

    def _same_origin(self, url: str) -> str:
        if not url.startswith(self.base + "/"):
            raise TerminalError(f"{SOURCE}: a pagination link points outside the configured base URL")
        return url

    # ----------------------------------------------------------------- reads
    def ticket(self, ticket_id: str) -> dict[str, Any]:
        """``GET /api/v2/tickets/{id}.json?include=users,organizations``: ticket + sideloads, one round trip."""
        body = self._get(f"/api/v2/tickets/{ticket_id}.json", "show ticket", params={"include": "users,organizations"})
        if not isinstance(body.get("ticket"), dict):
            raise TerminalError(f"{SOURCE}: show ticket: the answer has no 'ticket' object")
        return body

    def thread(self, ticket_id: str) -> Thread:
        """All comments of a ticket (cursor pagination, offset ``next_page`` also followed), bounded."""
        thread = Thread()
        url: str | None = f"/api/v2/tickets/{ticket_id}/comments.json"
        params: dict[str, Any] | None = {"page[size]": self.settings.page_size, "include": "users"}
        while url is not None:
            if thread.pages >= self.settings.max_pages:
                thread.truncated = True
                break
            body = self._get(url, "list comments", params=params)
            comments = body.get("comments")
            if not isinstance(comments, list):
                raise TerminalError(f"{SOURCE}: list comments: the answer has no 'comments' list")
            thread.comments.extend(c for c in comments if isinstance(c, dict))
            thread.users.update({str(u.get("id")): u for u in body.get("users") or [] if isinstance(u, dict)})
            thread.pages += 1
            url, params = self._next_page(body), None
        return thread

    def _next_page(self, body: dict[str, Any]) -> str | None:
        meta, links = body.get("meta"), body.get("links")
        if isinstance(meta, dict):
            more = meta.get("has_more") and isinstance(links, dict) and links.get("next")
            return self._same_origin(str(links["next"])) if more and isinstance(links, dict) else None
        next_page = body.get("next_page")
        return self._same_origin(next_page) if isinstance(next_page, str) and next_page else None

    def search_tickets(self, query: str) -> list[dict[str, Any]]:
        """``GET /api/v2/search.json?query=...``: the first page of ticket results (up to 100)."""
        body = self._get("/api/v2/search.json", "search", params={"query": query, "per_page": 100})
        results = body.get("results")
        if not isinstance(results, list):
            raise TerminalError(f"{SOURCE}: search: the answer has no 'results' list")
        return [r for r in results if isinstance(r, dict) and r.get("result_type", "ticket") == "ticket"]

    def me(self) -> dict[str, Any]:
        """``GET /api/v2/users/me.json``: who the token is (the reachability check)."""
        return self._get("/api/v2/users/me.json", "show current user")

    # ----------------------------------------------------------------- writes (never retried here)
    def add_comment(self, ticket_id: str, comment: dict[str, Any]) -> dict[str, Any]:
        """``PUT /api/v2/tickets/{id}.json`` with ``{"ticket": {"comment": ...}}``; one attempt only."""
        payload = {"ticket": {"comment": comment}}
        return self._send("PUT", f"/api/v2/tickets/{ticket_id}.json", "add comment", json=payload)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


__all__ = ["SOURCE", "Thread", "ZendeskClient", "raise_for_response"]

"""A local Zendesk Support API for replay and tests, built from a scenario's ``ticket.zendesk`` world.

Answers the calls the helpdesk connector and note writer make, in Zendesk's shapes:
show ticket with ``include=users,organizations`` sideloads, list comments (cursor
``page[size]`` / ``links.next`` / ``meta.has_more``, or offset ``next_page``, both with
``include=users``), show user / organization / ``users/me``, search (``type:ticket
organization:<id> created>YYYY-MM-DD status:<s>`` plus free words), and
``PUT /api/v2/tickets/{id}.json`` adding a comment (recorded as ``zendesk.note`` and
appended to the thread). Basic auth ``email/token:token`` is required; errors use
Zendesk's ``{"error", "description"}`` bodies; the rate limit answers 429 with Retry-After.
"""

from __future__ import annotations

import base64
import copy
import html
import re
import shlex
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import SecretStr

from connectors.helpdesk.config import ZendeskSettings
from investigator.sandbox.scenario import ZendeskWorld
from investigator.sandbox.standin import Injection, Request, Response, StandIn

API_USER_ID = 900000000001
_TICKET = re.compile(r"^/api/v2/tickets/(\d+)\.json$")
_COMMENTS = re.compile(r"^/api/v2/tickets/(\d+)/comments\.json$")
_USER = re.compile(r"^/api/v2/users/(\d+|me)\.json$")
_ORG = re.compile(r"^/api/v2/organizations/(\d+)\.json$")
_TERM = re.compile(r"^(\w+)(:|>=|<=|>|<)(.+)$")


def _error(status: int, error: str, description: str, **extra: Any) -> Response:
    return Response(status, {"error": error, "description": description, **extra})


def _not_found() -> Response:
    return _error(404, "RecordNotFound", "Not found")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(html_body: str) -> str:
    text = re.sub(r"</?(p|div|br)[^>]*>", "\n", html_body, flags=re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


class ZendeskStandIn(StandIn):
    """Zendesk's REST API over one scenario's tickets, users, organizations and comments."""

    name = "zendesk"
    email = "replay@standin.test"
    token = "standin-zendesk-token"

    def __init__(self, world: ZendeskWorld | None, injection: Injection | None = None) -> None:
        super().__init__(injection)
        world = world or ZendeskWorld()
        self.tickets = {str(t["id"]): copy.deepcopy(t) for t in world.tickets}
        self.users = {str(u["id"]): copy.deepcopy(u) for u in world.users}
        self.organizations = {str(o["id"]): copy.deepcopy(o) for o in world.organizations}
        self.comments = {str(k): copy.deepcopy(v) for k, v in world.comments.items()}
        self.users.setdefault(str(API_USER_ID), self._api_user())
        self.slow_writes_s = 0.0  # hold a PUT's answer this long AFTER applying it (a write that lands, then times out)
        self.retry_after_s = 1

    def connector_settings(self) -> ZendeskSettings:
        """Settings pointing the real connector and writer at this stand-in (start it first)."""
        return ZendeskSettings(base_url=self.url, email=self.email, api_token=SecretStr(self.token))

    # ----------------------------------------------------------------- API error shapes
    def rate_limit_response(self) -> Response:
        """Zendesk's 429 with ``Retry-After`` seconds."""
        body = {"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"}
        return Response(429, body, {"Retry-After": str(self.retry_after_s)})

    def server_error_response(self) -> Response:
        """A 503 as Zendesk answers during an outage or maintenance."""
        return _error(503, "ServiceUnavailable", "Zendesk is temporarily unavailable, please try again")

    # ----------------------------------------------------------------- routing
    def handle(self, request: Request) -> Response:
        """Authenticate, then route to the endpoint."""
        if not self._authenticated(request):
            return Response(401, {"error": "Couldn't authenticate you"})
        path, method = request.path, request.method
        if method == "GET" and (m := _TICKET.match(path)):
            return self._show_ticket(m.group(1), request)
        if method == "PUT" and (m := _TICKET.match(path)):
            return self._update_ticket(m.group(1), request)
        if method == "GET" and (m := _COMMENTS.match(path)):
            return self._list_comments(m.group(1), request)
        if method == "GET" and (m := _USER.match(path)):
            user = self.users.get(str(API_USER_ID) if m.group(1) == "me" else m.group(1))
            return Response(200, {"user": user}) if user else _not_found()
        if method == "GET" and (m := _ORG.match(path)):
            org = self.organizations.get(m.group(1))
            return Response(200, {"organization": org}) if org else _not_found()
        if method == "GET" and path == "/api/v2/search.json":
            return self._search(request)
        return _error(404, "InvalidEndpoint", "Not found")

    def _authenticated(self, request: Request) -> bool:
        value = request.headers.get("authorization", "")
        if not value.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(value[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        return decoded == f"{self.email}/token:{self.token}"

    # ----------------------------------------------------------------- tickets
    def _show_ticket(self, ticket_id: str, request: Request) -> Response:
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            return _not_found()
        body: dict[str, Any] = {"ticket": ticket}
        include = {i.strip() for i in (request.arg("include") or "").split(",") if i.strip()}
        if "users" in include:
            ids = [ticket.get(k) for k in ("requester_id", "submitter_id", "assignee_id")]
            ids += list(ticket.get("collaborator_ids") or []) + list(ticket.get("follower_ids") or [])
            body["users"] = self._users_of(ids)
        if "organizations" in include:
            org = self.organizations.get(str(ticket.get("organization_id")))
            body["organizations"] = [org] if org else []
        return Response(200, body)

    def _users_of(self, ids: list[Any]) -> list[dict[str, Any]]:
        seen: list[str] = []
        for user_id in ids:
            if user_id is not None and str(user_id) in self.users and str(user_id) not in seen:
                seen.append(str(user_id))
        return [self.users[i] for i in seen]

    def _update_ticket(self, ticket_id: str, request: Request) -> Response:
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            return _not_found()
        try:
            payload = request.json()
        except ValueError:
            return _error(400, "InvalidJSON", "The request body is not valid JSON")
        comment = ((payload or {}).get("ticket") or {}).get("comment") if isinstance(payload, dict) else None
        if not isinstance(comment, dict) or not (comment.get("body") or comment.get("html_body")):
            details = {"base": [{"description": "Comment: cannot be blank", "error": "BlankValue"}]}
            return _error(422, "RecordInvalid", "Record validation errors", details=details)
        created = self._add_comment(ticket_id, comment)
        ticket["updated_at"] = created["created_at"]
        self.record(
            "zendesk.note",
            {
                "ticket_id": ticket_id,
                "comment_id": created["id"],
                "html_body": created["html_body"],
                "body": created["body"],
                "public": created["public"],
            },
        )
        if self.slow_writes_s:
            self._stop.wait(self.slow_writes_s)
        audit = {
            "id": created["audit_id"],
            "ticket_id": int(ticket_id),
            "created_at": created["created_at"],
            "author_id": created["author_id"],
            "events": [{"type": "Comment", **created}],
        }
        return Response(200, {"ticket": ticket, "audit": audit})

    def _add_comment(self, ticket_id: str, comment: dict[str, Any]) -> dict[str, Any]:
        thread = self.comments.setdefault(ticket_id, [])
        next_id = max([int(c.get("id", 0)) for c in thread] + [40000000000000]) + 1
        html_body = str(comment.get("html_body") or f"<p>{html.escape(str(comment.get('body')))}</p>")
        text = str(comment.get("body") or _text(html_body))
        created: dict[str, Any] = {
            "id": next_id,
            "type": "Comment",
            "author_id": comment.get("author_id") or API_USER_ID,
            "body": text,
            "html_body": f'<div class="zd-comment" dir="auto">{html_body}</div>',
            "plain_body": text,
            "public": bool(comment.get("public", True)),
            "attachments": [],
            "audit_id": next_id + 1,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": _now(),
        }
        thread.append(created)
        return created

    # ----------------------------------------------------------------- comments
    def _list_comments(self, ticket_id: str, request: Request) -> Response:
        if ticket_id not in self.tickets:
            return _not_found()
        thread = self.comments.get(ticket_id, [])
        size = request.arg("page[size]")
        body = self._offset_page(request, thread) if size is None else self._cursor_page(request, thread, int(size))
        if "users" in (request.arg("include") or ""):
            body["users"] = self._users_of([c.get("author_id") for c in body["comments"]])
        return Response(200, body)

    def _link(self, request: Request, **params: Any) -> str:
        query = {k: v[0] for k, v in request.query.items()} | {k: str(v) for k, v in params.items()}
        query = {k: v for k, v in query.items() if v != ""}
        return f"{self.url}{request.path}?{urlencode(query)}"

    def _cursor_page(self, request: Request, items: list[dict[str, Any]], size: int) -> dict[str, Any]:
        size = max(1, min(size, 100))
        after = request.arg("page[after]")
        start = int(base64.urlsafe_b64decode(after.encode()).decode()) if after else 0
        page, end = items[start : start + size], start + size
        has_more = end < len(items)
        after_cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if page else None
        before_cursor = base64.urlsafe_b64encode(str(start).encode()).decode() if page else None
        return {
            "comments": page,
            "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
            "links": {
                "next": self._link(request, **{"page[after]": after_cursor}) if has_more else None,
                "prev": self._link(request, **{"page[before]": before_cursor}) if start else None,
            },
        }

    def _offset_page(self, request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        per_page = max(1, min(int(request.arg("per_page") or 100), 100))
        number = max(1, int(request.arg("page") or 1))
        start = (number - 1) * per_page
        more = start + per_page < len(items)
        return {
            "comments": items[start : start + per_page],
            "next_page": self._link(request, page=number + 1) if more else None,
            "previous_page": self._link(request, page=number - 1) if number > 1 else None,
            "count": len(items),
        }

    # ----------------------------------------------------------------- search
    def _search(self, request: Request) -> Response:
        query = request.arg("query") or ""
        try:
            terms = shlex.split(query)
        except ValueError:
            return _error(400, "InvalidQuery", "The query could not be parsed")
        results = [dict(t, result_type="ticket") for t in self.tickets.values()]
        for term in terms:
            match = _TERM.match(term)
            if match is None:
                words = term.lower()
                results = [t for t in results if words in f"{t.get('subject')} {t.get('description')}".lower()]
                continue
            key, op, value = match.groups()
            filtered = self._filter(results, key, op, value)
            if filtered is None:
                return _error(400, "UnsupportedQuery", f"the stand-in does not support search term {term!r}")
            results = filtered
        results.sort(key=lambda t: str(t.get("created_at")), reverse=True)
        body = {"results": results, "facets": None, "next_page": None, "previous_page": None, "count": len(results)}
        return Response(200, body)

    def _filter(self, tickets: list[dict[str, Any]], key: str, op: str, value: str) -> list[dict[str, Any]] | None:
        if key == "type" and op == ":":
            return tickets if value == "ticket" else []
        if key == "organization" and op == ":":
            names = {str(o["id"]) for o in self.organizations.values() if str(o.get("name")) == value}
            return [t for t in tickets if str(t.get("organization_id")) in names | {value}]
        if key == "status" and op == ":":
            return [t for t in tickets if str(t.get("status")) == value]
        if key == "created" and op in (">", "<", ">=", "<="):
            bound = date.fromisoformat(value[:10])
            compare = {">": bound.__lt__, "<": bound.__gt__, ">=": bound.__le__, "<=": bound.__ge__}[op]
            return [t for t in tickets if compare(date.fromisoformat(str(t.get("created_at"))[:10]))]
        return None

    def _api_user(self) -> dict[str, Any]:
        return {
            "id": API_USER_ID,
            "url": f"https://standin.zendesk.test/api/v2/users/{API_USER_ID}.json",
            "name": "Investigator (API)",
            "email": self.email,
            "role": "admin",
            "active": True,
            "verified": True,
            "organization_id": None,
            "tags": [],
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2020-01-01T00:00:00Z",
        }

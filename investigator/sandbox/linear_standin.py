"""A local Linear GraphQL stand-in that executes queries against Linear's official schema.

``POST /graphql`` is parsed, validated and executed with graphql-core against
``contracts/linear_schema.graphql`` (Linear's SDK schema), so a document using a field or
argument Linear lacks is rejected as Linear rejects it: HTTP 400 with
``errors[].extensions.type == "graphql error"``. Resolvers cover what the connector and the
escalation writer use: ``issues(filter, first, after, orderBy)`` (an IssueFilter subset, Relay
pagination), ``issue(id)``, ``teams(filter)``, ``issueLabels(filter)``, ``organization``,
``issueCreate`` and ``commentCreate`` (recorded, duplicate client ids refused). A filter key
outside the subset is answered with an error instead of being ignored.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema, execute_sync, parse, validate
from pydantic import SecretStr

from connectors.linear.config import LinearSettings
from investigator.sandbox.linear_filters import LinearApiError, error_extensions, matches, paginate, parse_time
from investigator.sandbox.scenario import LinearWorld
from investigator.sandbox.standin import Injection, Request, Response, StandIn

SCHEMA_PATH = Path(__file__).parent / "contracts" / "linear_schema.graphql"
STANDIN_KEY = "lin_api_standin0000000000000000000000000000"
_NS = uuid.UUID("0f1d7c52-2b4e-4c55-9a55-3f1a3c0e9b21")
_SCHEMA: GraphQLSchema | None = None
_SCHEMA_LOCK = threading.Lock()
_EMPTY_PAGE = {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None}


def _error_body(message: str, kind: str, code: str, readable: str = "", status: int = 400) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": error_extensions(kind, code, readable or message, status)}]}


def linear_schema() -> GraphQLSchema:
    """Linear's schema with the stand-in's resolvers, built once per process (the file is 1.2 MB)."""
    global _SCHEMA
    with _SCHEMA_LOCK:
        if _SCHEMA is None:
            schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
            assert schema.query_type is not None and schema.mutation_type is not None
            for field_name, method in _QUERIES.items():
                schema.query_type.fields[field_name].resolve = _dispatch(method)
            for field_name, method in _MUTATIONS.items():
                schema.mutation_type.fields[field_name].resolve = _dispatch(method)
            _SCHEMA = schema
        return _SCHEMA


_QUERIES = {"issues": "q_issues", "issue": "q_issue", "teams": "q_teams", "issueLabels": "q_labels",
            "organization": "q_organization"}  # fmt: skip
_MUTATIONS = {"issueCreate": "m_issue_create", "commentCreate": "m_comment_create"}


def _dispatch(method: str) -> Any:
    def resolve(root: LinearStandIn, _info: Any, **args: Any) -> Any:
        return getattr(root, method)(args)

    return resolve


# --------------------------------------------------------------------------- world
def _connection(value: Any) -> dict[str, Any]:
    nodes = list((value or {}).get("nodes") or []) if isinstance(value, dict) else list(value or [])
    return {"nodes": nodes, "pageInfo": dict(_EMPTY_PAGE)}


def _label(raw: dict[str, Any]) -> dict[str, Any]:
    name = str(raw.get("name"))
    return {"id": str(uuid.uuid5(_NS, f"label:{name.lower()}")), "color": "#bec2c8", **raw}


def _issue(raw: dict[str, Any]) -> dict[str, Any]:
    issue = dict(raw)
    identifier = str(issue.get("identifier") or "ISS-0")
    issue.setdefault("number", float(identifier.rsplit("-", 1)[-1]) if identifier[-1:].isdigit() else 0.0)
    issue.setdefault("priority", 0)
    issue.setdefault("priorityLabel", ["No priority", "Urgent", "High", "Medium", "Low"][int(issue["priority"])])
    issue.setdefault("updatedAt", issue.get("createdAt"))
    for key in ("startedAt", "completedAt", "canceledAt", "archivedAt", "description"):
        issue.setdefault(key, None)
    issue["labels"] = {"nodes": [_label(n) for n in _connection(issue.get("labels"))["nodes"]], "pageInfo": _EMPTY_PAGE}
    issue["attachments"] = _connection(issue.get("attachments"))
    issue["comments"] = _connection(issue.get("comments"))
    return issue


def _team(name: str, key: str | None = None) -> dict[str, Any]:
    if not key:
        key = "".join(w[0] for w in name.split()).upper() if " " in name else name[:4].upper()
    return {"id": str(uuid.uuid5(_NS, f"team:{key}")), "key": key, "name": name}


class LinearStandIn(StandIn):
    """Linear's GraphQL API over one scenario's issues.

    ``rate_limit_status`` is the HTTP status of a rate-limited answer (Linear uses 400 or 200);
    ``rate_limit_reset_s`` how far in the future its reset headers point. ``hang_after_write``
    makes the next N mutations apply their write and then hold the response (a timeout that
    hides a landed write). ``teams`` adds teams by name to those found on the issues.
    """

    name = "linear"

    def __init__(
        self, world: LinearWorld | None, injection: Injection | None = None, *, teams: list[str] | None = None
    ) -> None:
        super().__init__(injection)
        self.world = world or LinearWorld()
        self.api_key = STANDIN_KEY
        self.rate_limit_status = 400
        self.rate_limit_reset_s = 1.0
        self.hang_after_write = 0
        self.write_hang_s = 5.0
        self.issues = [_issue(i) for i in self.world.issues]
        self.teams = self._teams(teams or [])
        self.labels = self._labels()
        self._state = threading.Lock()
        self._sync_ids = itertools.count(1000)

    def _teams(self, extra: list[str]) -> list[dict[str, Any]]:
        teams: dict[str, dict[str, Any]] = {}
        for raw in [*(getattr(self.world, "teams", None) or []), *(i.get("team") for i in self.issues)]:
            if isinstance(raw, dict) and raw.get("key"):
                teams.setdefault(str(raw["key"]), {**_team(str(raw.get("name")), str(raw["key"])), **raw})
        for name in extra:
            if not any(t["name"].lower() == name.lower() for t in teams.values()):
                team = _team(name)
                teams.setdefault(team["key"], team)
        return list(teams.values())

    def _labels(self) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for raw in [
            *(getattr(self.world, "labels", None) or []),
            *(n for i in self.issues for n in i["labels"]["nodes"]),
        ]:
            label = _label(raw)
            found.setdefault(str(label["name"]).lower(), label)
        return list(found.values())

    def connector_settings(self, **overrides: Any) -> LinearSettings:
        """Settings that point the Linear connector/writer at this stand-in (call after ``start``)."""
        values: dict[str, Any] = {"api_url": f"{self.url}/graphql", "api_key": SecretStr(self.api_key), **overrides}
        return LinearSettings(**values)

    def operations(self, name: str) -> int:
        """How many requests carried a document mentioning ``name`` (e.g. ``issueCreate``)."""
        return sum(1 for c in self.calls if name.encode() in c.body)

    # ----------------------------------------------------------------- HTTP
    def _rate_headers(self, remaining: int) -> dict[str, str]:
        reset = str(int((time.time() + self.rate_limit_reset_s) * 1000))
        return {
            "x-ratelimit-requests-limit": "1500",
            "x-ratelimit-requests-remaining": str(remaining),
            "x-ratelimit-requests-reset": reset,
            "x-ratelimit-complexity-limit": "250000",
            "x-ratelimit-complexity-remaining": "249000",
            "x-ratelimit-complexity-reset": reset,
        }

    def rate_limit_response(self) -> Response:
        body = _error_body("Rate limit exceeded", "ratelimited", "RATELIMITED", "Rate limit exceeded.", 429)
        return Response(self.rate_limit_status, {**body, "data": None}, self._rate_headers(0))

    def server_error_response(self) -> Response:
        page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
        return Response(502, page, {"Content-Type": "text/html"})

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/graphql":
            return Response(404, _error_body("Not found", "other", "NOT_FOUND"))
        if request.headers.get("authorization", "").removeprefix("Bearer ").strip() != self.api_key:
            readable = "Authentication required, not authenticated - You need to authenticate to access this operation."
            body = _error_body("Authentication required, not authenticated", "authentication error",
                               "AUTHENTICATION_ERROR", readable, 401)  # fmt: skip
            return Response(400, body)
        try:
            payload = request.json()
            query = payload["query"]
        except (ValueError, KeyError, TypeError):
            return Response(400, _error_body("Must provide query string.", "graphql error", "BAD_REQUEST"))
        return self._execute(query, payload.get("variables") or {}, payload.get("operationName"))

    def _execute(self, query: str, variables: dict[str, Any], operation: str | None) -> Response:
        headers = self._rate_headers(1499)
        try:
            document = parse(query)
        except GraphQLError as exc:
            return Response(400, _graphql_errors([exc], "GRAPHQL_PARSE_FAILED"), headers)
        problems = validate(linear_schema(), document)
        if problems:
            return Response(400, _graphql_errors(problems, "GRAPHQL_VALIDATION_FAILED"), headers)
        result = execute_sync(
            linear_schema(), document, root_value=self, variable_values=variables, operation_name=operation
        )
        if not isinstance(result.data, dict) and result.errors and all(e.path is None for e in result.errors):
            return Response(400, _graphql_errors(result.errors, "BAD_USER_INPUT"), headers)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [_formatted(e) for e in result.errors]
        return Response(200, body, headers)

    # ----------------------------------------------------------------- resolvers
    def q_issues(self, args: dict[str, Any]) -> dict[str, Any]:
        """``issues``: filter, newest first by ``orderBy`` (createdAt by default), paginate."""
        with self._state:
            found = [i for i in self.issues if matches(i, args.get("filter"))]
        key = args.get("orderBy") or "createdAt"
        found.sort(key=lambda i: parse_time(i.get(key) or i["createdAt"]), reverse=True)
        return paginate(found, args.get("first"), args.get("after"))

    def q_issue(self, args: dict[str, Any]) -> dict[str, Any]:
        """``issue(id)`` by UUID or identifier."""
        with self._state:
            issue = self._find_issue(str(args["id"]))
        if issue is None:
            raise LinearApiError("Entity not found: Issue", readable="Could not find referenced Issue.")
        return issue

    def _find_issue(self, ref: str) -> dict[str, Any] | None:
        return next(
            (i for i in self.issues if ref in (i["id"], i["identifier"]) or ref.upper() == i["identifier"]), None
        )

    def q_teams(self, args: dict[str, Any]) -> dict[str, Any]:
        """``teams(filter)``."""
        return paginate([t for t in self.teams if matches(t, args.get("filter"))], args.get("first"), None)

    def q_labels(self, args: dict[str, Any]) -> dict[str, Any]:
        """``issueLabels(filter)``."""
        return paginate([lb for lb in self.labels if matches(lb, args.get("filter"))], args.get("first"), None)

    def q_organization(self, _args: dict[str, Any]) -> dict[str, Any]:
        """``organization``: the stand-in workspace."""
        return {"id": str(uuid.uuid5(_NS, "org")), "name": "Acme HQ (stand-in)", "urlKey": "acme-hq"}

    def m_issue_create(self, args: dict[str, Any]) -> dict[str, Any]:
        """``issueCreate``: one issue per client id; recorded as ``linear.issueCreate``."""
        input = args["input"]
        with self._state:
            team = next((t for t in self.teams if input["teamId"] in (t["id"], t["key"])), None)
            if team is None:
                raise LinearApiError("Entity not found: Team", readable="Could not find referenced Team.")
            issue_id = _client_id(input.get("id"))
            if any(i["id"] == issue_id for i in self.issues):
                raise LinearApiError("Entity already exists", readable="An issue with this id already exists.")
            issue = self._new_issue(issue_id, team, input)
            self.issues.append(issue)
            self.record("linear.issueCreate", {"input": dict(input), "identifier": issue["identifier"]})
        self._maybe_hang()
        return {"success": True, "issue": issue, "lastSyncId": float(next(self._sync_ids))}

    def _new_issue(self, issue_id: str, team: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        number = 1 + max((int(i["number"]) for i in self.issues if i["team"].get("key") == team["key"]), default=0)
        identifier = f"{team['key']}-{number}"
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        labels = [lb for lb in self.labels if lb["id"] in (data.get("labelIds") or [])]
        return _issue({
            "id": issue_id, "identifier": identifier, "number": number, "title": data.get("title") or "",
            "description": data.get("description"), "priority": data.get("priority") or 0,
            "url": f"https://linear.app/acme-hq/issue/{identifier.lower()}", "createdAt": now, "updatedAt": now,
            "state": {"id": str(uuid.uuid5(_NS, f"state:{team['key']}:todo")), "name": "Todo", "type": "unstarted"},
            "team": team, "labels": {"nodes": labels},
        })  # fmt: skip

    def m_comment_create(self, args: dict[str, Any]) -> dict[str, Any]:
        """``commentCreate``: on an issue by UUID or identifier; recorded as ``linear.commentCreate``."""
        input = args["input"]
        with self._state:
            issue = self._find_issue(str(input.get("issueId") or ""))
            if issue is None:
                raise LinearApiError("Entity not found: Issue", readable="Could not find referenced Issue.")
            comment_id = _client_id(input.get("id"))
            if any(c["id"] == comment_id for i in self.issues for c in i["comments"]["nodes"]):
                raise LinearApiError("Entity already exists", readable="A comment with this id already exists.")
            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            comment = {"id": comment_id, "body": input.get("body") or "", "createdAt": now, "updatedAt": now,
                       "url": f"{issue['url']}#comment-{comment_id[:8]}"}  # fmt: skip
            issue["comments"]["nodes"].append(comment)
            self.record("linear.commentCreate", {"input": dict(input), "issue": issue["identifier"]})
        self._maybe_hang()
        return {"success": True, "comment": comment, "lastSyncId": float(next(self._sync_ids))}

    def _maybe_hang(self) -> None:
        with self._state:
            hang = self.hang_after_write > 0
            self.hang_after_write -= 1 if hang else 0
        if hang:
            self._stop.wait(self.write_hang_s)


def _client_id(value: Any) -> str:
    if value is None:
        return str(uuid.uuid4())
    try:
        parsed = uuid.UUID(str(value))
    except ValueError:
        raise LinearApiError("Argument Validation Error", readable="id must be a UUID.") from None
    if parsed.version != 4:
        raise LinearApiError("Argument Validation Error", readable="id must be a UUID v4.")
    return str(parsed)


def _formatted(error: GraphQLError) -> dict[str, Any]:
    out = error.formatted
    if not out.get("extensions"):
        out["extensions"] = error_extensions("internal error", "INTERNAL_SERVER_ERROR", "Internal server error", 500)
    return dict(out)


def _graphql_errors(errors: list[GraphQLError], code: str) -> dict[str, Any]:
    formatted = []
    for error in errors:
        item = dict(error.formatted)
        item["extensions"] = error_extensions("graphql error", code, error.message)
        formatted.append(item)
    return {"errors": formatted}

"""The Zendesk stand-in over real HTTP: auth, sideloads, pagination, search, notes, faults, shapes."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from connectors.helpdesk.connector import ZendeskConnector
from connectors.helpdesk.writer import ZendeskNoteWriter
from investigator.connector import InvestigationContext
from investigator.errors import RateLimitedError, TransientError
from investigator.intake import ADAPTERS
from investigator.models import TimeWindow
from investigator.retry import RetryPolicy
from investigator.sandbox.scenario import Scenario, load_scenario
from investigator.sandbox.standin import FaultKind, Injection
from investigator.sandbox.zendesk_standin import ZendeskStandIn
from investigator.signals import Conversation

SCENARIOS = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"

# Required fields of Zendesk's Ticket / User / Organization / Ticket Comment JSON (the fields the
# scenarios use and the connector reads), with Zendesk's types: integer ids, ISO strings, lists.
_ID = {"type": "integer"}
_NID = {"type": ["integer", "null"]}
SCHEMAS: dict[str, dict[str, Any]] = {
    "ticket": {
        "type": "object",
        "required": [
            "id",
            "url",
            "subject",
            "description",
            "status",
            "priority",
            "requester_id",
            "organization_id",
            "tags",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "id": _ID,
            "requester_id": _ID,
            "organization_id": _NID,
            "tags": {"type": "array", "items": {"type": "string"}},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "user": {
        "type": "object",
        "required": ["id", "url", "name", "email", "role", "organization_id"],
        "properties": {"id": _ID, "role": {"enum": ["end-user", "agent", "admin"]}},
    },
    "organization": {
        "type": "object",
        "required": ["id", "url", "name", "external_id", "tags"],
        "properties": {"id": _ID, "external_id": {"type": ["string", "null"]}},
    },
    "comment": {
        "type": "object",
        "required": [
            "id",
            "type",
            "author_id",
            "body",
            "html_body",
            "plain_body",
            "public",
            "attachments",
            "audit_id",
            "via",
            "created_at",
        ],
        "properties": {"id": _ID, "author_id": _ID, "public": {"type": "boolean"}, "type": {"const": "Comment"}},
    },
}


def world(name: str) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.yaml")


def auth(standin: ZendeskStandIn) -> httpx.BasicAuth:
    return httpx.BasicAuth(f"{standin.email}/token", standin.token)


_HTTP = httpx.Client(timeout=5)  # one pool for the module: building a client per call is slow


def get(standin: ZendeskStandIn, path: str, **params: Any) -> httpx.Response:
    url = path if path.startswith("http") else f"{standin.url}{path}"
    return _HTTP.get(url, params=params or None, auth=auth(standin))


def test_requests_without_valid_basic_auth_are_refused_like_zendesk() -> None:
    with ZendeskStandIn(world("cross-tenant-data-exposure").ticket.zendesk) as standin:
        url = f"{standin.url}/api/v2/tickets/47820.json"
        anonymous = _HTTP.get(url)
        wrong = _HTTP.get(url, auth=(f"{standin.email}/token", "nope"))
        not_token = _HTTP.get(url, auth=(standin.email, standin.token))
    for response in (anonymous, wrong, not_token):
        assert response.status_code == 401
        assert response.json() == {"error": "Couldn't authenticate you"}


def test_show_ticket_sideloads_users_and_organizations_shaped_like_zendesk() -> None:
    with ZendeskStandIn(world("tenant-rate-limited-429").ticket.zendesk) as standin:
        body = get(standin, "/api/v2/tickets/46911.json", include="users,organizations").json()
        bare = get(standin, "/api/v2/tickets/46911.json").json()
        org = get(standin, "/api/v2/organizations/8768538005044.json").json()
        user = get(standin, "/api/v2/users/8771202001178.json").json()
    jsonschema.validate(body["ticket"], SCHEMAS["ticket"])
    for sideloaded in body["users"] + [user["user"]]:
        jsonschema.validate(sideloaded, SCHEMAS["user"])
    jsonschema.validate(org["organization"], SCHEMAS["organization"])
    assert {u["id"] for u in body["users"]} == {8771202001178, 7756958514402}  # requester + assignee
    assert [o["external_id"] for o in body["organizations"]] == ["larkspur"]
    assert set(bare) == {"ticket"}


def test_unknown_objects_answer_zendesk_record_not_found() -> None:
    with ZendeskStandIn(None) as standin:
        response = get(standin, "/api/v2/tickets/1.json")
        unknown = get(standin, "/api/v2/nothing.json")
    assert response.status_code == 404
    assert response.json() == {"error": "RecordNotFound", "description": "Not found"}
    assert unknown.status_code == 404 and unknown.json()["error"] == "InvalidEndpoint"


def test_comments_page_by_cursor_and_by_offset_with_authors_sideloaded() -> None:
    with ZendeskStandIn(world("tenant-rate-limited-429").ticket.zendesk) as standin:
        first = get(standin, "/api/v2/tickets/46911/comments.json", **{"page[size]": 1, "include": "users"}).json()
        second = get(standin, first["links"]["next"]).json()
        offset = get(standin, "/api/v2/tickets/46911/comments.json", per_page=1).json()
        offset_two = get(standin, offset["next_page"]).json()
    assert first["meta"]["has_more"] is True and len(first["comments"]) == 1
    assert [u["id"] for u in first["users"]] == [8771202001178]
    assert second["meta"]["has_more"] is False and second["links"]["next"] is None
    assert [c["id"] for c in first["comments"] + second["comments"]] == [38604997260882, 38604997500630]
    assert offset["count"] == 2 and offset_two["next_page"] is None
    assert offset_two["comments"][0]["author_id"] == 7756958514402
    for comment in first["comments"] + second["comments"]:
        jsonschema.validate(comment, SCHEMAS["comment"])


def test_search_supports_the_organization_and_created_subset() -> None:
    sc = world("tenant-rate-limited-429")
    zendesk = sc.ticket.zendesk
    assert zendesk is not None
    older = dict(zendesk.tickets[0], id=45000, subject="429s again", created_at="2026-09-01T10:00:00Z")
    recent = dict(zendesk.tickets[0], id=46500, subject="429 on events", created_at="2026-11-01T10:00:00Z")
    zendesk = zendesk.model_copy(update={"tickets": [*zendesk.tickets, older, recent]})
    with ZendeskStandIn(zendesk) as standin:
        found = get(standin, "/api/v2/search.json", query="type:ticket organization:8768538005044 created>2026-10-19")
        other_org = get(standin, "/api/v2/search.json", query="type:ticket organization:1 created>2026-10-19")
        unsupported = get(standin, "/api/v2/search.json", query="type:ticket assignee:me")
    body = found.json()
    assert sorted(r["id"] for r in body["results"]) == [46500, 46911]
    assert {r["result_type"] for r in body["results"]} == {"ticket"} and body["count"] == 2
    assert other_org.json()["results"] == []
    assert unsupported.status_code == 400


def test_a_put_comment_is_recorded_and_seen_by_a_later_read() -> None:
    with ZendeskStandIn(world("cross-tenant-data-exposure").ticket.zendesk) as standin:
        put = _HTTP.put(
            f"{standin.url}/api/v2/tickets/47820.json",
            json={"ticket": {"comment": {"html_body": "<p>Evidence &amp; links</p>", "public": False}}},
            auth=auth(standin),
        )
        blank = _HTTP.put(f"{standin.url}/api/v2/tickets/47820.json", json={"ticket": {}}, auth=auth(standin))
        thread = get(standin, "/api/v2/tickets/47820/comments.json").json()
        recorded = list(standin.recorded)
    assert put.status_code == 200 and put.json()["ticket"]["id"] == 47820
    assert blank.status_code == 422 and blank.json()["error"] == "RecordInvalid"
    assert recorded == [
        {
            "kind": "zendesk.note",
            "ticket_id": "47820",
            "comment_id": thread["comments"][-1]["id"],
            "html_body": thread["comments"][-1]["html_body"],
            "body": "Evidence & links",
            "public": False,
        }
    ]
    new = thread["comments"][-1]
    jsonschema.validate(new, SCHEMAS["comment"])
    assert new["public"] is False and new["plain_body"] == "Evidence & links"
    assert len(thread["comments"]) == 2


def test_rate_limit_fault_answers_429_with_retry_after_and_the_connector_backs_off_then_gives_up() -> None:
    sc = world("cross-tenant-data-exposure")
    with ZendeskStandIn(sc.ticket.zendesk, Injection(fault=FaultKind.RATE_LIMIT)) as standin:
        raw = get(standin, "/api/v2/tickets/47820.json")
        sleeps: list[float] = []
        connector = ZendeskConnector(standin.connector_settings(), retry=RetryPolicy(sleep=sleeps.append))
        with pytest.raises(RateLimitedError):
            connector.collect(_context(sc))
        connector.close()
        calls = len(standin.calls)
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "1"
    assert raw.json()["error"] == "APIRateLimitExceeded"
    assert sleeps == [1.0, 1.0] and calls == 1 + 3


def test_server_error_fault_answers_a_zendesk_503() -> None:
    with ZendeskStandIn(None, Injection(fault=FaultKind.SERVER_ERROR)) as standin:
        response = get(standin, "/api/v2/tickets/1.json")
        connector = ZendeskConnector(
            standin.connector_settings(), retry=RetryPolicy(max_attempts=2, sleep=lambda s: None)
        )
        with pytest.raises(TransientError):
            connector.collect(_context(world("cross-tenant-data-exposure")))
    assert response.status_code == 503 and response.json()["error"] == "ServiceUnavailable"


def _context(sc: Scenario) -> InvestigationContext:
    ticket = ADAPTERS["zendesk"].parse(__import__("json").dumps(sc.ticket.webhook).encode()).ticket
    return InvestigationContext(
        investigation_id="inv-standin",
        ticket=ticket,
        tenant_id=None,
        now=sc.now,
        window=TimeWindow(start=sc.now - timedelta(hours=6), end=sc.now),
        baseline=TimeWindow(start=sc.now - timedelta(hours=30), end=sc.now - timedelta(hours=6)),
    )


def test_connector_and_writer_against_the_stand_in_resolve_the_tenant_and_write_one_note() -> None:
    sc = world("tenant-rate-limited-429")
    with ZendeskStandIn(sc.ticket.zendesk) as standin:
        connector = ZendeskConnector(standin.connector_settings())
        out = connector.collect(_context(sc))
        writer = ZendeskNoteWriter(standin.connector_settings())
        results = [
            writer.post_private_note(ticket_id="46911", html_body="<p>Packet</p>", idempotency_key="inv-1")
            for _ in range(2)
        ]
        after = connector.collect(_context(sc))
        connector.close()
        writer.close()
        notes = [r for r in standin.recorded if r["kind"] == "zendesk.note"]
        show = next(c for c in standin.calls if c.path == "/api/v2/tickets/46911.json")
    assert out.resolved_tenant == "larkspur"
    facts = Conversation.of(next(f for f in out.findings if f.kind == "conversation"))
    assert facts.promises == ["we're looking into this now and will get back to you shortly"]
    assert results == [{"comment_found": False, "created": True}, {"comment_found": True, "created": False}]
    assert len(notes) == 1
    assert Conversation.of(next(f for f in after.findings if f.kind == "conversation")).public_replies == 1
    assert (
        show.headers["authorization"]
        == "Basic " + base64.b64encode(f"{standin.email}/token:{standin.token}".encode()).decode()
    )

"""The Zendesk helpdesk source against respx-mocked Zendesk answers (real httpx, no own code mocked)."""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from zendesk_fixtures import (
    BASE,
    EMPTY_SEARCH,
    TOKEN,
    comments_body,
    context_for,
    make_context,
    make_settings,
    scenario,
    ticket_body,
)

from connectors.helpdesk.connector import GENERIC_CHECKED, ZendeskConnector
from investigator.errors import (
    NotConfiguredError,
    RateLimitedError,
    SourceTimeoutError,
    TerminalError,
    TransientError,
)
from investigator.models import Ticket
from investigator.retry import RetryPolicy
from investigator.signals import Conversation, PriorTicket, TenantUnresolved


def connector(sleeps: list[float] | None = None, **overrides: Any) -> ZendeskConnector:
    policy = RetryPolicy(max_attempts=3, sleep=(sleeps if sleeps is not None else []).append)
    return ZendeskConnector(make_settings(**overrides), retry=policy)


def mock_world(router: respx.MockRouter, name: str) -> dict[str, respx.Route]:
    sc = scenario(name)
    ticket_id = sc.ticket.zendesk.tickets[0]["id"]  # type: ignore[union-attr]
    return {
        "ticket": router.get(f"/api/v2/tickets/{ticket_id}.json").respond(200, json=ticket_body(sc)),
        "comments": router.get(f"/api/v2/tickets/{ticket_id}/comments.json").respond(200, json=comments_body(sc)),
        "search": router.get("/api/v2/search.json").respond(200, json=EMPTY_SEARCH),
    }


def test_cross_tenant_ticket_resolves_the_tenant_from_the_organization_external_id() -> None:
    sc = scenario("cross-tenant-data-exposure")
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        routes = mock_world(router, "cross-tenant-data-exposure")
        out = connector().collect(context_for(sc))
    assert out.resolved_tenant == "saltmarsh"
    assert routes["ticket"].calls.last.request.url.params["include"] == "users,organizations"
    assert "organization:8672022003261 created>2026-10-27" in routes["search"].calls.last.request.url.params["query"]
    assert out.ticket_update is not None
    assert out.ticket_update["requester"] == {"email": "maya@saltmarsh-outdoor.test", "name": "Maya Castillo"}
    assert out.ticket_update["priority"] == "urgent"
    assert out.ticket_update["organization_id"] == "8672022003261"
    assert out.ticket_update["url"] == f"{BASE}/agent/tickets/47820"
    [conversation] = [f for f in out.findings if f.kind == "conversation"]
    facts = Conversation.of(conversation)
    assert (facts.acknowledged, facts.public_replies, facts.promises) == (False, 0, [])
    assert facts.organization == "Saltmarsh Outdoor Co." and facts.organization_tags == ["growth"]
    assert conversation.citations and conversation.citations[0].url == f"{BASE}/agent/tickets/47820"
    assert not [f for f in out.findings if f.kind == "tenant_unresolved"]


def test_agent_reply_counts_as_acknowledged_and_its_promise_is_quoted() -> None:
    sc = scenario("tenant-rate-limited-429")
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_world(router, "tenant-rate-limited-429")
        out = connector().collect(context_for(sc))
    assert out.resolved_tenant == "larkspur"
    facts = Conversation.of(next(f for f in out.findings if f.kind == "conversation"))
    assert facts.acknowledged is True
    assert facts.public_replies == 1
    assert facts.promises == ["we're looking into this now and will get back to you shortly"]
    assert facts.last_agent_reply_at == datetime(2026, 11, 18, 10, 25, tzinfo=UTC)
    assert facts.organization_tags == ["starter"]


def test_enterprise_organization_tags_are_reported() -> None:
    sc = scenario("multi-tenant-latency-no-incident")
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_world(router, "multi-tenant-latency-no-incident")
        out = connector().collect(context_for(sc))
    facts = Conversation.of(next(f for f in out.findings if f.kind == "conversation"))
    assert out.resolved_tenant == "meridian"
    assert facts.organization_tags == ["enterprise", "sla_99_9"]


def test_comments_are_read_across_cursor_pages_and_offset_pages() -> None:
    sc = scenario("tenant-rate-limited-429")
    full = comments_body(sc)
    first, second = copy.deepcopy(full), copy.deepcopy(full)
    first["comments"], second["comments"] = full["comments"][:1], full["comments"][1:]
    first["meta"]["has_more"] = True
    first["links"]["next"] = f"{BASE}/api/v2/tickets/46911/comments.json?page%5Bsize%5D=1&page%5Bafter%5D=abc"
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_world(router, "tenant-rate-limited-429")
        pages = router.get("/api/v2/tickets/46911/comments.json")
        pages.side_effect = [httpx.Response(200, json=first), httpx.Response(200, json=second)]
        out = connector().collect(context_for(sc))
    assert pages.call_count == 2
    assert pages.calls[1].request.url.params["page[after]"] == "abc"
    facts = Conversation.of(next(f for f in out.findings if f.kind == "conversation"))
    assert facts.acknowledged is True
    assert "2 comments, 2 page(s)" in out.checked[0]

    offset_first = {
        "comments": full["comments"][:1],
        "users": full["users"],
        "count": 2,
        "next_page": f"{BASE}/api/v2/tickets/46911/comments.json?page=2",
        "previous_page": None,
    }
    offset_second = {
        "comments": full["comments"][1:],
        "users": full["users"],
        "count": 2,
        "next_page": None,
        "previous_page": f"{BASE}/api/v2/tickets/46911/comments.json?page=1",
    }
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_world(router, "tenant-rate-limited-429")
        pages = router.get("/api/v2/tickets/46911/comments.json")
        pages.side_effect = [httpx.Response(200, json=offset_first), httpx.Response(200, json=offset_second)]
        out = connector().collect(context_for(sc))
    assert pages.call_count == 2
    assert Conversation.of(next(f for f in out.findings if f.kind == "conversation")).public_replies == 1


def test_a_pagination_link_to_another_host_is_refused_and_never_followed() -> None:
    sc = scenario("tenant-rate-limited-429")
    body = comments_body(sc)
    body["meta"]["has_more"] = True
    body["links"]["next"] = "https://evil.example/steal"
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        mock_world(router, "tenant-rate-limited-429")["comments"].respond(200, json=body)
        evil = respx.get("https://evil.example/steal").respond(200, json={})
        out = connector().collect(context_for(sc))
    assert evil.call_count == 0
    assert not [f for f in out.findings if f.kind == "conversation"]
    assert any("comments unavailable" in c and "outside the configured base URL" in c for c in out.checked)


def test_failing_comments_and_search_degrade_without_losing_the_tenant() -> None:
    sc = scenario("tenant-rate-limited-429")
    sleeps: list[float] = []
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        routes = mock_world(router, "tenant-rate-limited-429")
        routes["comments"].respond(503, json={"error": "ServiceUnavailable"})
        routes["search"].respond(429, headers={"Retry-After": "1"}, json={"error": "APIRateLimitExceeded"})
        out = connector(sleeps).collect(context_for(sc))
    assert out.resolved_tenant == "larkspur"
    assert out.ticket_update is not None and out.ticket_update["requester"]["name"] == "Priya Raman"
    assert [f.kind for f in out.findings] == []
    assert any(c.startswith("comments unavailable: zendesk: HTTP 503") for c in out.checked)
    assert any(c.startswith("prior-ticket search unavailable: zendesk: HTTP 429") for c in out.checked)
    assert (routes["comments"].call_count, routes["search"].call_count) == (3, 3)
    assert len(sleeps) == 4


def test_rate_limited_ticket_read_honours_retry_after_then_succeeds() -> None:
    sc = scenario("cross-tenant-data-exposure")
    sleeps: list[float] = []
    limited = httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "APIRateLimitExceeded"})
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        routes = mock_world(router, "cross-tenant-data-exposure")
        routes["ticket"].side_effect = [limited, httpx.Response(200, json=ticket_body(sc))]
        out = connector(sleeps).collect(context_for(sc))
    assert routes["ticket"].call_count == 2
    assert sleeps == [2.0]
    assert out.resolved_tenant == "saltmarsh"


def test_rate_limited_every_time_gives_up_after_bounded_attempts_with_retry_after() -> None:
    sc = scenario("cross-tenant-data-exposure")
    sleeps: list[float] = []
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        route = router.get("/api/v2/tickets/47820.json").respond(429, headers={"Retry-After": "1"}, text="Too many")
        with pytest.raises(RateLimitedError) as raised:
            connector(sleeps).collect(context_for(sc))
    assert route.call_count == 3
    assert sleeps == [1.0, 1.0]
    assert raised.value.retry_after == 1.0


def test_server_errors_are_retried_then_reported_transient() -> None:
    sc = scenario("cross-tenant-data-exposure")
    sleeps: list[float] = []
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        route = router.get("/api/v2/tickets/47820.json").respond(503, json={"error": "ServiceUnavailable"})
        with pytest.raises(TransientError, match="HTTP 503"):
            connector(sleeps).collect(context_for(sc))
    assert route.call_count == 3
    assert len(sleeps) == 2


def test_timeout_is_retried_then_reported_as_a_source_timeout() -> None:
    sc = scenario("cross-tenant-data-exposure")
    sleeps: list[float] = []
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        route = router.get("/api/v2/tickets/47820.json").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(SourceTimeoutError, match="timed out"):
            connector(sleeps).collect(context_for(sc))
    assert route.call_count == 3
    assert len(sleeps) == 2


def test_malformed_json_is_terminal_and_not_retried() -> None:
    sc = scenario("cross-tenant-data-exposure")
    sleeps: list[float] = []
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        route = router.get("/api/v2/tickets/47820.json").respond(200, content=b'{"ticket": {tru')
        with pytest.raises(TerminalError, match="not valid JSON"):
            connector(sleeps).collect(context_for(sc))
    assert route.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403, 404])
def test_auth_and_missing_ticket_answers_are_terminal_without_retry(status: int) -> None:
    sc = scenario("cross-tenant-data-exposure")
    sleeps: list[float] = []
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        route = router.get("/api/v2/tickets/47820.json").respond(status, json={"error": "RecordNotFound"})
        with pytest.raises(TerminalError, match=f"HTTP {status}") as raised:
            connector(sleeps).collect(context_for(sc))
    assert not isinstance(raised.value, TransientError)
    assert route.call_count == 1 and sleeps == []


def test_logs_and_errors_of_a_failing_call_never_contain_the_token(caplog: pytest.LogCaptureFixture) -> None:
    import base64

    sc = scenario("cross-tenant-data-exposure")
    caplog.set_level(logging.DEBUG)
    credential = base64.b64encode(f"bot@acme.test/token:{TOKEN}".encode()).decode()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        route = router.get("/api/v2/tickets/47820.json").respond(500, json={"error": "InternalError"})
        with pytest.raises(TransientError) as raised:
            connector().collect(context_for(sc))
    assert route.calls.last.request.headers["Authorization"] == f"Basic {credential}"  # the token WAS sent
    assert caplog.records, "the retries should have logged"
    text = caplog.text + str(raised.value) + repr(raised.value)
    assert TOKEN not in text and credential not in text


def test_organization_without_external_id_reports_tenant_unresolved_and_still_collects() -> None:
    sc = scenario("cross-tenant-data-exposure")
    body = ticket_body(sc)
    body["organizations"][0]["external_id"] = None
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_world(router, "cross-tenant-data-exposure")["ticket"].respond(200, json=body)
        out = connector().collect(context_for(sc))
    assert out.resolved_tenant is None
    [unresolved] = [f for f in out.findings if f.kind == "tenant_unresolved"]
    facts = TenantUnresolved.of(unresolved)
    assert facts.organization_id == "8672022003261"
    assert "Saltmarsh Outdoor Co." in facts.why and "external_id" in facts.why
    assert any(f.kind == "conversation" for f in out.findings)


def test_tenant_field_is_configurable_to_a_nested_organization_field() -> None:
    sc = scenario("multi-tenant-latency-no-incident")
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_world(router, "multi-tenant-latency-no-incident")
        out = connector(tenant_field="organization_fields.plan").collect(context_for(sc))
    assert out.resolved_tenant == "enterprise"


def test_prior_tickets_with_similar_subjects_are_reported_and_the_current_one_skipped() -> None:
    sc = scenario("tenant-rate-limited-429")
    current = sc.ticket.zendesk.tickets[0]  # type: ignore[union-attr]
    similar = dict(
        current,
        id=46001,
        subject="429 errors from the events API",
        status="solved",
        created_at="2026-11-02T09:00:00Z",
        result_type="ticket",
    )
    unrelated = dict(
        current,
        id=46002,
        subject="Invoice address change",
        status="closed",
        created_at="2026-11-03T09:00:00Z",
        result_type="ticket",
    )
    results = {**EMPTY_SEARCH, "results": [dict(current, result_type="ticket"), similar, unrelated], "count": 3}
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_world(router, "tenant-rate-limited-429")["search"].respond(200, json=results)
        out = connector().collect(context_for(sc))
    priors = [PriorTicket.of(f) for f in out.findings if f.kind == "prior_ticket"]
    assert [p.ticket_id for p in priors] == ["46001"]
    assert priors[0].status == "solved" and priors[0].similarity >= 0.25
    finding = next(f for f in out.findings if f.kind == "prior_ticket")
    assert finding.citations[0].url == f"{BASE}/agent/tickets/46001"
    assert finding.citations[1].query and "organization:8768538005044" in finding.citations[1].query


def test_generic_ticket_needs_no_helpdesk_api_and_makes_no_call() -> None:
    ticket = Ticket(helpdesk="generic", id="T-1", tenant_id="acme", created_at=datetime(2026, 11, 20, tzinfo=UTC))
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        out = ZendeskConnector(make_settings()).collect(make_context(ticket, datetime(2026, 11, 20, 1, tzinfo=UTC)))
    assert router.calls.call_count == 0
    assert out.no_data is True
    assert out.checked == [GENERIC_CHECKED]
    assert out.resolved_tenant is None


def test_zendesk_ticket_without_configuration_raises_not_configured_naming_the_settings() -> None:
    from connectors.helpdesk.config import ZendeskSettings

    sc = scenario("cross-tenant-data-exposure")
    unconfigured = ZendeskConnector(ZendeskSettings(base_url=None, subdomain=None, email=None, api_token=None))
    assert unconfigured.configured() is False
    with pytest.raises(NotConfiguredError, match="INVESTIGATOR_HELPDESK_API_TOKEN"):
        unconfigured.collect(context_for(sc))
    assert unconfigured.check().configured is False


def test_check_reports_reachable_with_a_valid_token_and_unreachable_on_401() -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        me = router.get("/api/v2/users/me.json")
        me.side_effect = [
            httpx.Response(200, json={"user": {"id": 1, "role": "admin"}}),
            httpx.Response(401, json={"error": "Couldn't authenticate you"}),
        ]
        assert connector().check().reachable is True
        result = connector().check()
    assert result.reachable is False and "401" in result.detail

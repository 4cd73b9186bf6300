"""The Linear connector over HTTP (respx on gql's httpx transport): answers, pages, failures."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx
import pytest
import respx

from connectors.linear.connector import LinearConnector
from investigator.errors import RateLimitedError, SourceError, SourceTimeoutError, TerminalError, TransientError
from investigator.retry import RetryPolicy
from investigator.signals import KnownIssue

API_URL = "https://linear.test/graphql"  # the conftest ``settings`` fixture points here
API_KEY = "lin_api_SECRETkey1234567890abcdef"


def issue_node(identifier: str, title: str, description: str = "", state_type: str = "started") -> dict[str, Any]:
    return {
        "id": f"id-{identifier}",
        "identifier": identifier,
        "title": title,
        "description": description,
        "url": f"https://linear.app/acme/issue/{identifier.lower()}",
        "priority": 2,
        "createdAt": "2026-11-01T10:00:00.000Z",
        "updatedAt": "2026-11-20T10:00:00.000Z",
        "startedAt": None,
        "completedAt": None,
        "canceledAt": None,
        "state": {"name": "In Progress", "type": state_type},
        "team": {"key": "CORE", "name": "Core API"},
        "labels": {"nodes": [{"name": "bug"}]},
        "attachments": {"nodes": []},
    }


def page(nodes: list[dict[str, Any]], end: str | None = None) -> dict[str, Any]:
    return {"data": {"issues": {"nodes": nodes, "pageInfo": {"hasNextPage": end is not None, "endCursor": end}}}}


RATELIMITED = {
    "errors": [
        {
            "message": "Rate limit exceeded",
            "extensions": {
                "type": "ratelimited",
                "code": "RATELIMITED",
                "userPresentableMessage": "Rate limit exceeded.",
            },
        }
    ]
}


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connector(settings, sleeps):  # type: ignore[no-untyped-def]
    return LinearConnector(settings, retry=RetryPolicy(max_attempts=3, sleep=sleeps))


@pytest.fixture
def exports(make_context):  # type: ignore[no-untyped-def]
    return make_context("Exports fail with 504", "POST /v1/exports times out with 504 Gateway Timeout")


@respx.mock
def test_matching_issue_becomes_a_known_issue_finding_with_citations(exports, connector) -> None:  # type: ignore[no-untyped-def]
    route = respx.post(API_URL).mock(
        return_value=httpx.Response(
            200,
            json=page(
                [
                    issue_node("CORE-1", "POST /v1/exports returns 504 for large tenants", "Workaround: split it."),
                    issue_node("CORE-2", "Dark mode legend colours"),
                ]
            ),
        )
    )
    out = connector.collect(exports)
    assert route.call_count == 1
    sent = route.calls[0].request
    assert sent.headers["Authorization"] == API_KEY  # personal API key as is, no Bearer prefix
    body = json.loads(sent.content)
    assert body["operationName"] == "KnownIssueCandidates"
    assert body["variables"]["first"] == 50
    assert [f.kind for f in out.findings] == ["known_issue"]
    facts = KnownIssue.of(out.findings[0])
    assert facts.identifier == "CORE-1"
    assert "route POST /v1/exports" in facts.matched_on and "status 504" in facts.matched_on
    assert facts.workaround == "split it."
    citations = out.findings[0].citations
    assert citations[0].url == "https://linear.app/acme/issue/core-1" and citations[0].object_id == "id-CORE-1"
    assert citations[1].query and "issues(" in citations[1].query and citations[1].parameters


@respx.mock
def test_candidates_follow_cursors_but_stop_after_max_pages(exports, settings, sleeps) -> None:  # type: ignore[no-untyped-def]
    settings.max_pages = 2
    answers = [
        httpx.Response(200, json=page([issue_node("CORE-1", "exports 504")], end="c1")),
        httpx.Response(200, json=page([issue_node("CORE-2", "exports slow")], end="c2")),
        httpx.Response(200, json=page([issue_node("CORE-3", "exports again")], end=None)),
    ]
    route = respx.post(API_URL).mock(side_effect=answers)
    out = LinearConnector(settings, retry=RetryPolicy(sleep=sleeps)).collect(exports)
    assert route.call_count == 2
    afters = [json.loads(c.request.content)["variables"]["after"] for c in route.calls]
    assert afters == [None, "c1"]
    assert {KnownIssue.of(f).identifier for f in out.findings} == {"CORE-1", "CORE-2"}
    assert any("stopped after 2 pages" in line for line in out.checked)


@respx.mock
def test_no_matching_issue_is_no_data_saying_what_was_checked(connector, make_context) -> None:  # type: ignore[no-untyped-def]
    respx.post(API_URL).mock(return_value=httpx.Response(200, json=page([issue_node("BIL-9", "VAT ids on update")])))
    out = connector.collect(make_context("dashboard looks weird", "can someone take a look?"))
    assert out.no_data and not out.findings
    assert "BIL-9" in out.checked[0]


def reset_headers(seconds: float) -> dict[str, str]:
    reset_ms = str(int((time.time() + seconds) * 1000))
    return {
        "x-ratelimit-requests-limit": "1500",
        "x-ratelimit-requests-remaining": "0",
        "x-ratelimit-requests-reset": reset_ms,
    }


@pytest.mark.parametrize("status", [200, 400])
@respx.mock
def test_ratelimited_in_the_body_backs_off_once_until_reset_then_succeeds(
    exports, connector, sleeps, status: int
) -> None:  # type: ignore[no-untyped-def]
    route = respx.post(API_URL).mock(
        side_effect=[
            httpx.Response(status, json=RATELIMITED, headers=reset_headers(3)),
            httpx.Response(200, json=page([issue_node("CORE-1", "POST /v1/exports 504")])),
        ]
    )
    out = connector.collect(exports)
    assert route.call_count == 2
    assert len(sleeps.calls) == 1
    assert 0 < sleeps.calls[0] <= 3.5  # waited for Linear's reset, not a blind backoff
    assert out.findings


@pytest.mark.parametrize("status", [200, 400])
@respx.mock
def test_ratelimited_every_time_gives_up_after_bounded_attempts(exports, connector, sleeps, status: int) -> None:  # type: ignore[no-untyped-def]
    route = respx.post(API_URL).mock(return_value=httpx.Response(status, json=RATELIMITED, headers=reset_headers(1)))
    with pytest.raises(RateLimitedError) as caught:
        connector.collect(exports)
    assert route.call_count == 3 and len(sleeps.calls) == 2
    assert caught.value.retry_after is not None and caught.value.retry_after <= 1.5


@respx.mock
def test_ratelimited_with_a_reset_beyond_the_cap_reports_unavailable_without_waiting(
    exports, connector, sleeps
) -> None:  # type: ignore[no-untyped-def]
    route = respx.post(API_URL).mock(return_value=httpx.Response(400, json=RATELIMITED, headers=reset_headers(600)))
    with pytest.raises(RateLimitedError):
        connector.collect(exports)
    assert route.call_count == 1 and sleeps.calls == []


@respx.mock
def test_gateway_5xx_is_retried_then_transient(exports, connector, sleeps) -> None:  # type: ignore[no-untyped-def]
    route = respx.post(API_URL).mock(return_value=httpx.Response(502, text="<html>502 Bad Gateway</html>"))
    with pytest.raises(TransientError) as caught:
        connector.collect(exports)
    assert not isinstance(caught.value, RateLimitedError)
    assert caught.value.status == 502
    assert route.call_count == 3 and len(sleeps.calls) == 2


@respx.mock
def test_timeout_is_a_source_timeout_after_bounded_retries(exports, connector, sleeps) -> None:  # type: ignore[no-untyped-def]
    route = respx.post(API_URL).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(SourceTimeoutError):
        connector.collect(exports)
    assert route.call_count == 3 and len(sleeps.calls) == 2


@respx.mock
def test_malformed_body_is_terminal_and_not_retried(exports, connector, sleeps) -> None:  # type: ignore[no-untyped-def]
    route = respx.post(API_URL).mock(return_value=httpx.Response(200, content=b'{"data": [tru'))
    with pytest.raises(TerminalError) as caught:
        connector.collect(exports)
    assert type(caught.value).__module__.startswith(("investigator.errors", "connectors.linear"))
    assert route.call_count == 1 and sleeps.calls == []


@respx.mock
def test_data_without_issues_is_terminal(exports, connector) -> None:  # type: ignore[no-untyped-def]
    respx.post(API_URL).mock(return_value=httpx.Response(200, json={"data": {"issues": None}}))
    with pytest.raises(TerminalError):
        connector.collect(exports)


@respx.mock
def test_authentication_error_is_terminal_and_the_key_never_reaches_logs_or_errors(
    exports, connector, sleeps, caplog
) -> None:  # type: ignore[no-untyped-def]
    body = {
        "errors": [
            {
                "message": "Authentication required, not authenticated",
                "extensions": {"type": "authentication error", "code": "AUTHENTICATION_ERROR", "userError": True},
            }
        ]
    }
    route = respx.post(API_URL).mock(return_value=httpx.Response(400, json=body))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceError) as caught:
        connector.collect(exports)
    assert isinstance(caught.value, TerminalError)
    assert route.call_count == 1 and sleeps.calls == []
    assert caplog.records, "the failure should be logged"
    assert API_KEY not in caplog.text
    assert API_KEY not in str(caught.value) and API_KEY not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_missing_api_key_is_not_configured_without_a_request(exports, settings) -> None:  # type: ignore[no-untyped-def]
    settings.api_key = None
    connector = LinearConnector(settings)
    assert not connector.configured()
    assert connector.check().configured is False
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(API_URL)
        with pytest.raises(TerminalError):
            connector.collect(exports)
        assert route.call_count == 0

"""The Linear stand-in answers like Linear: schema-checked documents, Linear's error shapes, faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from investigator.sandbox.linear_filters import matches
from investigator.sandbox.linear_standin import LinearStandIn, linear_schema
from investigator.sandbox.scenario import LinearWorld
from investigator.sandbox.standin import FaultKind, Injection


def issue(
    n: int, *, state: str = "started", labels: tuple[str, ...] = ("bug",), created: str = "2026-11-01"
) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "identifier": f"CORE-{n}",
        "title": f"Issue {n}",
        "description": "",
        "url": f"https://linear.app/acme/issue/core-{n}",
        "priority": 3,
        "createdAt": f"{created}T10:00:{n % 60:02d}.000Z",
        "updatedAt": f"{created}T10:00:{n % 60:02d}.000Z",
        "state": {"name": state.title(), "type": state},
        "team": {"id": "team-core", "key": "CORE", "name": "Core API"},
        "labels": {"nodes": [{"name": name} for name in labels]},
    }


WORLD = LinearWorld(issues=[issue(1), issue(2, state="completed"), issue(3, labels=("incident",)), issue(4)])
QUERY = """query Q($filter: IssueFilter, $first: Int, $after: String) {
  issues(filter: $filter, first: $first, after: $after) {
    nodes { identifier state { type } labels { nodes { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
def standin() -> Iterator[LinearStandIn]:
    with LinearStandIn(WORLD) as running:
        assert isinstance(running, LinearStandIn)
        yield running


def post(
    standin: LinearStandIn, query: str, variables: dict[str, Any] | None = None, key: str | None = None
) -> httpx.Response:
    headers = {"Authorization": standin.api_key if key is None else key}
    return httpx.post(
        f"{standin.url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers, timeout=5
    )


def test_a_field_linear_lacks_is_rejected_with_linears_validation_error_shape(standin: LinearStandIn) -> None:
    answer = post(standin, "query { issues { nodes { identifier severityScore } } }")
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert "severityScore" in error["message"] and error["locations"]
    assert error["extensions"]["type"] == "graphql error"
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["userError"] is True and error["extensions"]["userPresentableMessage"]


def test_an_unknown_argument_is_rejected_too(standin: LinearStandIn) -> None:
    answer = post(standin, 'query { searchIssues(query: "x") { nodes { id } } }')
    assert answer.status_code == 400
    assert "Unknown argument 'query'" in answer.json()["errors"][0]["message"]


def test_issues_filter_on_state_and_labels_and_relay_pagination(standin: LinearStandIn) -> None:
    flt = {"state": {"type": {"in": ["started"]}}, "labels": {"some": {"or": [{"name": {"eqIgnoreCase": "BUG"}}]}}}
    first = post(standin, QUERY, {"filter": flt, "first": 1}).json()["data"]["issues"]
    assert [n["identifier"] for n in first["nodes"]] == ["CORE-4"]  # newest first
    assert first["pageInfo"]["hasNextPage"] is True
    second = post(standin, QUERY, {"filter": flt, "first": 1, "after": first["pageInfo"]["endCursor"]}).json()
    assert [n["identifier"] for n in second["data"]["issues"]["nodes"]] == ["CORE-1"]
    assert second["data"]["issues"]["pageInfo"] == {
        "hasNextPage": False,
        "endCursor": second["data"]["issues"]["pageInfo"]["endCursor"],
    }


def test_an_unsupported_filter_field_is_an_error_not_silently_ignored(standin: LinearStandIn) -> None:
    answer = post(standin, QUERY, {"filter": {"estimate": {"eq": 3}}})
    assert answer.status_code == 200
    body = answer.json()
    assert body["data"] is None
    assert "not supported" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["type"] == "invalid input"


def test_unknown_issue_is_linears_entity_not_found(standin: LinearStandIn) -> None:
    body = post(standin, 'query { issue(id: "CORE-999") { id } }').json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "Entity not found: Issue"
    assert body["errors"][0]["path"] == ["issue"]


def test_a_wrong_api_key_is_an_authentication_error(standin: LinearStandIn) -> None:
    answer = post(standin, QUERY, key="lin_api_wrong")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"]["type"] == "authentication error"


@pytest.mark.parametrize("status", [400, 200])
def test_rate_limit_fault_answers_ratelimited_with_linears_headers(status: int) -> None:
    with LinearStandIn(WORLD, Injection(fault=FaultKind.RATE_LIMIT)) as standin:
        assert isinstance(standin, LinearStandIn)
        standin.rate_limit_status = status
        answer = post(standin, QUERY)
    assert answer.status_code == status
    assert answer.json()["errors"][0]["extensions"]["type"] == "ratelimited"
    assert answer.json()["errors"][0]["extensions"]["code"] == "RATELIMITED"
    assert answer.headers["x-ratelimit-requests-remaining"] == "0"
    assert int(answer.headers["x-ratelimit-requests-reset"]) > 1e12  # UNIX milliseconds


def test_server_error_fault_is_a_gateway_page_not_graphql() -> None:
    with LinearStandIn(WORLD, Injection(fault=FaultKind.SERVER_ERROR)) as standin:
        assert isinstance(standin, LinearStandIn)
        answer = post(standin, QUERY)
    assert answer.status_code == 502 and answer.headers["content-type"].startswith("text/html")


def test_issue_create_is_recorded_once_per_client_id(standin: LinearStandIn) -> None:
    mutation = "mutation M($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { identifier } } }"
    variables = {"input": {"id": "7d9f0b5e-7c43-4b1e-9a37-2f0f3a1c2b11", "teamId": "team-core", "title": "Escalation"}}
    first = post(standin, mutation, variables).json()
    again = post(standin, mutation, variables).json()
    assert first["data"]["issueCreate"]["issue"]["identifier"] == "CORE-5"
    assert again["errors"][0]["extensions"]["type"] == "invalid input"
    assert [r["kind"] for r in standin.recorded] == ["linear.issueCreate"]


def test_the_schema_is_built_once_per_process() -> None:
    assert linear_schema() is linear_schema()


def test_filter_evaluation_handles_and_or_dates_and_nulls() -> None:
    node = {"completedAt": None, "createdAt": "2026-11-05T00:00:00Z", "state": {"type": "started"}}
    assert matches(
        node, {"or": [{"completedAt": {"gte": "2026-11-01T00:00:00Z"}}, {"state": {"type": {"eq": "started"}}}]}
    )
    assert not matches(node, {"and": [{"createdAt": {"lt": "2026-11-01T00:00:00Z"}}]})
    assert matches(node, {"completedAt": {"null": True}})

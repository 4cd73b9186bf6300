"""The escalation writer against the Linear stand-in: one issue and one comment per idempotency key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
import respx
from pydantic import SecretStr

from connectors.linear.config import LinearSettings
from connectors.linear.writer import LinearEscalationWriter, client_uuid, marker, priority_for_severity
from investigator.errors import TerminalError, TransientError
from investigator.retry import RetryPolicy
from investigator.sandbox.linear_standin import LinearStandIn
from investigator.sandbox.scenario import LinearWorld
from investigator.sandbox.standin import FaultKind

INCIDENT = {
    "id": "11111111-2222-4333-8444-555555555555",
    "identifier": "CORE-900",
    "title": "Incident: exports down",
    "url": "https://linear.app/acme/issue/core-900",
    "createdAt": "2026-11-24T10:00:00.000Z",
    "state": {"name": "In Progress", "type": "started"},
    "team": {"id": "team-core", "key": "CORE", "name": "Core API"},
    "labels": {"nodes": [{"name": "incident"}, {"name": "investigator"}]},
}


@pytest.fixture
def standin() -> Iterator[LinearStandIn]:
    with LinearStandIn(LinearWorld(issues=[INCIDENT]), teams=["Billing"]) as running:
        assert isinstance(running, LinearStandIn)
        yield running


def writer_for(standin: LinearStandIn, timeout_s: float = 3.0) -> LinearEscalationWriter:
    sleeps: list[float] = []
    return LinearEscalationWriter(
        standin.connector_settings(timeout_s=timeout_s), retry=RetryPolicy(max_attempts=2, sleep=sleeps.append)
    )


def escalate(writer: LinearEscalationWriter, key: str = "inv-42") -> dict[str, object]:
    return writer.escalate(
        idempotency_key=key,
        team_name="core api",
        title="Exports 504 for oakridge",
        body_markdown="**Evidence**",
        priority=2,
    )


def test_escalating_twice_with_one_key_creates_one_issue(standin: LinearStandIn) -> None:
    writer = writer_for(standin)
    first = escalate(writer)
    second = escalate(writer)
    assert first["created"] is True and second["created"] is False
    assert first["id"] == second["id"] == client_uuid("inv-42")
    assert str(first["identifier"]).startswith("CORE-") and first["url"]
    creates = [r for r in standin.recorded if r["kind"] == "linear.issueCreate"]
    assert len(creates) == 1
    sent = creates[0]["input"]
    assert sent["teamId"] == "team-core" and sent["priority"] == 2
    assert sent["labelIds"]  # the "investigator" label exists in this workspace
    assert standin.operations("issueCreate") == 1


def test_a_timeout_after_linear_created_the_issue_finds_it_instead_of_creating_another(standin: LinearStandIn) -> None:
    standin.hang_after_write = 1  # the write lands, the answer never arrives in time
    writer = writer_for(standin, timeout_s=0.5)
    first = escalate(writer, "inv-77")
    again = escalate(writer, "inv-77")
    assert first["created"] is True and again["created"] is False and first["id"] == again["id"]
    assert [r["kind"] for r in standin.recorded] == ["linear.issueCreate"]
    assert standin.operations("issueCreate") == 1  # never re-sent blindly


def test_linear_down_is_transient_and_nothing_is_written(standin: LinearStandIn) -> None:
    standin.injection.fault = FaultKind.SERVER_ERROR
    with pytest.raises(TransientError):
        escalate(writer_for(standin), "inv-5xx")
    assert standin.operations("issueCreate") == 0  # the lookup failed first: no write attempted
    assert len(standin.calls) == 2  # the lookup, retried once (max_attempts=2)
    assert standin.recorded == []


NOT_FOUND = {
    "data": None,
    "errors": [
        {
            "message": "Entity not found: Issue",
            "path": ["issue"],
            "extensions": {
                "type": "invalid input",
                "code": "INPUT_ERROR",
                "userPresentableMessage": "Could not find referenced Issue.",
            },
        }
    ],
}
TARGET = {
    "data": {
        "teams": {"nodes": [{"id": "team-core", "key": "CORE", "name": "Core API"}]},
        "issueLabels": {"nodes": []},
    }
}


@respx.mock
def test_a_create_that_failed_with_5xx_and_did_not_land_is_transient_and_sent_once() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        operation = json.loads(request.content)["operationName"]
        if operation == "IssueCreate":
            return httpx.Response(503, text="<html>503</html>")
        return httpx.Response(200, json={"IssueById": NOT_FOUND, "EscalationTarget": TARGET}[operation])

    route = respx.post("https://linear.test/graphql").mock(side_effect=answer)
    settings = LinearSettings(api_key=SecretStr("lin_api_x"), api_url="https://linear.test/graphql")
    sleeps: list[float] = []
    writer = LinearEscalationWriter(settings, retry=RetryPolicy(sleep=sleeps.append))
    with pytest.raises(TransientError, match="safe to retry"):
        escalate(writer, "inv-503")
    operations = [json.loads(c.request.content)["operationName"] for c in route.calls]
    assert operations == ["IssueById", "EscalationTarget", "IssueCreate", "IssueById"]
    assert sleeps == []


def test_a_first_attempt_skips_the_lookup_and_still_never_duplicates(standin: LinearStandIn) -> None:
    writer = writer_for(standin)
    first = writer.escalate(
        idempotency_key="inv-7", team_name="Core API", title="t", body_markdown="b", priority=2, first_attempt=True
    )
    again = writer.escalate(
        idempotency_key="inv-7", team_name="Core API", title="t", body_markdown="b", priority=2, first_attempt=True
    )
    assert first["created"] is True and again["created"] is False and first["id"] == again["id"]
    assert standin.operations("issueCreate") == 2 and len(standin.recorded) == 1


def test_unknown_team_is_terminal_and_creates_nothing(standin: LinearStandIn) -> None:
    with pytest.raises(TerminalError):
        writer_for(standin).escalate(idempotency_key="k", team_name="Nope", title="t", body_markdown="b", priority=3)
    assert standin.recorded == []


def test_a_team_added_by_name_can_receive_escalations_without_a_label(standin: LinearStandIn) -> None:
    made = writer_for(standin).escalate(
        idempotency_key="k2", team_name="Billing", title="t", body_markdown="b", priority=1, label="missing-label"
    )
    assert made["created"] is True
    assert "labelIds" not in standin.recorded[0]["input"]


def test_commenting_twice_with_one_key_posts_one_comment_with_the_marker(standin: LinearStandIn) -> None:
    writer = writer_for(standin)
    first = writer.comment(idempotency_key="inv-42:incident", issue_id="CORE-900", body_markdown="Another tenant hit")
    second = writer.comment(idempotency_key="inv-42:incident", issue_id="CORE-900", body_markdown="Another tenant hit")
    assert first["created"] is True and second["created"] is False and first["id"] == second["id"]
    comments = [r for r in standin.recorded if r["kind"] == "linear.commentCreate"]
    assert len(comments) == 1
    assert marker("inv-42:incident") in comments[0]["input"]["body"]


def test_a_comment_whose_answer_timed_out_is_found_not_reposted(standin: LinearStandIn) -> None:
    standin.hang_after_write = 1
    writer = writer_for(standin, timeout_s=0.5)
    made = writer.comment(idempotency_key="inv-9", issue_id="CORE-900", body_markdown="update")
    assert made["created"] is True
    assert [r["kind"] for r in standin.recorded] == ["linear.commentCreate"]
    assert standin.operations("commentCreate") == 1


def test_client_ids_are_deterministic_uuid_v4_per_key_and_kind() -> None:
    assert client_uuid("a") == client_uuid("a") != client_uuid("b")
    assert client_uuid("a") != client_uuid("a", kind="comment")
    assert uuid.UUID(client_uuid("a")).version == 4


@pytest.mark.parametrize(
    ("severity", "priority"), [("sev1", 1), ("sev2", 2), ("sev3", 3), ("sev4", 4), ("SEV1", 1), ("other", 0)]
)
def test_priority_for_severity(severity: str, priority: int) -> None:
    assert priority_for_severity(severity) == priority


def test_issue_create_request_carries_the_derived_id(standin: LinearStandIn) -> None:
    escalate(writer_for(standin), "inv-id")
    [call] = [c for c in standin.calls if b"issueCreate" in c.body]
    assert json.loads(call.body)["variables"]["input"]["id"] == client_uuid("inv-id")

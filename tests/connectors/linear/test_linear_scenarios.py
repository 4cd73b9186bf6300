"""Known-issue matching on the visible scenarios, through the Linear stand-in (real HTTP + schema)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.linear.connector import LinearConnector
from investigator.connector import Collected
from investigator.errors import RateLimitedError, TerminalError, TransientError
from investigator.retry import RetryPolicy
from investigator.sandbox.linear_standin import LinearStandIn
from investigator.sandbox.scenario import LinearWorld
from investigator.sandbox.standin import FaultKind, Injection
from investigator.signals import KnownIssue


@pytest.fixture
def run(load, ctx_of):  # type: ignore[no-untyped-def]
    def _run(name: str) -> tuple[Collected, LinearStandIn]:
        scenario = load(name)
        with LinearStandIn(scenario.linear) as standin:
            assert isinstance(standin, LinearStandIn)
            out = LinearConnector(standin.connector_settings()).collect(ctx_of(scenario))
        return out, standin

    return _run


def facts_of(out: Collected) -> list[KnownIssue]:
    return [KnownIssue.of(f) for f in out.findings]


def test_known_issue_fix_shipping_ranks_core_1184_first_with_fix_workaround_and_eta(run: Any) -> None:
    out, standin = run("known-issue-fix-shipping")
    top = facts_of(out)[0]
    assert top.identifier == "CORE-1184"
    assert top.state_type == "started"
    assert top.fix_status == "merged"
    assert top.workaround == "split the export into ranges of 31 days or less."
    assert top.eta is not None and "deploys today" in top.eta
    assert top.mentioned_routes == ["POST /v1/exports"]
    assert top.mentioned_status_codes == [504]
    assert "status 504" in top.matched_on and "keyword exports" in top.matched_on
    assert top.linked_prs == [
        {
            "title": "Exports: run large exports as async jobs",
            "url": "https://github.com/acme-hq/api/pull/1287",
            "state": "merged",
            "number": 1287,
        }
    ]
    assert top.is_incident is False and top.team == "Core API" and top.priority == 2
    assert "CORE-1221" not in [f.identifier for f in facts_of(out)]  # rate-limit headers bug: unrelated
    assert standin.operations("KnownIssueCandidates") == 1


def test_multi_tenant_latency_finds_core_1032_but_marks_it_completed(run: Any) -> None:
    out, _ = run("multi-tenant-latency-no-incident")
    [core] = [f for f in facts_of(out) if f.identifier == "CORE-1032"]
    assert core.state_type == "completed" and core.fix_status == "shipped"
    assert core.completed_at is not None and core.eta is None
    assert core.mentioned_routes == ["GET /v1/reports"]
    assert not any(f.state_type not in ("completed", "canceled") for f in facts_of(out))  # no open issue explains it


def test_deploy_regression_sees_bil_877_as_a_completed_weak_match(run: Any) -> None:
    out, _ = run("deploy-regression")
    [bil] = facts_of(out)
    assert bil.identifier == "BIL-877" and bil.state_type == "completed" and bil.fix_status == "shipped"
    assert bil.match_score < 0.3  # below WEAK_MATCH: one shared keyword (invoice), no route/status
    assert "weak match" in out.findings[0].summary


def test_vague_ticket_finds_nothing_relevant_and_says_what_it_checked(run: Any) -> None:
    out, _ = run("vague-no-signal")
    assert out.no_data and out.findings == []
    assert "BIL-889" in out.checked[0]  # the open bug was looked at and did not match


@pytest.mark.parametrize(
    ("fault", "error", "requests"),
    [
        (FaultKind.RATE_LIMIT, RateLimitedError, 3),
        (FaultKind.SERVER_ERROR, TransientError, 3),
        (FaultKind.GARBAGE, TerminalError, 1),
    ],
)
def test_stand_in_faults_become_typed_source_errors_with_bounded_retries(
    load: Any, ctx_of: Any, fault: FaultKind, error: type[Exception], requests: int
) -> None:
    scenario = load("known-issue-fix-shipping")
    sleeps: list[float] = []
    with LinearStandIn(scenario.linear, Injection(fault=fault)) as standin:
        assert isinstance(standin, LinearStandIn)
        connector = LinearConnector(standin.connector_settings(), retry=RetryPolicy(sleep=sleeps.append))
        with pytest.raises(error):
            connector.collect(ctx_of(scenario))
        connector.close()
    assert len(standin.calls) == requests and len(sleeps) == requests - 1


def test_an_incident_opened_in_the_window_is_reported_even_without_matching_text(make_context: Any) -> None:
    ctx = make_context("dashboard looks weird", "can someone take a look?")
    opened = (ctx.window.start + (ctx.window.end - ctx.window.start) / 2).isoformat().replace("+00:00", "Z")
    incident = {
        "id": "9b2e4c8a-1f3d-4a6b-8c0e-2d4f6a8b0c1e",
        "identifier": "INC-12",
        "title": "Elevated latency on the API",
        "description": "Status page updated. Fix deployed at 11:40, monitoring.",
        "url": "https://linear.app/acme/issue/inc-12",
        "createdAt": opened,
        "state": {"name": "Monitoring", "type": "started"},
        "team": {"id": "t-inc", "key": "INC", "name": "Incidents"},
        "labels": {"nodes": [{"name": "Incident"}]},
    }
    old = {
        **incident,
        "id": "0c1e9b2e-4c8a-4f3d-8a6b-2d4f6a8b0c1f",
        "identifier": "INC-1",
        "createdAt": "2026-01-01T00:00:00Z",
    }
    with LinearStandIn(LinearWorld(issues=[incident, old])) as standin:
        assert isinstance(standin, LinearStandIn)
        out = LinearConnector(standin.connector_settings()).collect(ctx)
    [facts] = facts_of(out)
    assert facts.identifier == "INC-12" and facts.is_incident is True
    assert facts.matched_on == ["incident opened in window"] and facts.match_score == 0.0
    assert facts.fix_status == "shipped"  # "Fix deployed" in the description
    assert out.findings[0].points_to == "incident"

"""The GitHub connector against the local GitHub stand-in (real HTTP through PyGithub)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.github.connector import GitHubConnector
from investigator import signals
from investigator.connector import InvestigationContext, ServiceConfig
from investigator.errors import RateLimitedError, SourceError, SourceTimeoutError, TerminalError, TransientError
from investigator.models import Ticket, TimeWindow
from investigator.sandbox.github_standin import GitHubStandIn
from investigator.sandbox.scenario import GitHubWorld, Scenario, load_scenario
from investigator.sandbox.standin import FaultKind, Injection

SCENARIOS = Path(__file__).resolve().parents[3].parent / "shared" / "scenarios"
BILLING = "/repos/acme-hq/billing"
DEPLOYED = "ca24711c1fa52ab572e2ab9e7fa33edc573b9b4e"
PREVIOUS = "f87670f9bbb410132ade0183dbf025733f6679fe"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SCENARIOS / "deploy-regression.yaml")


def context(now: datetime, services: dict[str, ServiceConfig]) -> InvestigationContext:
    ticket = Ticket(helpdesk="generic", id="T-20998", created_at=now)
    return InvestigationContext(
        investigation_id="inv-1",
        ticket=ticket,
        tenant_id=None,
        now=now,
        window=TimeWindow(start=now - timedelta(hours=6), end=now),
        baseline=TimeWindow(start=now - timedelta(hours=30), end=now - timedelta(hours=6)),
        services=services,
    )


BILLING_ONLY = {"billing": ServiceConfig(repo="acme-hq/billing", team="Billing")}


class Sleeps(list[float]):
    """Records the waits the retry asked for, without waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def run(
    world: GitHubWorld | None,
    now: datetime,
    services: dict[str, ServiceConfig],
    sleeps: Sleeps,
    injection: Injection | None = None,
    standin_options: dict[str, Any] | None = None,
    **settings: Any,
) -> tuple[GitHubStandIn, Any]:
    """Collect against a fresh stand-in; returns it and the result (or the SourceError raised)."""
    server = GitHubStandIn(world, injection, **(standin_options or {}))
    with server:
        connector = GitHubConnector(server.connector_settings(**settings), sleep=sleeps)
        try:
            result: Any = connector.collect(context(now, services))
        except SourceError as error:
            result = error
        finally:
            connector.close()
    return server, result


@pytest.fixture
def regression(scenario: Scenario, sleeps: Sleeps) -> Iterator[tuple[GitHubStandIn, Any]]:
    yield run(scenario.github, scenario.now, scenario.config.services, sleeps)


def deployments(result: Any) -> list[signals.Deployment]:
    return [signals.Deployment.of(f) for f in result.findings if f.kind == "deployment"]


def test_billing_deploy_is_reported_with_what_it_shipped(regression: tuple[GitHubStandIn, Any]) -> None:
    _, result = regression
    latest = next(d for d in deployments(result) if d.deployment_id == 3419771361)
    assert latest.service == "billing" and latest.team == "Billing" and latest.repo == "acme-hq/billing"
    assert latest.sha == DEPLOYED and latest.previous_sha == PREVIOUS
    assert latest.environment == "production" and latest.state == "success"
    assert latest.created_at == datetime.fromisoformat("2026-11-17T19:14:00+00:00")
    assert latest.finished_at == datetime.fromisoformat("2026-11-17T19:19:00+00:00")
    assert latest.commits == ["Invoices: compute line totals with Money/Decimal (half-even rounding) (#814)"]
    assert latest.pull_requests == [
        {
            "number": 814,
            "title": "Invoices: compute line totals with Money/Decimal (half-even rounding)",
            "url": "https://github.com/acme-hq/billing/pull/814",
        }
    ]
    assert "billing/invoices/totals.py" in latest.files and len(latest.files) == 4
    assert latest.suggested_owners == ["@acme-hq/billing"]


def test_deploy_finding_cites_the_deployment_the_comparison_and_the_pr(regression: tuple[GitHubStandIn, Any]) -> None:
    _, result = regression
    finding = next(f for f in result.findings if f.facts.get("deployment_id") == 3419771361)
    urls = [c.url for c in finding.citations]
    assert "https://github.com/acme-hq/billing/pull/814" in urls
    assert f"https://github.com/acme-hq/billing/compare/{PREVIOUS}...{DEPLOYED}" in urls
    assert any(c.object_id == "3419771361" for c in finding.citations)
    assert finding.points_to == "deploy"


def test_the_oldest_deployment_in_the_lookback_has_no_previous_to_compare(
    regression: tuple[GitHubStandIn, Any],
) -> None:
    server, result = regression
    older = next(d for d in deployments(result) if d.deployment_id == 3419041763)
    assert older.previous_sha is None and older.commits == [] and older.state == "inactive"
    assert len(server.paths(f"{BILLING}/compare/")) == 1


def test_repositories_missing_on_github_are_noted_and_the_others_answered(
    regression: tuple[GitHubStandIn, Any],
) -> None:
    _, result = regression
    assert result.status == "ok"
    assert any(c.startswith("acme-hq/api: repository not found") for c in result.checked)
    assert any(c.startswith("acme-hq/web: repository not found") for c in result.checked)
    assert any(c.startswith("acme-hq/billing: 2 production deployment(s)") for c in result.checked)


def test_requests_are_few_and_never_repeated(regression: tuple[GitHubStandIn, Any]) -> None:
    server, _ = regression
    paths = server.paths()
    assert len(paths) == len(set(paths))
    assert len(server.paths(f"{BILLING}/deployments")) == 3  # the list, then two statuses
    assert server.paths(f"{BILLING}/pulls") == [f"{BILLING}/pulls"]  # one list, no per-number fetch
    assert len(server.paths("/repos/acme-hq/api")) == 2  # deployments and releases, nothing after the 404


def test_no_deployments_in_the_lookback_is_no_data_listing_the_repositories(scenario: Scenario, sleeps: Sleeps) -> None:
    _, result = run(scenario.github, scenario.now, scenario.config.services, sleeps, lookback_hours=0.25)
    assert result.no_data and result.findings == []
    assert any(c.startswith("acme-hq/billing: 0 production deployment(s)") for c in result.checked)
    assert len(result.checked) == 4


def test_deployments_after_now_are_ignored(scenario: Scenario, sleeps: Sleeps) -> None:
    before_latest = datetime.fromisoformat("2026-11-17T19:00:00+00:00")
    _, result = run(scenario.github, before_latest, BILLING_ONLY, sleeps)
    assert [d.deployment_id for d in deployments(result)] == [3419041763]


def test_deployments_are_read_across_two_pages(scenario: Scenario, sleeps: Sleeps) -> None:
    server, result = run(scenario.github, scenario.now, BILLING_ONLY, sleeps, per_page=1)
    pages = [c.query.get("page", ["1"])[0] for c in server.calls if c.path == f"{BILLING}/deployments"]
    assert pages == ["1", "2"]
    latest = next(d for d in deployments(result) if d.deployment_id == 3419771361)
    assert latest.previous_sha == PREVIOUS


def test_a_pr_named_by_a_commit_is_fetched_by_number_when_the_list_lacks_it(scenario: Scenario, sleeps: Sleeps) -> None:
    server, result = run(scenario.github, scenario.now, BILLING_ONLY, sleeps, pulls_scan=0)
    assert server.paths(f"{BILLING}/pulls") == [f"{BILLING}/pulls/814"]
    latest = next(d for d in deployments(result) if d.deployment_id == 3419771361)
    assert [p["number"] for p in latest.pull_requests] == [814]


def test_releases_published_in_the_lookback_become_findings(sleeps: Sleeps) -> None:
    now = datetime.fromisoformat("2026-11-17T19:45:00+00:00")
    world = GitHubWorld.model_validate(
        {
            "repos": {
                "acme-hq/api": {
                    "releases": [
                        {"tag_name": "v2.5.0", "name": "2.5.0", "published_at": "2026-11-17T12:00:00Z"},
                        {"tag_name": "v2.6.0-rc", "draft": True, "published_at": None},
                        {"tag_name": "v2.4.0", "published_at": "2026-11-01T12:00:00Z"},
                    ]
                }
            }
        }
    )
    services = {"api": ServiceConfig(repo="acme-hq/api", team="Core API")}
    _, result = run(world, now, services, sleeps)
    releases = [signals.Release.of(f) for f in result.findings if f.kind == "release"]
    assert [(r.service, r.tag, r.name) for r in releases] == [("api", "v2.5.0", "2.5.0")]
    assert releases[0].url == "https://github.com/acme-hq/api/releases/tag/v2.5.0"
    assert not deployments(result)


def test_secondary_rate_limit_is_retried_after_its_retry_after_then_reported(
    scenario: Scenario, sleeps: Sleeps
) -> None:
    limited = Injection(fault=FaultKind.RATE_LIMIT)
    server, error = run(
        scenario.github, scenario.now, BILLING_ONLY, sleeps, limited, {"retry_after_s": 1}, max_workers=1
    )
    assert isinstance(error, RateLimitedError)
    assert len(server.paths(f"{BILLING}/deployments")) == 3  # one try and two retries
    assert sleeps == [1.0, 1.0]
    assert server.paths(f"{BILLING}/releases") == []  # the breaker stopped the next call


def test_secondary_rate_limit_that_clears_is_answered_after_one_wait(scenario: Scenario, sleeps: Sleeps) -> None:
    limited = Injection(fault=FaultKind.RATE_LIMIT)
    options = {"retry_after_s": 1, "fault_budget": 1}
    server, result = run(scenario.github, scenario.now, BILLING_ONLY, sleeps, limited, options, max_workers=1)
    assert len(deployments(result)) == 2
    assert sleeps == [1.0]
    assert len(server.paths(f"{BILLING}/deployments")) == 4  # 429, the list, two statuses


def test_a_retry_after_longer_than_the_cap_is_not_waited_for(scenario: Scenario, sleeps: Sleeps) -> None:
    limited = Injection(fault=FaultKind.RATE_LIMIT)
    server, error = run(
        scenario.github, scenario.now, BILLING_ONLY, sleeps, limited, {"retry_after_s": 60}, max_workers=1
    )
    assert isinstance(error, RateLimitedError) and error.retry_after == 60
    assert sleeps == []
    assert len(server.paths(f"{BILLING}/deployments")) == 1


def test_primary_rate_limit_with_a_far_reset_fails_fast_as_rate_limited(scenario: Scenario, sleeps: Sleeps) -> None:
    limited = Injection(fault=FaultKind.RATE_LIMIT)
    server, error = run(
        scenario.github, scenario.now, BILLING_ONLY, sleeps, limited, {"rate_limit": "primary"}, max_workers=1
    )
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is not None and error.retry_after > 600
    assert sleeps == []
    assert len(server.paths(f"{BILLING}/deployments")) == 1


def test_server_errors_are_retried_a_bounded_number_of_times_then_unavailable(
    scenario: Scenario, sleeps: Sleeps
) -> None:
    failing = Injection(fault=FaultKind.SERVER_ERROR)
    server, error = run(scenario.github, scenario.now, BILLING_ONLY, sleeps, failing, max_workers=1, max_retries=2)
    assert isinstance(error, TransientError) and not isinstance(error, RateLimitedError)
    assert error.status == 503
    assert len(server.paths(f"{BILLING}/deployments")) == 3
    assert len(server.calls) == 3
    assert len(sleeps) <= 2 and sum(sleeps) <= 5


def test_a_hanging_github_times_out_as_transient(scenario: Scenario, sleeps: Sleeps) -> None:
    hang = Injection(fault=FaultKind.TIMEOUT, hang_s=10)
    server, error = run(
        scenario.github, scenario.now, BILLING_ONLY, sleeps, hang, max_workers=1, timeout_s=1, max_retries=1
    )
    assert isinstance(error, SourceTimeoutError)
    assert len(server.paths(f"{BILLING}/deployments")) == 2  # one read retry


def test_a_garbage_body_becomes_a_typed_error(scenario: Scenario, sleeps: Sleeps) -> None:
    garbage = Injection(fault=FaultKind.GARBAGE)
    _, error = run(scenario.github, scenario.now, BILLING_ONLY, sleeps, garbage, max_workers=1)
    assert isinstance(error, TerminalError)
    assert "malformed" in str(error)


def test_bad_credentials_are_terminal(scenario: Scenario, sleeps: Sleeps) -> None:
    server, error = run(scenario.github, scenario.now, BILLING_ONLY, sleeps, token="not-the-token")
    assert isinstance(error, TerminalError) and error.status == 401
    assert len(server.paths(f"{BILLING}/deployments")) == 1


def test_logs_and_errors_of_a_failing_call_never_hold_the_token(
    scenario: Scenario, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failing = Injection(fault=FaultKind.SERVER_ERROR)
    server, error = run(scenario.github, scenario.now, BILLING_ONLY, sleeps, failing, max_workers=1)
    assert isinstance(error, TransientError)
    assert "deployments failed" in caplog.text  # the failure was logged ...
    assert server.token not in caplog.text  # ... without the token
    assert server.token not in str(error) and server.token not in repr(error)
    assert server.token in server.calls[0].headers["authorization"]  # it was sent, though


def test_all_repositories_missing_is_no_data(sleeps: Sleeps) -> None:
    now = datetime.fromisoformat("2026-11-17T19:45:00+00:00")
    _, result = run(GitHubWorld(), now, {"api": ServiceConfig(repo="acme-hq/api")}, sleeps)
    assert result.no_data
    assert result.checked == ["acme-hq/api: repository not found or not visible to the token (404)"]


def test_services_without_repositories_are_not_looked_up(sleeps: Sleeps) -> None:
    now = datetime.fromisoformat("2026-11-17T19:45:00+00:00")
    server, result = run(GitHubWorld(), now, {"api": ServiceConfig(team="Core API")}, sleeps)
    assert result.no_data and server.calls == []


def test_a_monorepo_reports_the_deploy_for_each_of_its_services(scenario: Scenario, sleeps: Sleeps) -> None:
    services = {**BILLING_ONLY, "invoicing": ServiceConfig(repo="acme-hq/billing", team="Invoicing")}
    server, result = run(scenario.github, scenario.now, services, sleeps)
    latest = [d for d in deployments(result) if d.deployment_id == 3419771361]
    assert {(d.service, d.team) for d in latest} == {("billing", "Billing"), ("invoicing", "Invoicing")}
    assert all(d.pull_requests and d.suggested_owners == ["@acme-hq/billing"] for d in latest)
    assert len(server.paths(f"{BILLING}/compare/")) == 1


def test_a_deploy_without_a_success_status_has_no_finish_time(scenario: Scenario, sleeps: Sleeps) -> None:
    world = copy.deepcopy(scenario.github)
    assert world is not None
    world.repos["acme-hq/billing"].statuses["3419771361"] = [
        s for s in world.repos["acme-hq/billing"].statuses["3419771361"] if s["state"] != "success"
    ]
    _, result = run(world, scenario.now, BILLING_ONLY, sleeps)
    latest = next(d for d in deployments(result) if d.deployment_id == 3419771361)
    assert latest.state == "in_progress" and latest.finished_at is None


def test_check_reports_reachable_with_remaining_requests(scenario: Scenario) -> None:
    with GitHubStandIn(scenario.github) as server:
        connector = GitHubConnector(server.connector_settings())
        result = connector.check()
        connector.close()
    assert result.ok and result.reachable and "core requests left" in result.detail


def test_check_without_a_token_is_not_configured() -> None:
    connector = GitHubConnector(GitHubConnector.settings_class(token=None))
    assert not connector.configured()
    assert connector.check().missing == ["INVESTIGATOR_GITHUB_TOKEN"]


def test_an_unreachable_github_is_transient_after_bounded_retries(scenario: Scenario, sleeps: Sleeps) -> None:
    server = GitHubStandIn(scenario.github)
    with server:
        settings = server.connector_settings(max_workers=1, max_retries=1)
    connector = GitHubConnector(settings, sleep=sleeps)  # the port is closed now
    with pytest.raises(TransientError) as caught:
        connector.collect(context(scenario.now, BILLING_ONLY))
    connector.close()
    assert not isinstance(caught.value, RateLimitedError)
    assert server.token not in str(caught.value)
    assert len(sleeps) <= 1


def test_one_connector_serves_consecutive_investigations(scenario: Scenario, sleeps: Sleeps) -> None:
    with GitHubStandIn(scenario.github) as server:
        connector = GitHubConnector(server.connector_settings(), sleep=sleeps)
        first = connector.collect(context(scenario.now, BILLING_ONLY))
        second = connector.collect(context(scenario.now, BILLING_ONLY))
        connector.close()
    assert [f.facts for f in first.findings] == [f.facts for f in second.findings]
    assert len(server.paths(f"{BILLING}/compare/")) == 2

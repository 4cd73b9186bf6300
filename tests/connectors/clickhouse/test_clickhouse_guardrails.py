"""Guardrails and failures: bound parameters, query limits, fault injection, retries, no secrets in logs."""

from __future__ import annotations

import logging
from typing import Any

import clickhouse_connect
import pytest
from ch_helpers import NOW, context, stream

from connectors.clickhouse.client import ClickHouseClient, map_error
from connectors.clickhouse.config import ClickHouseSettings
from connectors.clickhouse.connector import ClickHouseConnector
from investigator.errors import RateLimitedError, SourceTimeoutError, TerminalError, TransientError
from investigator.retry import RetryPolicy
from investigator.sandbox.clickhouse_world import ClickHouseSandbox
from investigator.sandbox.scenario import ClickHouseWorld
from investigator.sandbox.standin import FaultKind, Injection
from investigator.signals import TelemetrySummary

INJECTION = "x' OR 1=1 --"
STREAMS = [stream("acme", "POST /v1/orders", "-20h", "-1h"), stream("acme", "POST /v1/orders", "-1h", error_rate=1.0)]


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sandbox() -> Any:
    box = ClickHouseSandbox(ClickHouseWorld(traffic=STREAMS), NOW)
    box.start()
    yield box
    box.stop()


def test_an_injection_string_as_tenant_is_bound_not_spliced(sandbox: ClickHouseSandbox) -> None:
    connector = ClickHouseConnector(sandbox.connector_settings())
    collected = connector.collect(context(NOW, INJECTION))
    [summary] = collected.findings
    assert not TelemetrySummary.of(summary).tenant_found and summary.facts["requests"] == 0
    citation = summary.citations[0]
    assert citation.parameters is not None and citation.parameters["tenant"] == INJECTION
    assert citation.query is not None and "1=1" not in citation.query and "{tenant:String}" in citation.query
    sent = [c for c in sandbox.standin.calls if c.arg("param_tenant") is not None]  # type: ignore[union-attr]
    assert len(sent) == 1 and "OR 1=1" in str(sent[0].arg("param_tenant")) and b"1=1" not in sent[0].body


def test_an_injection_string_as_route_is_bound_and_matches_nothing(sandbox: ClickHouseSandbox) -> None:
    client = ClickHouseClient(sandbox.connector_settings())
    route = "POST /v1/orders') OR 1=1 --"
    result = client.query(
        "blast_radius",
        {
            "start": "2026-11-19 00:00:00.000",
            "end": "2026-11-20 15:00:00.000",
            "keys": [f"api\t{route}"],
            "services": ["api"],
            "routes": [route],
            "onsets_ms": [0],
            "ends_ms": [2**62],
            **client.attribute_parameters(),
        },
    )
    assert result.rows == [] and "1=1" not in result.text and "{routes:Array(String)}" in result.text
    client.close()


def test_every_query_carries_the_execution_and_result_limits(sandbox: ClickHouseSandbox) -> None:
    ClickHouseConnector(sandbox.connector_settings()).collect(context(NOW, "acme"))
    queries = [c for c in sandbox.standin.calls if c.arg("param_start_ms") or c.arg("param_keys")]  # type: ignore[union-attr]
    assert len(queries) == 2
    for call in queries:
        assert call.arg("max_execution_time") == "10" and call.arg("max_result_rows") == "200000"
        assert call.arg("result_overflow_mode") == "throw" and call.arg("readonly") == "2"


def test_a_result_over_max_result_rows_fails_with_a_clear_terminal_error(sandbox: ClickHouseSandbox) -> None:
    connector = ClickHouseConnector(sandbox.connector_settings(max_result_rows=5))
    with pytest.raises(TerminalError, match="max_result_rows limit \\(5\\)"):
        connector.collect(context(NOW, "acme"))


def test_a_query_over_max_execution_time_maps_to_a_clear_terminal_error(sandbox: ClickHouseSandbox) -> None:
    raw = clickhouse_connect.get_client(dsn=sandbox.dsn)
    with pytest.raises(Exception) as caught:
        raw.query("SELECT count() FROM numbers(100000000000)", settings={"max_execution_time": 1})
    error = map_error(caught.value, ClickHouseSettings(max_execution_time=1))
    assert isinstance(error, TerminalError) and "max_execution_time limit (1s)" in str(error)


def test_an_unknown_column_is_terminal(sandbox: ClickHouseSandbox) -> None:
    raw = clickhouse_connect.get_client(dsn=sandbox.dsn)
    with pytest.raises(Exception) as caught:
        raw.query("SELECT no_such_column FROM system.one")
    assert isinstance(map_error(caught.value, ClickHouseSettings()), TerminalError)


@pytest.mark.parametrize(
    ("fault", "error", "attempts"),
    [(FaultKind.SERVER_ERROR, TransientError, 2), (FaultKind.RATE_LIMIT, RateLimitedError, 2)],
)
def test_a_failing_server_is_retried_once_then_reported_unavailable(
    fault: FaultKind, error: type, attempts: int
) -> None:
    box = ClickHouseSandbox(ClickHouseWorld(traffic=STREAMS), NOW, Injection(fault=fault))
    box.start()
    try:
        sleeps = Sleeps()
        settings = box.connector_settings(retries=1)
        connector = ClickHouseConnector(settings, ClickHouseClient(settings, RetryPolicy(max_attempts=2, sleep=sleeps)))
        with pytest.raises(error):
            connector.collect(context(NOW, "acme"))
        assert len(sleeps.calls) == attempts - 1
        assert len(box.standin.calls) == attempts  # type: ignore[union-attr]
    finally:
        box.stop()


def test_garbage_answers_are_terminal_and_not_retried() -> None:
    box = ClickHouseSandbox(ClickHouseWorld(traffic=STREAMS), NOW, Injection(fault=FaultKind.GARBAGE))
    box.start()
    try:
        sleeps = Sleeps()
        settings = box.connector_settings()
        connector = ClickHouseConnector(settings, ClickHouseClient(settings, RetryPolicy(sleep=sleeps)))
        with pytest.raises(TerminalError):
            connector.collect(context(NOW, "acme"))
        assert sleeps.calls == []
    finally:
        box.stop()


def test_a_hanging_server_times_out_without_retry_storm() -> None:
    box = ClickHouseSandbox(ClickHouseWorld(traffic=STREAMS), NOW, Injection(fault=FaultKind.TIMEOUT, hang_s=3))
    box.start()
    try:
        sleeps = Sleeps()
        settings = box.connector_settings(timeout_s=0.5, retries=1)
        connector = ClickHouseConnector(settings, ClickHouseClient(settings, RetryPolicy(max_attempts=2, sleep=sleeps)))
        with pytest.raises(SourceTimeoutError):
            connector.collect(context(NOW, "acme"))
        assert len(sleeps.calls) == 1
    finally:
        box.stop()


def test_the_password_never_appears_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    box = ClickHouseSandbox(ClickHouseWorld(traffic=STREAMS), NOW, Injection(fault=FaultKind.SERVER_ERROR))
    box.start()
    try:
        secret = "s3cr3t-pa55word"
        settings = box.connector_settings(username="reader", password=secret, retries=0)
        caplog.set_level(logging.DEBUG)
        with pytest.raises(TransientError) as caught:
            ClickHouseConnector(settings).collect(context(NOW, "acme"))
        assert secret not in str(caught.value) and secret not in caplog.text
        assert "clickhouse" in caplog.text
    finally:
        box.stop()


def test_check_reports_the_table_found_or_missing(sandbox: ClickHouseSandbox) -> None:
    assert ClickHouseConnector(sandbox.connector_settings()).check().ok
    missing = ClickHouseConnector(sandbox.connector_settings(table="nope")).check()
    assert missing.reachable and missing.missing == [f"table {sandbox.database}.nope"]


def test_unsafe_identifiers_in_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="not a safe identifier"):
        ClickHouseSettings(table="otel_traces; DROP TABLE x")
